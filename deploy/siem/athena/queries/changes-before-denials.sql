-- Who changed a policy, and how many requests the policy denied in the hour
-- after: the seeds' story, a deny traced back to an edit an hour earlier.
-- Both sides name a "date" range (the denials' a day longer, for a change
-- late on the last day).
SELECT a.created_at AS changed_at, a.actor.id AS actor, a.action, a.policy_id,
       count(d.event_id) AS denials_in_the_hour_after
FROM policyaudit.records a
LEFT JOIN policyaudit.records d
  ON d.event_kind = 'policy_decision'
 AND d.effective_decision = 'deny'
 AND d.policy_id = a.policy_id
 AND d."date" BETWEEN '2026-01-01' AND '2027-01-01'
 AND from_iso8601_timestamp(d.created_at) >= from_iso8601_timestamp(a.created_at)
 AND from_iso8601_timestamp(d.created_at) < from_iso8601_timestamp(a.created_at) + INTERVAL '1' HOUR
WHERE a."date" BETWEEN '2026-01-01' AND '2026-12-31'
  AND a.event_kind = 'admin_audit'
  AND a.outcome = 'success'
  AND a.policy_id IS NOT NULL
GROUP BY a.created_at, a.actor.id, a.action, a.policy_id
ORDER BY changed_at
