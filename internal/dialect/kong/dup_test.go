// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kong_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/policyaudit/policyaudit/internal/dialect/dialecttest"
	"github.com/policyaudit/policyaudit/internal/dialect/kong"
)

// A repeated key counts once, its last value (as encoding/json decides),
// in the entry and in every object under it (pii_sanitized's counts among
// them); values of other types than Kong's are read as they always were,
// or refused with the same error.
func TestKongRepeatedKeysAndOtherTypes(t *testing.T) {
	for _, c := range []struct{ name, in, want, err string }{
		{
			name: "an entry",
			in: `{"started_at":1795420800000,"started_at":1795420800001,"request":{"id":"r1","id":"r2"},"consumer":{"username":"","id":42},
				"trace_id":{"w3c":"not-hex"},"correlation_id":"","workspace":7,"source":"","workspace_name":null,
				"route":{"id":"rt"},"service":"svc","response":{"status":"403"},
				"ai":{"proxy":{"meta":{"request_model":"m","plugin_id":""},"meta":{"request_model":"m2","provider_name":"p"},
					"lakera-guard":{"input_block_reason":"x","mode":"INPUT","mode":3,"lakera_project_id":7,
						"input_block_detail":[{"detected":true,"detector_type":"b"},{"detected":"true","detector_type":"c"},{"detected":true,"detector_type":5},{"detected":true,"detected":false,"detector_type":"d"}]},
					"gcp-model-armor":{"output_block_reason":"a, b,a","template_id":"","output_masked":"true","output_masked":true,"guards_triggered_count":0},
					"azure-content-safety":{"input_block_reason":"","output_block_reason":"y"}},
					"ai-custom-guardrail":{"mode":"output"},
					"sanitizer":{"pii_sanitized":{"A":1,"A":0},"sanitized_items":[{"entity_type":"EMAIL"},{"entity_type":3},"x",{"entity_type":"EMAIL"}],"duration":null},
					"audit":{"azure_content_safety":{"Hate":2,"Hate":0,"Self":1}}}}`, want: "{\"allowlist_hits\":[],\"correlation_id\":\"r2\",\"created_at\":\"2026-11-23T08:00:00.001Z\",\"decision\":\"deny\",\"decision_raw\":\"blocked\",\"denylist_hits\":[],\"effective_decision\":\"deny\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"kong_guard\":{\"output_block_reason\":\"y\",\"plugin\":\"azure-content-safety\"},\"kong_request_id\":\"r2\",\"response_status\":\"403\",\"route_id\":\"rt\",\"workspace\":7},\"gateway\":\"kong\",\"model\":\"m2\",\"policy_id\":\"azure-content-safety\",\"policy_user\":\"42\",\"policy_version\":\"unknown\",\"provider\":\"p\",\"reason_code\":\"BLOCKED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"response\",\"triggered_categories\":[\"Hate\",\"Self\"]}\n{\"allowlist_hits\":[],\"correlation_id\":\"r2\",\"created_at\":\"2026-11-23T08:00:00.001Z\",\"decision\":\"allow\",\"decision_raw\":\"allowed\",\"denylist_hits\":[],\"effective_decision\":\"allow\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"kong_guard\":{\"mode\":\"output\",\"plugin\":\"custom-guardrail\"},\"kong_request_id\":\"r2\",\"response_status\":\"403\",\"route_id\":\"rt\",\"workspace\":7},\"gateway\":\"kong\",\"model\":\"m2\",\"policy_id\":\"custom-guardrail\",\"policy_user\":\"42\",\"policy_version\":\"unknown\",\"provider\":\"p\",\"reason_code\":\"ALLOWED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"response\",\"triggered_categories\":[]}\n{\"allowlist_hits\":[],\"correlation_id\":\"r2\",\"created_at\":\"2026-11-23T08:00:00.001Z\",\"decision\":\"redact\",\"decision_raw\":\"masked\",\"denylist_hits\":[],\"effective_decision\":\"redact\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"kong_guard\":{\"guards_triggered_count\":0,\"output_block_reason\":\"a, b,a\",\"output_masked\":true,\"plugin\":\"gcp-model-armor\"},\"kong_request_id\":\"r2\",\"response_status\":\"403\",\"route_id\":\"rt\",\"workspace\":7},\"gateway\":\"kong\",\"model\":\"m2\",\"policy_id\":\"gcp-model-armor\",\"policy_user\":\"42\",\"policy_version\":\"unknown\",\"provider\":\"p\",\"reason_code\":\"MASKED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"response\",\"triggered_categories\":[\"a\",\"b\"]}\n{\"allowlist_hits\":[],\"correlation_id\":\"r2\",\"created_at\":\"2026-11-23T08:00:00.001Z\",\"decision\":\"deny\",\"decision_raw\":\"blocked\",\"denylist_hits\":[],\"effective_decision\":\"deny\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"kong_guard\":{\"input_block_detail\":[{\"detected\":true,\"detector_type\":\"b\"},{\"detected\":\"true\",\"detector_type\":\"c\"},{\"detected\":true,\"detector_type\":5},{\"detected\":false,\"detector_type\":\"d\"}],\"input_block_reason\":\"x\",\"mode\":3,\"plugin\":\"lakera-guard\"},\"kong_request_id\":\"r2\",\"response_status\":\"403\",\"route_id\":\"rt\",\"workspace\":7},\"gateway\":\"kong\",\"model\":\"m2\",\"policy_id\":\"7\",\"policy_user\":\"42\",\"policy_version\":\"unknown\",\"provider\":\"p\",\"reason_code\":\"BLOCKED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"request\",\"triggered_categories\":[\"5\",\"b\"]}\n{\"allowlist_hits\":[],\"correlation_id\":\"r2\",\"created_at\":\"2026-11-23T08:00:00.001Z\",\"decision\":\"allow\",\"decision_raw\":\"nothing sanitized\",\"denylist_hits\":[],\"effective_decision\":\"allow\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"kong_guard\":{\"duration\":null,\"pii_sanitized\":{\"A\":0},\"plugin\":\"ai-sanitizer\"},\"kong_request_id\":\"r2\",\"response_status\":\"403\",\"route_id\":\"rt\",\"workspace\":7},\"gateway\":\"kong\",\"model\":\"m2\",\"policy_id\":\"ai-sanitizer\",\"policy_user\":\"42\",\"policy_version\":\"unknown\",\"provider\":\"p\",\"reason_code\":\"NOTHING_SANITIZED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"request\",\"triggered_categories\":[\"3\",\"EMAIL\"]}\n", err: "",
		},
		{name: "a trace ID", in: `{"started_at":1795420800000,"request":{"id":"r1"},"trace_id":{"w3c":"4BF92F3577B34DA6A3CE929D0E0E4736"},"trace_id":{"w3c":"4bf92f3577b34da6a3ce929d0e0e4736"},"ai":{"proxy":{"custom-guardrail":{}}}}`, want: "{\"allowlist_hits\":[],\"correlation_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"created_at\":\"2026-11-23T08:00:00.000Z\",\"decision\":\"allow\",\"decision_raw\":\"allowed\",\"denylist_hits\":[],\"effective_decision\":\"allow\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"kong_guard\":{\"plugin\":\"custom-guardrail\"},\"kong_request_id\":\"r1\"},\"gateway\":\"kong\",\"policy_id\":\"custom-guardrail\",\"policy_version\":\"unknown\",\"reason_code\":\"ALLOWED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"triggered_categories\":[]}\n", err: ""},
		{name: "ai not an object", in: `{"started_at":1795420800000,"request":{"id":"r1"},"ai":{"proxy":{"custom-guardrail":{}}},"ai":[1]}`, want: "", err: ""},
		{name: "a username a boolean", in: `{"started_at":1795420800000,"request":{"id":"r1"},"consumer":{"username":true},"ai":{"proxy":{"custom-guardrail":{}}}}`, want: "", err: "policy_user: \"policy_user\" must be a string, got a boolean"},
		{name: "started_at not a time", in: `{"started_at":"yesterday","request":{"id":"r1"},"ai":{"sanitizer":{}}}`, want: "", err: "created_at: \"created_at\" is not an RFC 3339 time or an epoch number: yesterday"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := dialecttest.NormalizeText(t, &kong.Dialect, c.in)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.err, err)
		})
	}
}
