// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
)

// flatDecision is the flat gateway dialect as a struct: C decodes into it.
type flatDecision struct {
	RequestID           string   `json:"request_id"`
	PolicyID            string   `json:"policy_id"`
	PolicyVersion       string   `json:"policy_version"`
	Decision            string   `json:"decision"`
	ReasonCode          string   `json:"reason_code"`
	PolicyUser          string   `json:"policy_user"`
	ProjectID           string   `json:"project_id"`
	RolloutMode         string   `json:"rollout_mode"`
	Enforced            bool     `json:"enforced"`
	TriggeredCategories []string `json:"triggered_categories"`
	Model               string   `json:"model"`
	CreatedAt           string   `json:"created_at"`
}

// decodeBaseline is C: the same NDJSON decoded into a struct with
// encoding/json on one core, records per second.
func decodeBaseline(n int) (float64, error) {
	g := gatewaysim.NewGenerator(7, simStart, time.Hour, n)
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = g.Append(nil, gatewaysim.Flat)
	}
	var d flatDecision
	t0 := time.Now()
	for _, line := range lines {
		if err := json.Unmarshal(line, &d); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}
