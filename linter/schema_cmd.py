"""``querylint schema [PATHS] [--output-format text|json]``: print the inferred schema.

Runs phase one only (read, parse, index: models, migrations, SQL DDL) and prints every table
with its columns, indexes and foreign keys, each with its provenance ``path:line`` — the tool
to reach for when an index finding looks wrong.

JSON shape (stable; ``version`` changes only on incompatible changes)::

    {"version": 1,
     "tables": [{"name": "orders", "model": "shop.Order" | null, "sources": ["django-migration"],
                 "provenance": {"path": "...", "line": 12, "column": 9} | null,
                 "columns": [{"name", "type", "nullable", "default", "primary_key", "provenance"}],
                 "indexes": [{"name", "keys": [{"column", "expression", "descending",
                              "nulls_first", "opclass"}], "unique", "primary", "implicit",
                              "predicate", "method", "include", "provenance"}],
                 "foreign_keys": [{"name", "columns", "ref_table", "ref_columns", "provenance"}]}],
     "errors": ["..."]}

Tables are sorted by name; columns, indexes and foreign keys keep the order they were built in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from querylint.project import ProjectIndex
from querylint.reporters._escape import visible
from querylint.schema import Index, Schema
from querylint.source import Span


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="querylint schema", description="Print the schema querylint infers, with provenance.")
    parser.add_argument("paths", nargs="*", default=["."])
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    parser.add_argument("--config", default=None, help="configuration file (default: nearest pyproject.toml)")
    parser.add_argument("--isolated", action="store_true", help="ignore configuration files")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    from querylint.config import ConfigError, load_config
    from querylint.engine import Engine

    try:
        cfg = load_config(args.paths, config_file=args.config, isolated=args.isolated)
        project = Engine(cfg, rules=[]).build_index(args.paths, whole_project=False)
    except ConfigError as exc:
        print(f"querylint: error: {visible(str(exc))}", file=sys.stderr)
        return 2
    for err in project.facts.get("index_errors", []):
        print(f"querylint: warning: {visible(str(err))}", file=sys.stderr)
    if args.output_format == "json":
        sys.stdout.write(json.dumps(schema_json(project), indent=2) + "\n")
    else:
        sys.stdout.write(schema_text(project))
    return 0


def _where(project: ProjectIndex, span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    src = project.source(span.path)
    if src is None:
        return {"path": span.path, "line": None, "column": None}
    line, col = src.location(span.start)
    return {"path": span.path, "line": line, "column": col}


def _where_text(project: ProjectIndex, span: Span | None) -> str:
    w = _where(project, span)
    if w is None:
        return ""
    return f"{w['path']}:{w['line']}" if w["line"] is not None else str(w["path"])


def _index_json(project: ProjectIndex, i: Index) -> dict[str, Any]:
    return {
        "name": i.name,
        "keys": [{"column": k.column, "expression": k.expression, "descending": k.descending,
                  "nulls_first": k.nulls_first, "opclass": k.opclass} for k in i.keys],
        "unique": i.unique, "primary": i.primary, "implicit": i.implicit, "predicate": i.predicate,
        "method": i.method, "include": list(i.include), "provenance": _where(project, i.provenance),
    }


def schema_json(project: ProjectIndex, schema: Schema | None = None) -> dict[str, Any]:
    schema = schema if schema is not None else project.schema
    tables = []
    for name in sorted(schema.tables):
        t = schema.tables[name]
        tables.append({
            "name": t.name,
            "model": t.model,
            "sources": sorted(t.sources),
            "provenance": _where(project, t.provenance),
            "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable, "default": c.default,
                         "primary_key": c.primary_key, "provenance": _where(project, c.provenance)}
                        for c in t.columns.values()],
            "indexes": [_index_json(project, i) for i in t.indexes],
            "foreign_keys": [{"name": f.name, "columns": list(f.columns), "ref_table": f.ref_table,
                              "ref_columns": list(f.ref_columns), "provenance": _where(project, f.provenance)}
                             for f in t.foreign_keys],
        })
    return {"version": 1, "tables": tables, "errors": list(project.facts.get("index_errors", []))}


def index_text(i: Index) -> str:
    keys = ", ".join(k.text for k in i.keys)
    parts = [f"{i.name or '(unnamed)'} ({keys})"]
    if i.method != "btree":
        parts.append(f"USING {i.method}")
    if i.include:
        parts.append(f"INCLUDE ({', '.join(i.include)})")
    if i.predicate:
        parts.append(f"WHERE {i.predicate}")
    flags = [f for f, on in (("primary", i.primary), ("unique", i.unique and not i.primary), ("implicit", i.implicit)) if on]
    if flags:
        parts.append("[" + ", ".join(flags) + "]")
    return " ".join(parts)


def schema_text(project: ProjectIndex, schema: Schema | None = None) -> str:
    schema = schema if schema is not None else project.schema
    if not schema.tables:
        return "No tables found (no models, migrations or SQL DDL under the given paths).\n"
    lines: list[str] = []
    for name in sorted(schema.tables):
        t = schema.tables[name]
        head = t.declared
        if t.model:
            head += f"  (model {t.model})"
        where = _where_text(project, t.provenance)
        lines.append(f"{head}  {where}".rstrip())
        if t.columns:
            width = max(len(c.name) for c in t.columns.values())
            twidth = max(len(c.type or "?") for c in t.columns.values())
            lines.append("  columns:")
            for c in t.columns.values():
                flags = "not null" if not c.nullable else "null"
                if c.primary_key:
                    flags += ", primary key"
                if c.default is not None:
                    flags += f", default {c.default}"
                lines.append(f"    {c.name:<{width}}  {c.type or '?':<{twidth}}  {flags}  {_where_text(project, c.provenance)}".rstrip())
        if t.indexes:
            lines.append("  indexes:")
            for i in t.indexes:
                lines.append(f"    {index_text(i)}  {_where_text(project, i.provenance)}".rstrip())
        if t.foreign_keys:
            lines.append("  foreign keys:")
            for f in t.foreign_keys:
                label = f"{f.name} " if f.name else ""
                lines.append(f"    {label}({', '.join(f.columns)}) -> {f.ref_table} ({', '.join(f.ref_columns)})  "
                             f"{_where_text(project, f.provenance)}".rstrip())
        lines.append("")
    # names, types, defaults and paths come from the project: one line each, whatever they hold
    return "\n".join(visible(line) for line in lines)
