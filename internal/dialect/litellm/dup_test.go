// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package litellm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/policyaudit/policyaudit/internal/dialect/dialecttest"
	"github.com/policyaudit/policyaudit/internal/dialect/litellm"
)

// A repeated key counts once, its last value (as encoding/json decides),
// in the payload and in every object under it (masked_entity_count,
// violation_categories); values of other types than LiteLLM's are read as
// they always were, or refused with the same error.
func TestLiteLLMRepeatedKeysAndOtherTypes(t *testing.T) {
	for _, c := range []struct{ name, in, want, err string }{
		{
			name: "a call",
			in: `{"litellm_call_id":"dup-1","litellm_call_id":"call-dup","startTime":1795420800.5,"status":"success","model":"gpt-4o","model":7,
				"custom_llm_provider":"","id":"x","trace_id":"abc","model_group":null,"end_user":"customer-9",
				"metadata":{"user_api_key_alias":"first","user_api_key_alias":"","user_api_key_team_id":"team-1","user_api_key_hash":12345,
					"requester_custom_headers":{"traceparent":5}},
				"guardrail_information":[
					{"guardrail_name":"g1","guardrail_status":"success","guardrail_status":"guardrail_flagged","guardrail_mode":["pre_call","during_call"],
						"violation_categories":{"a":1,"b":2,"a":3},"confidence_score":0.9,"start_time":1795420800.25,"classification":null,"guardrail_id":""},
					{"guardrail_name":"g2","guardrail_status":"guardrail_intervened","masked_entity_count":{"EMAIL":1,"EMAIL":0},"guardrail_mode":"post_call"}]}`, want: "{\"allowlist_hits\":[],\"api_key_id\":\"12345\",\"correlation_id\":\"call-dup\",\"created_at\":\"2026-11-23T08:00:00.250Z\",\"decision\":\"escalate\",\"decision_raw\":\"guardrail_flagged\",\"denylist_hits\":[],\"effective_decision\":\"allow\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"call_status\":\"success\",\"confidence_score\":0.9,\"guardrail_mode\":[\"pre_call\",\"during_call\"],\"guardrail_name\":\"g1\",\"litellm_call_id\":\"call-dup\",\"litellm_trace_id\":\"abc\"},\"gateway\":\"litellm\",\"model\":\"7\",\"policy_id\":\"g1\",\"policy_user\":\"customer-9\",\"policy_version\":\"unknown\",\"project_id\":\"team-1\",\"reason_code\":\"GUARDRAIL_FLAGGED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"request\",\"triggered_categories\":[\"a\",\"b\"]}\n{\"allowlist_hits\":[],\"api_key_id\":\"12345\",\"correlation_id\":\"call-dup\",\"created_at\":\"2026-11-23T08:00:00.500Z\",\"decision\":\"modify\",\"decision_raw\":\"guardrail_intervened\",\"denylist_hits\":[],\"effective_decision\":\"modify\",\"enforced\":true,\"event_id\":\"\",\"event_kind\":\"policy_decision\",\"extra\":{\"call_status\":\"success\",\"guardrail_mode\":\"post_call\",\"guardrail_name\":\"g2\",\"litellm_call_id\":\"call-dup\",\"litellm_trace_id\":\"abc\",\"masked_entity_count\":{\"EMAIL\":0}},\"gateway\":\"litellm\",\"model\":\"7\",\"policy_id\":\"g2\",\"policy_user\":\"customer-9\",\"policy_version\":\"unknown\",\"project_id\":\"team-1\",\"reason_code\":\"GUARDRAIL_INTERVENED\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"stage\":\"response\",\"triggered_categories\":[]}\n", err: "",
		},
		{
			name: "an audit payload",
			in: `{"table_name":"LiteLLM_GuardrailsTable","changed_by":"alice","changed_by":{"id":"bob"},"action":"Updated","action":"updated","object_id":42,"id":"",
				"updated_at":"2026-03-02T10:00:00Z","before_value":null,"updated_values":{"x":1,"x":2},"changed_by_api_key":false}`, want: "{\"action\":\"litellm_guardrailstable.updated\",\"actor\":{\"id\":\"bob\",\"type\":\"user\"},\"correlation_generated\":true,\"correlation_id\":\"\",\"created_at\":\"2026-03-02T10:00:00.000Z\",\"details\":{\"updated_values\":{\"x\":2}},\"event_id\":\"\",\"event_kind\":\"admin_audit\",\"extra\":{\"changed_by_api_key\":false,\"gateway\":\"litellm\"},\"outcome\":\"success\",\"policy_id\":\"42\",\"policy_version\":\"unknown\",\"resource\":{\"id\":\"42\",\"type\":\"litellm_guardrailstable\"},\"schema_version\":\"1\"}\n", err: "",
		},
		{name: "guardrail_information a string", in: `{"litellm_call_id":"c","guardrail_information":[],"guardrail_information":"x"}`, want: "", err: "guardrail_information: must be a list of objects, got a string"},
		{name: "a guardrail a number", in: `{"litellm_call_id":"c","startTime":1795420800.5,"guardrail_information":[{"guardrail_status":"success"},7]}`, want: "", err: "guardrail_information[1]: must be an object, got a number"},
		{name: "a status a number", in: `{"litellm_call_id":"c","startTime":1795420800.5,"guardrail_information":{"guardrail_status":5}}`, want: "", err: "guardrail_information[0].guardrail_status: unknown guardrail status \"\" (accepted: success, guardrail_flagged, guardrail_intervened, guardrail_failed_to_respond, not_run)"},
		// The map-based reading panicked here, comparing the team (a map) with
		// the project it had become.
		{name: "a team an object", in: `{"litellm_call_id":"c","startTime":1795420800.5,"metadata":{"user_api_key_team_id":{"a":1}},"guardrail_information":[{"guardrail_name":"g","guardrail_status":"success"}]}`, want: "", err: "project_id: \"project_id\" must be a string, got an object"},
		{name: "a key alias a boolean", in: `{"litellm_call_id":"c","startTime":1795420800.5,"metadata":{"user_api_key_alias":true},"guardrail_information":[{"guardrail_name":"g","guardrail_status":"success"}]}`, want: "", err: "policy_user: \"policy_user\" must be a string, got a boolean"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := dialecttest.NormalizeText(t, &litellm.Dialect, c.in)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.err, err)
		})
	}
}
