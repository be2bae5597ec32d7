# A guardrail of the test's own: it blocks a prompt holding "BLOCK", masks
# one holding an e-mail address, and passes anything else. It records its
# verdict as LiteLLM's own guardrails do, so the logging payload carries it.
import re
import time

from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail, log_guardrail_information

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


class VerdictGuardrail(CustomGuardrail):
    records_own_guardrail_information = True

    @log_guardrail_information
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        start = time.time()
        text = " ".join(str(m.get("content", "")) for m in data.get("messages", []))
        status, masked = "success", None
        if "BLOCK" in text:
            status = "guardrail_intervened"
        elif EMAIL.search(text):
            status, masked = "guardrail_intervened", {"EMAIL_ADDRESS": len(EMAIL.findall(text))}
            for m in data["messages"]:
                m["content"] = EMAIL.sub("<EMAIL_ADDRESS>", str(m.get("content", "")))
        self.add_standard_logging_guardrail_information_to_request_data(
            guardrail_json_response={"verdict": status},
            request_data=data,
            guardrail_status=status,
            start_time=start,
            end_time=time.time(),
            masked_entity_count=masked,
            guardrail_provider="policyaudit-test",
        )
        if "BLOCK" in text:
            raise HTTPException(status_code=400, detail="blocked by verdict-guard")
        return data
