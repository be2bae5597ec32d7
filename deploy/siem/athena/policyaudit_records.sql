-- The canonical records the s3audit exporter writes (config/examples/s3.yaml,
-- all.yaml): gzip JSON lines under s3://BUCKET/PREFIX/date=YYYY-MM-DD/, the
-- partition being each record's own created_at date (UTC). Decisions and
-- admin events share the table; event_kind tells them apart, and a column
-- a record's kind does not have is NULL. Partition projection: no crawler
-- and no MSCK REPAIR; queries name a "date" range to read only those days.
-- Replace BUCKET, PREFIX and the projection's first day.
CREATE EXTERNAL TABLE IF NOT EXISTS policyaudit.records (
  schema_version string,
  event_kind string,
  event_id string,
  created_at string,
  correlation_id string,
  correlation_generated boolean,
  trace_id string,
  span_id string,
  decision string,
  decision_raw string,
  effective_decision string,
  rollout_mode string,
  enforced boolean,
  reason_code string,
  policy_id string,
  policy_version string,
  policy_user string,
  api_key_id string,
  project_id string,
  policy_target string,
  model string,
  provider string,
  stage string,
  triggered_categories array<string>,
  allowlist_hits array<string>,
  denylist_hits array<string>,
  classification array<string>,
  gateway string,
  usage struct<input_tokens:bigint, output_tokens:bigint, total_tokens:bigint, cost:double, currency:string,
               latency_ms:bigint, status_code:int, request_path:string>,
  actor struct<id:string, type:string, ip:string>,
  action string,
  resource struct<type:string, id:string, name:string>,
  outcome string,
  details string,
  extra string,
  schema_error string
)
PARTITIONED BY (`date` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'false')
LOCATION 's3://BUCKET/PREFIX/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.date.type' = 'date',
  'projection.date.format' = 'yyyy-MM-dd',
  'projection.date.range' = '2026-01-01,NOW',
  'projection.date.interval' = '1',
  'projection.date.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://BUCKET/PREFIX/date=${date}/'
);
