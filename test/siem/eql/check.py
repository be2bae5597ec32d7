"""Parse an Elastic Security EQL query with Elastic's EQL parser (PyPI
`eql`, as Elastic's detection-rules repository validates its rules), in
Elasticsearch syntax, against a schema made from an index template's
mapping: a syntax error or a field the mapping does not have fails.

    python check.py INDEX_TEMPLATE.json < query.eql

Prints the parsed query and exits 0, or prints the error and exits 1.
"""
import json
import sys

import eql


def schema_of(mapping):
    """The template's fields as EQL type hints, nested like the mapping."""
    out = {}
    for name, field in mapping.get("properties", {}).items():
        if "properties" in field:
            out[name] = schema_of(field)
            continue
        out[name] = {"boolean": "boolean", "long": "number", "integer": "number", "double": "number", "flattened": {}}.get(field.get("type"), "string")
    return out


def main():
    with open(sys.argv[1]) as f:
        template = json.load(f)
    query = sys.stdin.read()
    schema = eql.Schema({"log": schema_of(template["template"]["mappings"])}, allow_any=True, allow_generic=False)
    try:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions, eql.parser.allow_runs, schema:
            print(eql.parse_query(query))
    except eql.EqlError as e:
        print(e)
        sys.exit(1)


if __name__ == "__main__":
    main()
