// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kongaudit_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialect/kongaudit"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// request and object are the dialect's two entry points, as the receiver
// calls them: an /audit/requests entry, and an /audit/objects entry with
// its request's entry (nil when the request is not known).
func request(e jsonbody.Value) (*record.Record, error) {
	return first(kongaudit.NormalizeRequest(nil, e))
}

func object(e jsonbody.Value, by *jsonbody.Value) (*record.Record, error) {
	return first(kongaudit.NormalizeObject(nil, e, by))
}

// first is the one record an entry maps to, none on an error.
func first(recs []*record.Record, err error) (*record.Record, error) {
	switch {
	case err != nil:
		return nil, err
	case len(recs) != 1:
		return nil, fmt.Errorf("%d records of one entry", len(recs))
	}
	return recs[0], nil
}

func decode(t *testing.T, text string) jsonbody.Value {
	t.Helper()
	v, err := jsonbody.DecodeObject([]byte(text), jsonbody.DefaultLimits)
	require.NoError(t, err)
	return v
}

// canonical is a record's canonical JSON, and the error's text (no record
// then: the receiver passes over an entry that does not map).
func canonical(rec *record.Record, err error) (string, string) {
	if err != nil {
		return "", err.Error()
	}
	m := pcommon.NewMap()
	rec.CopyTo(m)
	return string(pdatajson.AppendCanonicalMap(nil, m)), ""
}

