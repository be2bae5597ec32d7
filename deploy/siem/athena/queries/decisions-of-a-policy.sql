-- The seeds' query: what one policy's verdicts denied, with the version
-- that decided, whether it was enforced (a shadow or out-of-cohort canary
-- verdict is only observed: effective_decision says what happened), and
-- the request to trace it to, over a range of days.
SELECT "date", created_at, correlation_id, policy_version, rollout_mode, effective_decision, reason_code, model, api_key_id
FROM policyaudit.records
WHERE "date" BETWEEN '2026-01-01' AND '2026-12-31'
  AND policy_id = 'prompt-injection'
  AND decision = 'deny'
ORDER BY created_at, correlation_id
