// Usage: node check.cjs < {"tables": {"Name": "(Col:type, ...)"}, "queries": [{"name": "...", "query": "..."}]}
// Parses and analyses each query with Microsoft's Kusto language service
// against a database holding the tables (their declared columns), and
// prints [{"name", "diagnostics": ["Error: ...", ...], "columns": [...]}]: a
// syntax error, an unknown table or column, a type error, each named, and
// the columns of the query's result.
global.Bridge = require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.js');
const K = Kusto.Language;

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const { tables, queries } = JSON.parse(input);
  const symbols = Object.entries(tables).map(([name, schema]) => new K.Symbols.TableSymbol.$ctor7(name, schema, null));
  const db = new K.Symbols.DatabaseSymbol.ctor('workspace', symbols);
  const globals = K.GlobalState.Default.WithCluster(new K.Symbols.ClusterSymbol.ctor('cluster', [db])).WithDatabase(db);
  const out = queries.map(({ name, query }) => {
    const diagnostics = [];
    const code = K.KustoCode.ParseAndAnalyze(query, globals);
    const found = code.GetDiagnostics();
    for (let i = 0; i < found.Count; i++) {
      const d = found.getItem(i);
      diagnostics.push(`${d.Severity}: ${d.Message} (at ${d.Start}: ${JSON.stringify(query.substr(d.Start, Math.max(d.Length, 1)))})`);
    }
    // The result's columns, when the query ends in a table.
    const columns = [];
    const rt = code.ResultType;
    if (rt && rt.Columns) {
      for (let i = 0; i < rt.Columns.Count; i++) columns.push(rt.Columns.getItem(i).Name);
    }
    return { name, diagnostics, columns };
  });
  console.log(JSON.stringify(out));
});