// A repeated key counts once, its last value (as encoding/json decides),
// null reads as missing, and values of other types than Kong's are read as
// they always were, or refused with the same error; a plugins entity is
// read as an object or as JSON text (whose numbers encoding/json read as
// float64s).
func TestKongAuditEntries(t *testing.T) {
	const ts = `"request_timestamp":1795428000`
	by := `{"request_id":"r1",` + ts + `,"rbac_user_name":"","rbac_user_name":"bob","client_ip":"10.0.0.9"}`
	for _, c := range []struct {
		name, in, by string
		object       bool
		want, err    string
	}{
		{name: "request, repeated keys", in: `{"request_id":"r0","request_id":"r1","request_timestamp":1,` + ts + `,"method":"get","method":"Post","path":"/a","path":"/b",
			"status":500,"status":201,"rbac_user_name":"alice","rbac_user_name":"","rbac_user_id":"u1","client_ip":"10.0.0.1","client_ip":"",
			"workspace":"w","workspace":"","payload":{"k":1,"k":2,"j":{"x":1,"x":[1,{"y":2,"y":3}]}},"ttl":5,"ttl":null,"signature":"s"}`,
			want: "{\"action\":\"admin_api.post\",\"actor\":{\"id\":\"u1\",\"type\":\"user\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"request_body\":{\"j\":{\"x\":[1,{\"y\":3}]},\"k\":2},\"signature\":\"s\",\"status\":201},\"outcome\":\"success\",\"resource\":{\"id\":\"/b\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, numbers for strings", in: `{"request_id":42,` + ts + `,"method":"GET","path":"/p","status":"404","rbac_user_name":"a","client_ip":10,"request_source":1.50,"ttl":"x","signature":3,"workspace":true,"payload":12}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"a\",\"ip\":\"10\",\"type\":\"user\"},\"correlation_id\":\"42\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"request_body\":12,\"request_source\":1.5,\"signature\":3,\"status\":\"404\",\"ttl\":\"x\",\"workspace\":true},\"outcome\":\"failure\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, a numeric method", in: `{"request_id":"r",` + ts + `,"method":7,"path":"/p","status":200}`,
			want: "",
			err:  "action: \"admin_api.7\" is not of the form <resource>.<verb> (e.g. policy.update)"},
		{name: "request, a numeric user", in: `{"request_id":"r",` + ts + `,"method":"GET","path":"/p","status":200,"rbac_user_id":9}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"9\",\"type\":\"user\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":200},\"outcome\":\"success\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, a numeric path", in: `{"request_id":"r",` + ts + `,"method":"GET","path":3,"status":200}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":200},\"outcome\":\"success\",\"resource\":{\"id\":\"3\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, a status of 1e2", in: `{"request_id":"r",` + ts + `,"method":"GET","path":"/p","status":1e2}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":100},\"outcome\":\"success\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, a status of 200.0", in: `{"request_id":"r",` + ts + `,"method":"GET","path":"/p","status":200.0}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":200},\"outcome\":\"failure\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, a status of 399", in: `{"request_id":"r",` + ts + `,"method":"GET","path":"/p","status":399,"status":{"a":1}}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":{\"a\":1}},\"outcome\":\"failure\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, a status as an object", in: `{"request_id":"r",` + ts + `,"method":"GET","path":"/p","status":{"a":1,"a":2}}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":{\"a\":2}},\"outcome\":\"failure\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "request, nulls", in: `{"request_id":null,"request_timestamp":null,"method":null,"path":null,"status":null,"rbac_user_name":null,"rbac_user_id":null,
			"client_ip":null,"workspace":null,"payload":null,"signature":null,"request_source":null,"ttl":null}`,
			want: "",
			err:  "created_at: missing (accepted: created_at, timestamp, time, ts)"},
		{name: "request, nulls but the time", in: `{"request_id":null,` + ts + `,"method":null,"path":null,"status":null,"rbac_user_name":null,"rbac_user_id":null,
			"client_ip":null,"workspace":null,"payload":null,"signature":null,"request_source":null,"ttl":null}`,
			want: "",
			err:  "action: \"admin_api.\" is not of the form <resource>.<verb> (e.g. policy.update)"},
		{name: "request, empty", in: `{}`,
			want: "",
			err:  "created_at: missing (accepted: created_at, timestamp, time, ts)"},
		{name: "request, a time as text", in: `{"request_id":"r","request_timestamp":"2026-11-23T10:00:00Z","method":"GET","path":"/p","status":200}`,
			want: "{\"action\":\"admin_api.get\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\",\"status\":200},\"outcome\":\"success\",\"resource\":{\"id\":\"/p\",\"type\":\"admin_api\"},\"schema_version\":\"1\"}",
			err:  ""},

		{name: "object, repeated keys", object: true, by: by, in: `{"id":"o1","id":"","request_id":"r1",` + ts + `,"dao_name":"Services","dao_name":"PLUGINS","operation":"x","operation":"Update",
			"entity_key":"k0","entity_key":"k","signature":"s","signature":"",
			"entity":{"name":"ai-gcp-model-armor","name":"ai-lakera-guard","config":{"project_id":"p1"},"config":{"project_id":"","project_id":"p2"}}}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"bob\",\"ip\":\"10.0.0.9\",\"type\":\"user\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"p2\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-lakera-guard\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, no request entry", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"create","entity_key":"k","entity":{"name":"ai-sanitizer"}}`,
			want: "{\"action\":\"plugins.create\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"ai-sanitizer\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-sanitizer\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, by a request without a user", object: true, by: `{"request_id":"r1","client_ip":""}`, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"routes","operation":"delete","entity_key":"k"}`,
			want: "{\"action\":\"routes.delete\",\"actor\":{\"id\":\"anonymous\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"routes\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text", object: true, by: by, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k",
			"entity":"{\"name\":\"aws-guardrails\",\"name\":\"ai-aws-guardrails\",\"config\":{\"guardrails_id\":1e3,\"secret\":\"s3cr3t\"}}"}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"bob\",\"ip\":\"10.0.0.9\",\"type\":\"user\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"1000\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-aws-guardrails\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as an object with a numeric ID", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k",
			"entity":{"name":"ai-aws-guardrails","config":{"guardrails_id":1e3}}}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"1e3\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-aws-guardrails\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text with a float ID", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k",
			"entity":" {\"name\":\"ai-gcp-model-armor\",\"config\":{\"template_id\":1.50}} "}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"1.5\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-gcp-model-armor\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text with a number out of range", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k",
			"entity":"{\"name\":\"ai-lakera-guard\",\"config\":{\"project_id\":\"p\",\"n\":1e400}}"}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text, not JSON", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":"{\"name\":\"ai-sanitizer\""}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text, data after", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":"{\"name\":\"ai-sanitizer\"} {}"}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text, null", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":"null"}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity as text, a list", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":"[{\"name\":\"ai-sanitizer\"}]"}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, azure and a config not an object", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":{"name":"azure-content-safety","config":"x"}}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"azure-content-safety\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-azure-content-safety\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, custom guardrail", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":"{\"name\":\"ai-custom-guardrail\",\"config\":null}"}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"custom-guardrail\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-custom-guardrail\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, gcp with an empty template", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":{"name":"gcp-model-armor","config":{"template_id":""}}}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"policy_id\":\"gcp-model-armor\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"k\",\"name\":\"ai-gcp-model-armor\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, another plugin", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":{"name":"rate-limiting","config":{}}}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, an entity of other types", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":"k","entity":7}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"k\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, numbers for strings", object: true, in: `{"id":5,"request_id":6,` + ts + `,"dao_name":7,"operation":8,"entity_key":"k","signature":9}`,
			want: "",
			err:  "action: \"7.8\" is not of the form <resource>.<verb> (e.g. policy.update)"},
		{name: "object, a numeric operation", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":8,"entity_key":"k"}`,
			want: "",
			err:  "action: \"plugins.8\" is not of the form <resource>.<verb> (e.g. policy.update)"},
		{name: "object, a numeric key", object: true, in: `{"id":"o1","request_id":"r1",` + ts + `,"dao_name":"plugins","operation":"update","entity_key":9}`,
			want: "{\"action\":\"plugins.update\",\"actor\":{\"id\":\"unknown\",\"type\":\"service\"},\"correlation_id\":\"r1\",\"created_at\":\"2026-11-23T10:00:00.000Z\",\"event_id\":\"o1\",\"event_kind\":\"admin_audit\",\"extra\":{\"gateway\":\"kong\"},\"outcome\":\"success\",\"resource\":{\"id\":\"9\",\"type\":\"plugins\"},\"schema_version\":\"1\"}",
			err:  ""},
		{name: "object, nulls", object: true, in: `{"id":null,"request_id":null,"request_timestamp":null,"dao_name":null,"operation":null,"entity_key":null,"entity":null,"signature":null}`,
			want: "",
			err:  "created_at: missing (accepted: created_at, timestamp, time, ts)"},
		{name: "object, nulls but the time and key", object: true, in: `{"id":null,"request_id":null,` + ts + `,"dao_name":null,"operation":null,"entity_key":"k","entity":null,"signature":null}`,
			want: "",
			err:  "action: \".\" is not of the form <resource>.<verb> (e.g. policy.update)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := decode(t, c.in)
			var rec *record.Record
			var err error
			if c.object {
				var b *jsonbody.Value
				if c.by != "" {
					v := decode(t, c.by)
					b = &v
				}
				rec, err = object(e, b)
			} else {
				rec, err = request(e)
			}
			got, gotErr := canonical(rec, err)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.err, gotErr)
		})
	}
}

