-- Denials (as enforced) by policy and version: a version that denies far
-- more than the one before it stands out.
SELECT policy_id, policy_version, count(*) AS denials
FROM policyaudit.records
WHERE "date" BETWEEN '2026-01-01' AND '2026-12-31'
  AND event_kind = 'policy_decision'
  AND effective_decision = 'deny'
GROUP BY policy_id, policy_version
ORDER BY denials DESC, policy_id, policy_version
