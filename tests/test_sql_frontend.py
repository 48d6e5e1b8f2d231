"""The SQL front end: statement spans in .sql files, SQL found in Python strings, offset mapping."""

from __future__ import annotations

import ast
import textwrap

import pytest
from querylint.source import Language, SourceFile
from querylint.sql import find_sql_in_python, parse_fragment
from querylint.sqlsource import SqlFragment
from querylint.testing import lint_files


def _frags(code: str) -> tuple[SourceFile, list[SqlFragment]]:
    text = textwrap.dedent(code).lstrip("\n")
    src = SourceFile("app.py", text, Language.PYTHON)
    return src, find_sql_in_python(src, ast.parse(text))


def _at(src: SourceFile, frag: SqlFragment, needle: str) -> tuple[int, int]:
    """(line, col) in the Python file of ``needle``'s first character in the parsed SQL."""
    i = frag.sql.index(needle)
    return src.location(frag.file_offset(i))


# -- .sql statement spans ---------------------------------------------------------------------


def test_statement_spans_skip_leading_comments_and_trailing_space() -> None:
    text = "-- the first one\nSELECT 1 ;\n/* block */ SELECT 2;\n"
    stmts, problems = parse_fragment(SqlFragment.whole_file("a.sql", text))
    assert problems == []
    assert [st.text for st in stmts] == ["SELECT 1", "SELECT 2"]
    assert [text[st.span.start : st.span.end] for st in stmts] == ["SELECT 1", "SELECT 2"]


def test_statement_spans_are_character_offsets_on_non_ascii_text() -> None:
    text = "-- Größe: ünïcödé ☃\nSELECT 'ß' AS x;\nSELECT name FROM städte WHERE land = 'Österreich';\n"
    stmts, _ = parse_fragment(SqlFragment.whole_file("a.sql", text))
    assert [text[st.span.start : st.span.end] for st in stmts] == [
        "SELECT 'ß' AS x",
        "SELECT name FROM städte WHERE land = 'Österreich'",
    ]


def test_sql_syntax_error_is_a_parse_error_at_the_position() -> None:
    result = lint_files({"q.sql": "SELECT 1;\nSELECT id FROM users WHERE;\n"}, select=["QL001"])
    [d] = result.diagnostics
    assert d.code == "QL001"
    assert d.message == 'SQL syntax error: syntax error at or near ";"'
    assert result.sources["q.sql"].location(d.span.start) == (2, 27)


# -- finding SQL in Python --------------------------------------------------------------------


def test_call_sites_and_contexts() -> None:
    _src, frags = _frags('''
        from django.db import migrations
        from django.db.models.expressions import RawSQL
        from sqlalchemy import text

        def f(cursor, conn, qs, op):
            cursor.execute("SELECT id FROM a WHERE x = %s", [1])
            cursor.executemany("INSERT INTO b (x) VALUES (%s)", rows)
            conn.execute(text("SELECT id FROM c WHERE y = :y"))
            Order.objects.raw("SELECT * FROM d WHERE id = %s", [1])
            qs.annotate(n=RawSQL("SELECT count(*) FROM e WHERE e.o = orders.id", ()))
            qs.extra(where=["lower(name) = %s"])
            op.execute("DROP INDEX f_idx")

        class Migration(migrations.Migration):
            operations = [
                migrations.RunSQL(["CREATE INDEX g_idx ON g (x)"], reverse_sql="DROP INDEX g_idx"),
                migrations.RunSQL(migrations.RunSQL.noop),
            ]
        ''')
    assert [(f.context, f.sql) for f in frags] == [
        ("cursor.execute", "SELECT id FROM a WHERE x = $1"),
        ("cursor.execute", "INSERT INTO b (x) VALUES ($1)"),
        ("text", "SELECT id FROM c WHERE y = $1"),
        ("raw", "SELECT * FROM d WHERE id = $1"),
        ("RawSQL", "SELECT count(*) FROM e WHERE e.o = orders.id"),
        ("extra", "SELECT 1 WHERE lower(name) = $1"),
        ("op.execute", "DROP INDEX f_idx"),
        ("RunSQL", "CREATE INDEX g_idx ON g (x)"),
        ("RunSQL", "DROP INDEX g_idx"),
    ]


def test_non_sql_strings_and_unknown_receivers_are_ignored() -> None:
    _src, frags = _frags('''
        def f(runner, widget):
            runner.execute("make all")
            widget.raw("hello world")
            text("Hello")  # not sqlalchemy's text
            logging.info("SELECT * FROM nowhere")
        ''')
    assert frags == []


