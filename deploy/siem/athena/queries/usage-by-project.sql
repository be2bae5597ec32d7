-- Chargeback: decisions, the share denied, tokens and cost by project and
-- currency (records.md, usage).
SELECT project_id, usage.currency AS currency, count(*) AS decisions,
       sum(CASE WHEN effective_decision = 'deny' THEN 1 ELSE 0 END) AS denied,
       sum(usage.total_tokens) AS total_tokens, sum(usage.cost) AS cost
FROM policyaudit.records
WHERE "date" BETWEEN '2026-01-01' AND '2026-12-31'
  AND event_kind = 'policy_decision'
GROUP BY project_id, usage.currency
ORDER BY project_id, currency
