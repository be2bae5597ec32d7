-- The OCSF events the policydecision processor writes as Parquet
-- (config/examples/ocsf.yaml, s3audit/ocsf-lake) in Amazon Security Lake's
-- custom-source layout: s3://BUCKET/ext/<source>/region=<region>/
-- accountId=<account>/eventDay=YYYYMMDD/, a source per OCSF class
-- (policyaudit_api_activity 6003, policyaudit_entity_management 3004,
-- policyaudit_detection_finding 2004), every object one schema
-- (internal/ocsf EventRow). Security Lake, when it owns the bucket, makes
-- its own tables; this one is for the same objects in a bucket of yours.
-- Replace BUCKET, the regions, the accounts and the first day.
CREATE EXTERNAL TABLE IF NOT EXISTS policyaudit.ocsf_events (
  activity_id int,
  activity_name string,
  category_uid int,
  class_uid int,
  type_uid bigint,
  `time` timestamp,
  severity_id int,
  status_id int,
  status_detail string,
  `message` string,
  metadata struct<version:string, uid:string, correlation_uid:string, original_time:string, log_name:string, product:struct<name:string, vendor_name:string, version:string>, profiles:array<string>>,
  action_id int,
  `action` string,
  disposition_id int,
  is_alert boolean,
  policy struct<uid:string, name:string, version:string, is_applied:boolean>,
  authorizations array<struct<decision:string, policy:struct<uid:string, name:string, version:string, is_applied:boolean>>>,
  firewall_rule struct<uid:string, name:string, version:string, category:string, match_details:array<string>>,
  api struct<operation:string, request:struct<uid:string>, service:struct<name:string>>,
  actor struct<user:struct<uid:string, credential_uid:string, type_id:int, type:string>, app_name:string, app_uid:string>,
  src_endpoint struct<name:string, ip:string>,
  resources array<struct<type:string, name:string, uid:string>>,
  ai_model struct<name:string, ai_provider:string>,
  trace struct<uid:string>,
  entity struct<type:string, uid:string, name:string, version:string, policy:struct<uid:string, name:string, version:string, is_applied:boolean>>,
  entity_result struct<type:string, uid:string, name:string, version:string, policy:struct<uid:string, name:string, version:string, is_applied:boolean>>,
  `comment` string,
  finding_info struct<uid:string, title:string, types:array<string>, created_time:timestamp, related_events:array<struct<uid:string, type_uid:bigint>>>,
  duration bigint,
  http_request struct<url:struct<path:string>>,
  http_response struct<code:int, latency:int>,
  message_context struct<prompt_tokens:int, completion_tokens:int, total_tokens:int, service:struct<name:string>>,
  `unmapped` string
)
PARTITIONED BY (`source` string, `region` string, `accountid` string, `eventday` string)
STORED AS PARQUET
LOCATION 's3://BUCKET/ext/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.source.type' = 'enum',
  'projection.source.values' = 'policyaudit_api_activity,policyaudit_entity_management,policyaudit_detection_finding',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '123456789012',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20260101,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://BUCKET/ext/${source}/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);
