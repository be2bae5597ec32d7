// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/policyaudit/policyaudit/internal/record"
)

// Columns are the indexed copies of a canonical record's fields.
type Columns struct {
	EventID           string
	EventKind         string
	CreatedMS         int64
	CorrelationID     string
	User              string // policy_user, or actor.id of admin events
	Decision          string
	EffectiveDecision string
	PolicyID          string
	PolicyVersion     string
	RolloutMode       string
	Model             string
	ProjectID         string
	ReasonCode        string
	Action            string
	// A decision's usage, for aggregation (usage.go).
	InputTokens, OutputTokens, TotalTokens int64
	Cost                                   float64
	HasCost                                bool // cost is NULL without one
	Currency                               string
}

// Entry is a record to store: its columns and its canonical JSON.
type Entry struct {
	Columns
	Record []byte
}

// Getter reads a string field of a canonical record by path; "" if absent.
type Getter func(path ...string) string

// ColumnsOf derives the columns from a canonical record. It is used both to
// store a record and to check, when verifying, that the columns still say
// what the record says.
func ColumnsOf(get Getter, num Number) (Columns, error) {
	c := Columns{
		EventID:           get(record.FieldEventID),
		EventKind:         get(record.FieldEventKind),
		CorrelationID:     get(record.FieldCorrelationID),
		Decision:          get(record.FieldDecision),
		EffectiveDecision: get(record.FieldEffectiveDecision),
		PolicyID:          get(record.FieldPolicyID),
		PolicyVersion:     get(record.FieldPolicyVersion),
		RolloutMode:       get(record.FieldRolloutMode),
		Model:             get(record.FieldModel),
		ProjectID:         get(record.FieldProjectID),
		ReasonCode:        get(record.FieldReasonCode),
		Action:            get(record.FieldAction),
	}
	usageColumns(&c, num, get)
	if c.EventKind == record.EventKindAdmin {
		c.User = get(record.FieldActor, record.SubfieldID)
	} else {
		c.User = get(record.FieldPolicyUser)
	}
	if c.EventID == "" || c.EventKind == "" {
		return c, errors.New("not a canonical record: event_id and event_kind are required")
	}
	t, err := time.Parse(time.RFC3339Nano, get(record.FieldCreatedAt))
	if err != nil {
		return c, fmt.Errorf("created_at: %w", err)
	}
	c.CreatedMS = t.UnixMilli()
	return c, nil
}

// linkHash is a link's hash, hex SHA-256 over
//
//	"policyaudit.link.v2\n" seq "\n" stored_ms "\n" prev_hash "\n" record
//
// (decimal numbers, the record's RFC 8785 bytes): the position, the time
// retention goes by and the content are all covered, so none can be changed,
// backdated or moved without breaking the chain. docs/records.md shows how to
// recompute one with printf and sha256sum.
func linkHash(seq, storedMS int64, prevHash string, record []byte) string {
	h := sha256.New()
	var buf [64]byte
	b := append(buf[:0], linkDomain...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, '\n')
	b = strconv.AppendInt(b, storedMS, 10)
	b = append(b, '\n')
	h.Write(b)
	h.Write([]byte(prevHash))
	h.Write([]byte{'\n'})
	h.Write(record)
	return hex.EncodeToString(h.Sum(nil))
}

const linkDomain = "policyaudit.link.v2\n"
