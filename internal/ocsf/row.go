// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf

import "go.opentelemetry.io/collector/pdata/pcommon"

// EventRow is an OCSF event as the mapping makes it, the one definition of
// its shape: the mapping fills it, PutBody writes it as a log body, and
// DecodeBody reads a body back into it (the Parquet encoder, which writes
// it as a row).
//
// It is the Parquet schema of the OCSF events destination ocsf writes
// (docs/records.md section 13): the union of API Activity, Entity
// Management and Detection Finding as the mapping fills them, one column a
// leaf, typed as OCSF types them: integer_t as INT32, long_t as INT64,
// timestamp_t as INT64 TIMESTAMP(MILLIS), boolean_t as BOOLEAN, string_t as
// STRING; objects as groups, arrays as LISTs; unmapped (free content) as
// JSON. Every attribute is optional but those every class requires. A body
// with an attribute this schema lacks is refused, never written without it.
//
// The json tags name the attributes in the body (DecodeBody reads them);
// a nil pointer or an empty list is an attribute the event leaves out. The
// field order is the Parquet column order: do not reorder.
type EventRow struct {
	ActivityID     int32           `json:"activity_id" parquet:"activity_id"`
	ActivityName   *string         `json:"activity_name" parquet:"activity_name,optional"`
	CategoryUID    int32           `json:"category_uid" parquet:"category_uid"`
	ClassUID       int32           `json:"class_uid" parquet:"class_uid"`
	TypeUID        int64           `json:"type_uid" parquet:"type_uid"`
	Time           int64           `json:"time" parquet:"time,timestamp(millisecond)"`
	SeverityID     int32           `json:"severity_id" parquet:"severity_id"`
	StatusID       *int32          `json:"status_id" parquet:"status_id,optional"`
	StatusDetail   *string         `json:"status_detail" parquet:"status_detail,optional"`
	Message        *string         `json:"message" parquet:"message,optional"`
	Metadata       Metadata        `json:"metadata" parquet:"metadata"`
	ActionID       *int32          `json:"action_id" parquet:"action_id,optional"`
	Action         *string         `json:"action" parquet:"action,optional"`
	DispositionID  *int32          `json:"disposition_id" parquet:"disposition_id,optional"`
	IsAlert        *bool           `json:"is_alert" parquet:"is_alert,optional"`
	Policy         *Policy         `json:"policy" parquet:"policy,optional"`
	Authorizations []Authorization `json:"authorizations" parquet:"authorizations,list"`
	FirewallRule   *FirewallRule   `json:"firewall_rule" parquet:"firewall_rule,optional"`
	API            *API            `json:"api" parquet:"api,optional"`
	Actor          *Actor          `json:"actor" parquet:"actor,optional"`
	SrcEndpoint    *Endpoint       `json:"src_endpoint" parquet:"src_endpoint,optional"`
	Resources      []Resource      `json:"resources" parquet:"resources,list"`
	AIModel        *AIModel        `json:"ai_model" parquet:"ai_model,optional"`
	Trace          *Trace          `json:"trace" parquet:"trace,optional"`
	Entity         *Entity         `json:"entity" parquet:"entity,optional"`
	EntityResult   *Entity         `json:"entity_result" parquet:"entity_result,optional"`
	Comment        *string         `json:"comment" parquet:"comment,optional"`
	FindingInfo    *FindingInfo    `json:"finding_info" parquet:"finding_info,optional"`
	// A call's usage (usage.go).
	Duration       *int64          `json:"duration" parquet:"duration,optional"`
	HTTPRequest    *HTTPRequest    `json:"http_request" parquet:"http_request,optional"`
	HTTPResponse   *HTTPResponse   `json:"http_response" parquet:"http_response,optional"`
	MessageContext *MessageContext `json:"message_context" parquet:"message_context,optional"`
	// Unmapped is OCSF's free object: the canonical fields the mapping has
	// no place for, with their own types (an integer stays an integer),
	// which no Go type fixes; the zero Map or an empty one is none. Parquet
	// has no column for free content, so it takes UnmappedJSON instead.
	Unmapped pcommon.Map `json:"unmapped" parquet:"-"`
	// UnmappedJSON is Unmapped as the JSON text of the Parquet column
	// unmapped, which the Parquet encoder fills; no body carries it.
	UnmappedJSON []byte `json:"-" parquet:"unmapped,optional,json"`
}

// Metadata is the event's metadata object.
type Metadata struct {
	Version        string          `json:"version" parquet:"version"`
	UID            *string         `json:"uid" parquet:"uid,optional"`
	CorrelationUID *string         `json:"correlation_uid" parquet:"correlation_uid,optional"`
	OriginalTime   *string         `json:"original_time" parquet:"original_time,optional"`
	LogName        *string         `json:"log_name" parquet:"log_name,optional"`
	Product        MetadataProduct `json:"product" parquet:"product"`
	Profiles       []string        `json:"profiles" parquet:"profiles,list"`
}

// MetadataProduct is the product object of the metadata (what Product
// gives the mapping).
type MetadataProduct struct {
	Name       *string `json:"name" parquet:"name,optional"`
	VendorName *string `json:"vendor_name" parquet:"vendor_name,optional"`
	Version    *string `json:"version" parquet:"version,optional"`
}