def test_variable_assigned_once_in_the_same_function() -> None:
    src, frags = _frags('''
        def f(cursor):
            sql = "SELECT id FROM users WHERE email = %s"
            cursor.execute(sql, [email])

        def g(cursor, cond):
            sql = "SELECT id FROM users"
            sql += " WHERE " + cond
            cursor.execute(sql)
        ''')
    [frag] = frags
    assert frag.sql == "SELECT id FROM users WHERE email = $1"
    assert _at(src, frag, "email") == (2, src.line_text(2).index("email") + 1) == (2, 39)


def test_concatenation_and_implicit_concatenation_map_exactly() -> None:
    src, frags = _frags('''
        def f(cursor):
            cursor.execute(
                "SELECT id "
                "FROM users "  # a comment between the pieces
                + "WHERE name LIKE %s",
                ["x%"],
            )
        ''')
    [frag] = frags
    assert frag.sql == "SELECT id FROM users WHERE name LIKE $1"
    assert _at(src, frag, "FROM") == (4, 10)
    assert _at(src, frag, "WHERE") == (5, 12)
    assert _at(src, frag, "$1") == (5, 28)


def test_escapes_raw_and_triple_quoted_strings_and_non_ascii() -> None:
    src, frags = _frags('''
        def f(cursor):
            cursor.execute("SELECT 'caf\\u00e9', 'it\\'\\'s'\\nFROM städte\\tWHERE ü = %s", [1])
            cursor.execute(r"SELECT id FROM t WHERE name ~ '\\d+' AND x = %s", [1])
            cursor.execute("""
                SELECT ünïcode
                  FROM t WHERE a = %(a)s
            """, {"a": 1})
        ''')
    esc, raw, triple = frags
    assert esc.sql == "SELECT 'café', 'it''s'\nFROM städte\tWHERE ü = $1"
    # every parsed character maps to the source character that produced it (escapes: the backslash)
    line = src.line_text(2)
    assert _at(src, esc, "FROM") == (2, line.index("FROM") + 1)
    assert _at(src, esc, "WHERE ü") == (2, line.index("WHERE") + 1)
    assert src.text[esc.file_offset(esc.sql.index("é"))] == "\\"
    assert src.text[esc.file_offset(esc.sql.index("\n"))] == "\\"
    assert raw.sql == "SELECT id FROM t WHERE name ~ '\\d+' AND x = $1"
    assert src.text[raw.file_offset(raw.sql.index("\\d"))] == "\\"
    assert _at(src, raw, "AND") == (3, src.line_text(3).index("AND") + 1)
    assert "SELECT ünïcode" in triple.sql and triple.sql.rstrip().endswith("a = $1")
    assert _at(src, triple, "FROM") == (6, 11)
    assert _at(src, triple, "ünïcode") == (5, 16)


def test_crlf_source_maps_triple_quoted_newlines() -> None:
    text = 'def f(cursor):\r\n    cursor.execute("""SELECT id\r\n    FROM t WHERE a = %s""", [1])\r\n'
    src = SourceFile("app.py", text, Language.PYTHON)
    [frag] = find_sql_in_python(src, ast.parse(text))
    assert frag.sql == "SELECT id\n    FROM t WHERE a = $1"
    assert src.location(frag.file_offset(frag.sql.index("FROM"))) == (3, 5)


def test_fstring_values_become_placeholders_identifiers_are_skipped() -> None:
    src, frags = _frags('''
        def f(cursor, user_id, table, limit):
            cursor.execute(f"SELECT id FROM orders WHERE customer_id = {user_id} LIMIT {limit}")
            cursor.execute(f"SELECT id FROM {table} WHERE id = 1")
            cursor.execute(f"SELECT id FROM orders WHERE name LIKE '%{user_id}%'")
            cursor.execute("SELECT id FROM %s WHERE id = 1" % table)
            cursor.execute("SELECT id FROM {} WHERE id = 1".format(table))
        ''')
    [frag] = frags
    assert frag.sql == "SELECT id FROM orders WHERE customer_id = $1 LIMIT $2"
    assert _at(src, frag, "$1") == (2, src.line_text(2).index("{user_id}") + 1)
    assert _at(src, frag, "LIMIT") == (2, src.line_text(2).index("LIMIT") + 1)


