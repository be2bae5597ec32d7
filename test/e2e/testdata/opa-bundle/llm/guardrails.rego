# A small guardrail policy in the shape an OPA-based LLM gateway evaluates:
# deny prompts the gateway classified as jailbreaks, allow the rest.
package llm.guardrails

default decision := {"decision": "allow", "policy_id": "jailbreak-filter"}

decision := {
	"decision": "deny",
	"reason_code": "JAILBREAK",
	"policy_id": "jailbreak-filter",
	"triggered_categories": ["jailbreak"],
} if {
	"jailbreak" in input.categories
}
