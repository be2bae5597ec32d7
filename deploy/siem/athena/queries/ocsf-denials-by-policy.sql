-- OCSF: each policy's enforced denials (API Activity events whose
-- disposition is Blocked), by version, from the Security Lake layout.
SELECT policy.uid AS policy_id, policy.version AS policy_version, count(*) AS denials
FROM policyaudit.ocsf_events
WHERE source = 'policyaudit_api_activity'
  AND eventday BETWEEN '20260101' AND '20261231'
  AND class_uid = 6003
  AND disposition_id = 2
GROUP BY policy.uid, policy.version
ORDER BY denials DESC, policy_id, policy_version
