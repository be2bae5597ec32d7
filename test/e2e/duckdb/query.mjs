// Usage: node query.mjs '<dir>/*/*.jsonl.gz' '<SQL over the view "records">'
// Prints the rows as a JSON array. The view reads date-partitioned JSON lines
// the way an Athena table partitioned on `date` does: the date=YYYY-MM-DD
// directory becomes the `date` column. A glob ending in .parquet reads
// Parquet files the same way (Security Lake's eventDay=YYYYMMDD a column).
import { DuckDBInstance } from '@duckdb/node-api';

const [glob, sql] = process.argv.slice(2);
if (!glob || !sql) {
  console.error("usage: node query.mjs '<dir>/*/*.jsonl.gz' '<SQL>'");
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const quoted = glob.replaceAll("'", "''");
const reader_fn = glob.endsWith('.parquet') ? 'read_parquet' : 'read_json_auto';
await conn.run(`CREATE VIEW records AS SELECT * FROM ${reader_fn}('${quoted}', hive_partitioning = true, union_by_name = true)`);
const reader = await conn.runAndReadAll(sql);
console.log(JSON.stringify(reader.getRowObjectsJson()));