@pytest.mark.parametrize(
    ("call", "sql"),
    [
        ('cursor.execute("SELECT a FROM t WHERE b = ? AND c = ?", (1, 2))', "SELECT a FROM t WHERE b = $1 AND c = $2"),
        ('cursor.execute("SELECT a FROM t WHERE d ? \'k\' AND b = %s", [1])', "SELECT a FROM t WHERE d ? 'k' AND b = $1"),
        ('cursor.execute("SELECT a FROM t WHERE b = $1", [1])', "SELECT a FROM t WHERE b = $1"),
        ('cursor.execute("SELECT a::text FROM t WHERE b LIKE \'50%%\' AND c = %(c)s", p)', "SELECT a::text FROM t WHERE b LIKE '50%' AND c = $1"),
        ('conn.execute(sa.text("SELECT a FROM t WHERE b = :b AND c::date = :c AND d = \'x:y\'"))', "SELECT a FROM t WHERE b = $1 AND c::date = $2 AND d = 'x:y'"),
    ],
)
def test_placeholders_are_normalised(call: str, sql: str) -> None:
    _src, frags = _frags(f"import sqlalchemy as sa\ndef f(cursor, conn, p):\n    {call}\n")
    assert [f.sql for f in frags] == [sql]


def test_parse_error_in_python_sql_maps_to_the_literal() -> None:
    code = 'def f(cursor):\n    cursor.execute(\n        "SELECT id FROM users WHERE"\n    )\n'
    result = lint_files({"app/db.py": code}, select=["QL001"])
    [d] = result.diagnostics
    assert d.message == "SQL syntax error: syntax error at end of input"
    assert result.sources["app/db.py"].location(d.span.start)[0] == 3


def test_a_bind_parameter_in_place_of_a_table_name_is_explained() -> None:
    code = (
        "from alembic import op\n\n\n"
        "def reset(table):\n"
        "    op.execute(\"SELECT setval(pg_get_serial_sequence(:t, 'id'), 1) FROM :table\", {\"t\": table, \"table\": table})\n"
    )
    result = lint_files({"versions/r1.py": code}, select=["QL001"])
    [d] = result.diagnostics
    assert d.message == (
        "SQL syntax error: a bind parameter stands where PostgreSQL expects a name or a keyword; parameters "
        "carry values only (compose table and column names with psycopg's sql.Identifier)"
    )
    assert result.sources["versions/r1.py"].location(d.span.start) == (5, 73)


def test_uncertain_sql_that_does_not_parse_is_skipped() -> None:
    code = 'def f(thing):\n    thing.execute("SELECT is my favourite word")\n'
    result = lint_files({"app/db.py": code}, select=["QL001"])
    assert result.diagnostics == []


def test_rules_report_inside_python_at_the_sql_position() -> None:
    code = (
        "def f(cursor, term):\n"
        "    cursor.execute(\n"
        '        "SELECT id, name FROM products "\n'
        '        "WHERE name ILIKE \'%%phone%%\' ORDER BY random()"\n'
        "    )\n"
    )
    result = lint_files({"shop/search.py": code}, select=["QL102", "QL105"])
    src = result.sources["shop/search.py"]
    got = [(d.code, src.location(d.span.start), d.message) for d in result.diagnostics]
    assert got == [
        ("QL102", (4, 16), "`name ILIKE '%phone%'` starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
        ("QL105", (4, 48), "`ORDER BY random()` computes and sorts a random value for every matching row to return a few"),
    ]


def test_text_expressions_are_not_statements() -> None:
    code = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy import text\n"
        "created = sa.Column(sa.DateTime(), server_default=sa.text('now()'))\n"
        "q = select(User).order_by(text('created_at desc'))\n"
        "r = RawSQL('price * %s', (2,))\n"
        "bad = RawSQL('price * * 2', ())\n"
    )
    result = lint_files({"models.py": code}, select=["QL001"])
    assert result.diagnostics == []
    src = SourceFile("models.py", code, Language.PYTHON)
    assert [(f.context, f.sql) for f in find_sql_in_python(src, ast.parse(code))] == [("RawSQL", "SELECT price * $1")]


def test_other_databases_sql_is_not_judged_by_postgres() -> None:
    code = '''\
from alembic import op
import sqlalchemy as sa


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS t_immutable;")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS t_immutable ON t;")
    else:
        op.execute("ALTER TABLE t MODIFY body MEDIUMTEXT")


def _mysql_fulltext(cursor):
    cursor.execute("SELECT id FROM t WHERE MATCH (body) AGAINST (%s)", ["x"])


def tweak(cursor):
    cursor.execute("PRAGMA foreign_keys=ON")
    op.execute(sa.text("DELETE FROM roles WHERE id IN :ids"))
    op.execute("SELECT setval(pg_get_serial_sequence(:table, 'id'), 1)")
'''
    result = lint_files({"migrations/versions/0001_x.py": code}, select=["QL001"])
    assert result.diagnostics == []
    src = SourceFile("m.py", code, Language.PYTHON)
    assert [f.sql for f in find_sql_in_python(src, ast.parse(code))] == [
        "DROP TRIGGER IF EXISTS t_immutable ON t;",
        "DELETE FROM roles WHERE id IN ($1)",
        "SELECT setval(pg_get_serial_sequence($1, 'id'), 1)",
    ]