// `policyaudit normalize` reads an entry alone: an entry with dao_name (null
// included) is an object change, by an unknown actor; any other a request.
func TestDialectNormalize(t *testing.T) {
	for _, c := range []struct{ in, action, actor string }{
		{in: `{"request_id":"r","request_timestamp":1795428000,"dao_name":null,"dao_name":"routes","operation":"create","entity_key":"k"}`, action: "routes.create", actor: "unknown"},
		{in: `{"request_id":"r","request_timestamp":1795428000,"dao_name":null,"operation":"create","entity_key":"k"}`, action: "", actor: ""},
		{in: `{"request_id":"r","request_timestamp":1795428000,"method":"DELETE","path":"/p","status":204,"rbac_user_name":"alice"}`, action: "admin_api.delete", actor: "alice"},
	} {
		recs, err := kongaudit.Dialect.Normalize(nil, decode(t, c.in), record.Hints{})
		if c.action == "" {
			assert.EqualError(t, err, `action: ".create" is not of the form <resource>.<verb> (e.g. policy.update)`)
			assert.Empty(t, recs)
			continue
		}
		require.NoError(t, err)
		require.Len(t, recs, 1)
		got, _ := canonical(recs[0], nil)
		assert.Contains(t, got, `"action":"`+c.action+`"`)
		assert.Contains(t, got, `"actor":{"id":"`+c.actor+`"`)
	}
}
