"""Deep and huge SQL (issue 13, items 7 and 8): no input reaches a recursion limit or crashes
pglast; too deep a statement is one QL001 on its own file and line, and the rest is checked.

The SQL is generated here, in ``.sql`` files and in ``cursor.execute("...")`` (embedded SQL
takes the same path). Timing is left to ``bench/``: linearity is checked by counting work.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from querylint.config import Config
from querylint.engine import Engine
from querylint.sql.parse import MAX_SQL_DEPTH
from querylint.sqlsource import SqlFragment

DEEP = f"SQL nested deeper than {MAX_SQL_DEPTH} levels: not checked"
STAR = "QL101 [select-star] `SELECT *` on `orders` fetches every column, including ones the application may not use"


def deep_in(levels: int) -> str:
    sql = "SELECT id FROM t0 WHERE id = 1"
    for i in range(levels):
        sql = f"SELECT id FROM t{i + 1} WHERE id IN ({sql})"
    return sql


def derived_tables(levels: int) -> str:
    sql = "SELECT id FROM t0"
    for i in range(levels):
        sql = f"SELECT id FROM ({sql}) AS d{i}"
    return sql


def joins(count: int) -> str:
    return "SELECT t0.id FROM t0" + "".join(f" JOIN t{i} ON t{i}.id = t{i - 1}.id" for i in range(1, count + 1))


def plus_chain(terms: int) -> str:
    return "SELECT " + "+".join(["1"] * terms)


def ql(cwd: Path, *args: str) -> tuple[int, list[str], str]:
    (cwd / "querylint.toml").touch()  # the project's root: no configuration above it applies
    proc = subprocess.run(
        [sys.executable, "-m", "querylint", "check", "--no-cache", "--output-format", "concise", *args],
        capture_output=True, text=True, cwd=cwd,
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr[-2000:])  # not a crash (-11: pglast's C stack)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


CASES = {
    "deep_in": deep_in(140),
    "derived": derived_tables(330),
    "joins": joins(1000),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_deep_statement_is_one_parse_error_on_its_file_and_line(tmp_path: Path, name: str) -> None:
    (tmp_path / "views.py").write_text("def f(cursor):\n    cursor.execute('SELECT id FROM orders')\n", encoding="utf-8")
    (tmp_path / "queries").mkdir()
    # the statements around the deep one are still checked
    (tmp_path / "queries" / f"{name}.sql").write_text(f"SELECT id FROM orders;\n{CASES[name]};\nSELECT * FROM orders;\n", encoding="utf-8")
    (tmp_path / "embedded.py").write_text(f"def g(cursor):\n    cursor.execute('SELECT * FROM orders')\n    cursor.execute({CASES[name]!r})\n", encoding="utf-8")
    code, out, err = ql(tmp_path, ".")
    assert (code, err) == (1, "")
    assert out == [
        f"embedded.py:2:28: {STAR}",
        f"embedded.py:3:21: QL001 [parse-error] {DEEP}",
        f"queries/{name}.sql:2:1: QL001 [parse-error] {DEEP}",
        f"queries/{name}.sql:3:8: {STAR}",
    ]


def test_a_statement_at_the_limit_is_checked(tmp_path: Path) -> None:
    from pglast import parse_sql
    from querylint.sql.parse import sql_depth

    # the deepest join chain under the limit, with a `*` that reaches the application
    n = next(n for n in range(MAX_SQL_DEPTH, 0, -1) if sql_depth(parse_sql(joins(n).replace("t0.id", "*", 1))[0].stmt) <= MAX_SQL_DEPTH)
    assert n > MAX_SQL_DEPTH - 10
    (tmp_path / "q.sql").write_text(joins(n).replace("t0.id", "*", 1) + ";\n", encoding="utf-8")
    code, out, _ = ql(tmp_path, ".")
    assert code == 1
    assert out == ["q.sql:1:8: QL101 [select-star] `SELECT *` on `t0`, " + ", ".join(f"`t{i}`" for i in range(1, n + 1))
                   + " fetches every column, including ones the application may not use"]


def test_chains_that_crashed_pglast_are_parse_errors(tmp_path: Path) -> None:
    """A left-deep chain (`1+1+...`, 30,000 joins) builds a tree pglast converts recursively in C:
    it overflowed the process stack (segmentation fault) at ~28,000 levels."""
    (tmp_path / "plus.sql").write_text("SELECT 1;\n" + plus_chain(40_000) + ";\n", encoding="utf-8")
    (tmp_path / "joins.sql").write_text(joins(30_000) + ";\n", encoding="utf-8")
    code, out, _ = ql(tmp_path, ".")
    assert code == 1
    assert out == [f"joins.sql:1:1: QL001 [parse-error] {DEEP}", f"plus.sql:2:1: QL001 [parse-error] {DEEP}"]


def test_parentheses_deeper_than_the_parser_allows(tmp_path: Path) -> None:
    (tmp_path / "parens.sql").write_text("SELECT 1;\nSELECT " + "(" * 20_000 + "1" + ")" * 20_000 + ";\n", encoding="utf-8")
    (tmp_path / "in.sql").write_text(deep_in(5_000) + ";\n", encoding="utf-8")
    code, out, _ = ql(tmp_path, ".")
    assert code == 1
    assert out == [
        'in.sql:1:37774: QL001 [parse-error] SQL nested deeper than PostgreSQL\'s parser allows (memory exhausted at or near "("): not checked',
        'parens.sql:2:10002: QL001 [parse-error] SQL nested deeper than PostgreSQL\'s parser allows (memory exhausted at or near "("): not checked',
    ]


def test_an_internal_error_in_sql_to_ir_lands_on_the_statement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from querylint.sql import to_ir

    (tmp_path / "views.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "z").mkdir()  # after views.py, which the error was reported on
    (tmp_path / "z" / "q.sql").write_text("SELECT 1;\n\nSELECT id FROM boom;\n", encoding="utf-8")
    real = to_ir.to_queries

    def flaky(st: Any) -> Any:
        if "boom" in st.text:
            raise ValueError("boom")
        return real(st)

    monkeypatch.setattr(to_ir, "to_queries", flaky)
    monkeypatch.chdir(tmp_path)
    result = Engine(Config(root=str(tmp_path), cache=False)).run(["."])
    assert [(d.code, d.span.path, result.sources[d.span.path].location(d.span.start), d.message) for d in result.diagnostics] == [
        ("QL000", "z/q.sql", (3, 1), "internal error in project indexing (SQL -> IR in z/q.sql): ValueError: boom"),
    ]


def _to_queries(sql: str) -> list[Any]:
    from querylint.sql import parse_fragment, to_queries

    frag = SqlFragment.whole_file("q.sql", sql)
    statements, problems = parse_fragment(frag)
    assert problems == []
    return [q for st in statements for q in to_queries(st)]


@pytest.mark.parametrize("width", [500, 2_000])
def test_sql_to_ir_work_does_not_grow_with_columns_or_in_lists(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQL -> IR step deparsed the whole statement for its description (a tree walk per
    statement as long as the statement) and built a pglast Visitor per selected column."""
    from pglast import stream, visitors

    calls = {"stream": 0, "visitor": 0}
    real_stream, real_visitor = stream.RawStream.__call__, visitors.Visitor.__call__

    def count_stream(self: Any, *a: Any, **k: Any) -> Any:
        calls["stream"] += 1
        return real_stream(self, *a, **k)

    def count_visitor(self: Any, *a: Any, **k: Any) -> Any:
        calls["visitor"] += 1
        return real_visitor(self, *a, **k)

    monkeypatch.setattr(stream.RawStream, "__call__", count_stream)
    monkeypatch.setattr(visitors.Visitor, "__call__", count_visitor)
    cols = ", ".join(f"c{i}" for i in range(width))
    values = ", ".join(str(i) for i in range(width))
    sql = f"SELECT {cols} FROM wide WHERE id IN ({values}) AND status = 'open'"
    queries = _to_queries(sql + ";\n")
    assert [(q.tables[0].name, len(q.columns), [(p.column, p.op.name) for p in q.predicates]) for q in queries] == [
        ("wide", width, [("id", "IN"), ("status", "EQ")]),
    ]
    assert queries[0].description == sql[:199].rstrip() + "…"  # the statement's own text: too long to deparse
    assert queries[0].predicates[0].value.text == "(" + values + ")"
    # no deparse or Visitor per column, per value or of the whole statement, whatever the width
    # (plain columns and constants are printed as RawStream prints them, without one)
    assert calls == {"stream": 0, "visitor": 0}