def test_other_dialect_is_read_by_sqlglot_with_statement_positions() -> None:
    sql = (
        "-- MySQL\n"
        "SELECT * FROM `orders` WHERE note LIKE '%gift%' LIMIT 20, 10;\n"
        "SELECT id FROM products\n"
        "ORDER BY RAND() LIMIT 1;\n"
        "SELECT id FROM orders LIMIT 5000, 10;\n"
        "SELECT (id FROM broken;\n"
    )
    schema = "CREATE TABLE orders (id bigint, note text);\n"
    result = lint_files({"q.sql": sql, "schema.sql": schema}, select=["QL0", "QL1"], check=["q.sql"], sql_dialect="mysql")
    src = result.sources["q.sql"]
    got = [(src.location(d.span.start), d.code, d.message) for d in result.diagnostics]
    assert got == [
        ((2, 1), "QL101", "`SELECT *` on `orders` fetches every column, including ones the application may not use"),
        ((2, 1), "QL102", "`note LIKE '%gift%'` starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
        ((3, 1), "QL105", "`ORDER BY random()` computes and sorts a random value for every matching row to return a few"),
        ((5, 1), "QL103", "`OFFSET 5000` reads and discards 5000 rows before returning any"),
        ((6, 12), "QL001", 'SQL (mysql) syntax error: Expecting ) at or near "FROM"'),
    ]
    # positions are per statement, so no text edit is offered
    assert all(d.fix is None for d in result.diagnostics)
    # and the same file read as PostgreSQL stops at the backtick
    pg = lint_files({"q.sql": sql}, select=["QL001"])
    assert [d.message for d in pg.diagnostics] == ['SQL syntax error: syntax error at or near "`"']


def test_psql_meta_commands_are_not_sql() -> None:
    text = '\\echo Use "CREATE EXTENSION shop" to load this file. \\quit\n\\set ON_ERROR_STOP on\nSELECT id FROM t ORDER BY random();\n'
    result = lint_files({"load.sql": text}, select=["QL001", "QL105"])
    assert [(d.code, result.sources["load.sql"].location(d.span.start)) for d in result.diagnostics] == [("QL105", (3, 27))]


def test_other_dialect_procedure_bodies_are_skipped_not_errors() -> None:
    sql = (
        "CREATE PROCEDURE p(IN in_list TEXT)\n"
        "BEGIN\n"
        "    IF (in_list IS NULL OR LENGTH(in_list) = 0) THEN\n"
        "        SELECT * FROM users;\n"
        "    END IF;\n"
        "END;\n"
    )
    result = lint_files({"p.sql": sql + "SELECT id FROM users WHERE;\n"}, select=["QL001"], sql_dialect="mysql")
    # the procedure is skipped; the broken query after it is reported
    assert [(d.code, result.sources["p.sql"].location(d.span.start)[0]) for d in result.diagnostics] == [("QL001", 7)]


def test_binds_rendered_inline_are_not_parse_errors() -> None:
    code = (
        "from sqlalchemy import sql\n"
        "def f(connection, xid, table):\n"
        "    connection.execute(sql.text('COMMIT PREPARED :xid').bindparams(xid=xid))\n"
        "    connection.execute(sql.text('SELECT id FROM :table'), {'table': table})\n"
    )
    result = lint_files({"db.py": code}, select=["QL001"])
    # a literal makes the first valid; a table name can never be a bind parameter
    assert [(d.message, result.sources["db.py"].location(d.span.start)[0]) for d in result.diagnostics] == [
        ("SQL syntax error: a bind parameter stands where PostgreSQL expects a name or a keyword; parameters "
         "carry values only (compose table and column names with psycopg's sql.Identifier)", 4),
    ]


def test_module_constants_are_resolved_unless_shadowed() -> None:
    src, frags = _frags('''
        ACTIVE_USERS = "SELECT id FROM users WHERE active ORDER BY random()"

        def f(cursor):
            cursor.execute(ACTIVE_USERS)

        def g(cursor, ACTIVE_USERS):
            cursor.execute(ACTIVE_USERS)
        ''')
    [frag] = frags
    assert frag.sql == "SELECT id FROM users WHERE active ORDER BY random()"
    assert src.location(frag.span.start) == (1, 16)
