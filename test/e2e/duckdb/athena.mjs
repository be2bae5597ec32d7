// Usage: node athena.mjs '<dir>/*/*.jsonl.gz' '<columns JSON>' '<SQL>'
//        node athena.mjs '<dir>/ext/*/region=*/accountId=*/eventDay=*/*.parquet' parquet '<SQL>'
// Runs an Athena query of deploy/siem/athena unchanged: the table
// policyaudit.records reads the date-partitioned JSON lines with exactly the
// columns and types of the table's DDL (given as DuckDB types; a value that
// does not fit its declared type fails), "date" the partition as a string,
// as partition projection gives it; the table policyaudit.ocsf_events reads
// the Parquet objects of the Security Lake layout as they are, its
// partitions (source from the path, region, accountId, eventDay) strings. The one Athena function the queries use
// that DuckDB lacks, from_iso8601_timestamp, is a macro. Prints the rows as
// a JSON array.
import { DuckDBInstance } from '@duckdb/node-api';

const [glob, columns, sql] = process.argv.slice(2);
if (!glob || !columns || !sql) {
  console.error("usage: node athena.mjs '<glob>' '<columns JSON>' '<SQL>'");
  process.exit(2);
}
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run('CREATE SCHEMA policyaudit');
await conn.run('CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)');
if (columns === 'parquet') {
  await conn.run(`CREATE VIEW policyaudit.ocsf_events AS SELECT * EXCLUDE (filename), split_part(split_part(filename, '/ext/', 2), '/', 1) AS source
    FROM read_parquet(${quote(glob)}, hive_partitioning = true, filename = true,
      hive_types = {'region': 'VARCHAR', 'accountId': 'VARCHAR', 'eventDay': 'VARCHAR'})`);
} else {
  const cols = Object.entries(JSON.parse(columns)).map(([k, v]) => `${quote(k)}: ${quote(v)}`).join(', ');
  await conn.run(`CREATE VIEW policyaudit.records AS SELECT * FROM read_json(${quote(glob)}, format = 'newline_delimited',
    columns = {${cols}}, hive_partitioning = true, hive_types = {'date': 'VARCHAR'}, union_by_name = true)`);
}
const reader = await conn.runAndReadAll(sql);
console.log(JSON.stringify(reader.getRowObjectsJson()));