// Policy is a policy object (the decision's, an authorization's, an
// entity's).
type Policy struct {
	UID       *string `json:"uid" parquet:"uid,optional"`
	Name      *string `json:"name" parquet:"name,optional"`
	Version   *string `json:"version" parquet:"version,optional"`
	IsApplied *bool   `json:"is_applied" parquet:"is_applied,optional"`
}

// Authorization is an authorization object.
type Authorization struct {
	Decision *string `json:"decision" parquet:"decision,optional"`
	Policy   *Policy `json:"policy" parquet:"policy,optional"`
}

// FirewallRule is the firewall_rule object: the rule that matched.
type FirewallRule struct {
	UID          *string  `json:"uid" parquet:"uid,optional"`
	Name         *string  `json:"name" parquet:"name,optional"`
	Version      *string  `json:"version" parquet:"version,optional"`
	Category     *string  `json:"category" parquet:"category,optional"`
	MatchDetails []string `json:"match_details" parquet:"match_details,list"`
}

// API is the api object: the call the gateway guarded.
type API struct {
	Operation string      `json:"operation" parquet:"operation"`
	Request   *APIRequest `json:"request" parquet:"request,optional"`
	Service   *APIService `json:"service" parquet:"service,optional"`
}

// APIRequest is the api's request object.
type APIRequest struct {
	UID string `json:"uid" parquet:"uid"`
}

// APIService is the api's service object.
type APIService struct {
	Name *string `json:"name" parquet:"name,optional"`
}

// Actor is the actor object.
type Actor struct {
	User    *User   `json:"user" parquet:"user,optional"`
	AppName *string `json:"app_name" parquet:"app_name,optional"`
	AppUID  *string `json:"app_uid" parquet:"app_uid,optional"`
}

// User is the actor's user object.
type User struct {
	UID           *string `json:"uid" parquet:"uid,optional"`
	CredentialUID *string `json:"credential_uid" parquet:"credential_uid,optional"`
	TypeID        *int32  `json:"type_id" parquet:"type_id,optional"`
	Type          *string `json:"type" parquet:"type,optional"`
}

// Endpoint is the src_endpoint object.
type Endpoint struct {
	Name *string `json:"name" parquet:"name,optional"`
	IP   *string `json:"ip" parquet:"ip,optional"`
}

// Resource is an element of resources.
type Resource struct {
	Type *string `json:"type" parquet:"type,optional"`
	Name *string `json:"name" parquet:"name,optional"`
	UID  *string `json:"uid" parquet:"uid,optional"`
}

// AIModel is the ai_model object of the AI Operation profile.
type AIModel struct {
	Name       string `json:"name" parquet:"name"`
	AIProvider string `json:"ai_provider" parquet:"ai_provider"`
}

// HTTPRequest is the http_request object: the path the gateway was called on.
type HTTPRequest struct {
	URL *URL `json:"url" parquet:"url,optional"`
}

// URL is the url object.
type URL struct {
	Path *string `json:"path" parquet:"path,optional"`
}

// HTTPResponse is the http_response object: the upstream's answer.
type HTTPResponse struct {
	Code    int32  `json:"code" parquet:"code"`
	Latency *int32 `json:"latency" parquet:"latency,optional"` // milliseconds
}

// MessageContext is the AI Operation profile's message_context: the
// tokens a call spent at a service (APIService's shape: a name).
type MessageContext struct {
	PromptTokens     *int32      `json:"prompt_tokens" parquet:"prompt_tokens,optional"`
	CompletionTokens *int32      `json:"completion_tokens" parquet:"completion_tokens,optional"`
	TotalTokens      *int32      `json:"total_tokens" parquet:"total_tokens,optional"`
	Service          *APIService `json:"service" parquet:"service,optional"`
}

// Trace is the trace object of the Trace profile.
type Trace struct {
	UID string `json:"uid" parquet:"uid"`
}

// Entity is the managed entity object (entity, entity_result).
type Entity struct {
	Type    *string `json:"type" parquet:"type,optional"`
	UID     *string `json:"uid" parquet:"uid,optional"`
	Name    *string `json:"name" parquet:"name,optional"`
	Version *string `json:"version" parquet:"version,optional"`
	Policy  *Policy `json:"policy" parquet:"policy,optional"`
}

// FindingInfo is a Detection Finding's finding_info object.
type FindingInfo struct {
	UID           string         `json:"uid" parquet:"uid"`
	Title         *string        `json:"title" parquet:"title,optional"`
	Types         []string       `json:"types" parquet:"types,list"`
	CreatedTime   *int64         `json:"created_time" parquet:"created_time,optional,timestamp(millisecond)"`
	RelatedEvents []RelatedEvent `json:"related_events" parquet:"related_events,list"`
}

// RelatedEvent is an element of finding_info.related_events.
type RelatedEvent struct {
	UID     string `json:"uid" parquet:"uid"`
	TypeUID *int64 `json:"type_uid" parquet:"type_uid,optional"`
}