@pytest.mark.parametrize("expr", ["a", "t.a", '"Weird Col"', "s.t.c", "t.*", '"select"', '"a""b"', "e.ω", "'it''s'",
                                  "0", "-3", "1.50", "NULL", "E'a\\\\b'", '"order".id', "user", "B'101'", "true"])
def test_constants_and_columns_are_printed_as_pglast_prints_them(expr: str) -> None:
    from pglast import parse_sql
    from pglast.stream import RawStream
    from querylint.sql.to_ir import sql_text

    node = parse_sql(f"SELECT {expr}")[0].stmt.targetList[0].val
    assert sql_text(node) == RawStream()(node)


def test_a_short_statement_is_described_as_pglast_prints_it() -> None:
    (q,) = _to_queries("select  id\n  from orders where customer_id = $1 -- recent\n;\n")
    assert q.description == "SELECT id FROM orders WHERE customer_id = $1"


def test_subqueries_are_found_in_the_order_they_were_before() -> None:
    sql = ("SELECT (SELECT max(a) FROM t1), x FROM t0 WHERE y IN (SELECT b FROM t2 WHERE b IN (SELECT c FROM t3)) "
           "AND EXISTS (SELECT 1 FROM t4) AND (z = 1 OR w IN (SELECT d FROM t5));\n")
    assert [q.tables[0].name for q in _to_queries(sql)] == ["t0", "t2", "t3", "t4", "t5", "t1"]


@pytest.mark.parametrize(("default", "volatile"), [
    ("now()", False), ("gen_random_uuid()", True), ("clock_timestamp()", True), ("(random() * 10)::int", True),
    ("coalesce(1, (SELECT max(x) FROM t WHERE y = random()))", True), ("'x'", False), ("1 + 2", False),
])
def test_volatile_defaults_are_found_without_a_visitor_per_column(default: str, volatile: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from pglast import parse_sql, visitors
    from querylint.migrations.sql import is_volatile_expr

    calls: list[Any] = []
    monkeypatch.setattr(visitors.Visitor, "__call__", lambda self, node: calls.append(node))
    expr = parse_sql(f"SELECT {default}")[0].stmt.targetList[0].val
    assert (is_volatile_expr(expr), calls) == (volatile, [])
