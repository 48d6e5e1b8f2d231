"""Suppression comments: the grammar, what they cover, and unused / unknown suppressions."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from querylint import suppressions
from querylint.config import Config
from querylint.diagnostics import Diagnostic
from querylint.engine import Engine
from querylint.rule import PythonContext, PythonRule, SqlContext, SqlRule
from querylint.rules.parse_error import ParseError
from querylint.rules.unused_suppression import UnusedSuppression
from querylint.source import Language, SourceFile, Span


class StarRule(SqlRule):
    """Test rule: flags every `*` column reference."""

    code = "QL901"
    name = "test-star"

    def visit_ColumnRef(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        from pglast import ast as pg

        if any(isinstance(f, pg.A_Star) for f in node.fields):
            yield self.diagnostic(ctx.node_span(node), "star")


class OffsetRule(SqlRule):
    """Test rule: flags every OFFSET (the whole statement span)."""

    code = "QL902"
    name = "test-offset"

    def visit_SelectStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if node.limitOffset is not None:
            yield self.diagnostic(ctx.node_span(node.limitOffset), "offset")


class EvalRule(PythonRule):
    """Test rule: flags `eval(...)` calls."""

    code = "QL903"
    name = "test-eval"

    def visit_Call(self, node: ast.Call, ctx: PythonContext) -> Iterator[Diagnostic]:
        if isinstance(node.func, ast.Name) and node.func.id == "eval":
            yield self.diagnostic(ctx.node_span(node), "eval")


def run(tmp_path: Path, files: dict[str, str], *, rules: list[Any] | None = None, **cfg: Any) -> list[tuple[str, int, str]]:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    config = Config(root=str(tmp_path), cache=False, **cfg)
    rules = rules if rules is not None else [StarRule(), OffsetRule(), EvalRule(), UnusedSuppression(), ParseError()]
    result = Engine(config, rules=rules).run([str(tmp_path)])
    return [
        (d.code, result.sources[d.span.path].location(d.span.start)[0], d.message)
        for d in result.diagnostics
    ]


def test_querylint_ignore_by_name_and_code_with_reason(tmp_path: Path) -> None:
    found = run(tmp_path, {"q.sql": """\
        SELECT * FROM a;  -- querylint: ignore[test-star] legacy report, reads every column
        SELECT * FROM b;  -- querylint: ignore[QL901]
        SELECT * FROM c OFFSET 5;  -- querylint: ignore[test-star, QL902]
        SELECT * FROM d;
        """})
    assert found == [("QL901", 4, "star")]


def test_sql_noqa_and_python_noqa(tmp_path: Path) -> None:
    found = run(tmp_path, {
        "q.sql": "SELECT * FROM a;  -- noqa: QL901\nSELECT * FROM b;  -- NOQA:QL901\n",
        "m.py": "x = eval('1')  # noqa: QL903\ny = eval('2')  # querylint: ignore[test-eval]\nz = eval('3')\n",
    })
    assert found == [("QL903", 3, "eval")]


def test_noqa_keeps_only_querylint_codes(tmp_path: Path) -> None:
    found = run(tmp_path, {"m.py": """\
        a = eval('1')  # noqa: E501, QL903
        b = eval('2')  # noqa
        c = eval('3')  # noqa: E501
        """})
    # bare noqa and other tools' codes do not suppress querylint, and are not "unused" either
    assert found == [("QL903", 2, "eval"), ("QL903", 3, "eval")]


def test_files_with_only_other_tools_noqa_are_not_tokenized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tokenized: list[str] = []
    real = suppressions._comment_regions

    def spy(source: SourceFile, *args: Any) -> Any:
        tokenized.append(source.path)
        return real(source, *args)

    monkeypatch.setattr(suppressions, "_comment_regions", spy)
    found = run(tmp_path, {
        "other.py": "a = eval('1')  # noqa: E501\nb = 1  # NOQA\n",
        "ours.py": "a = eval('1')  # noqa: ql903\nb = eval('2')\n",
    })
    assert found == [("QL903", 1, "eval"), ("QL903", 2, "eval")]  # other.py:1, ours.py:2
    assert tokenized == ["ours.py"]


def test_hash_inside_a_python_string_is_not_a_comment(tmp_path: Path) -> None:
    found = run(tmp_path, {"m.py": "a = eval('# noqa: QL903')\nDOC = '''-- noqa: QL901'''\n"})
    assert found == [("QL903", 1, "eval")]
    # a directive quoted inside a comment is prose, not a directive (and not "unused")
    found = run(tmp_path, {"m.py": "a = eval('1')  # write `# noqa: QL903` to silence it\n"})
    assert found == [("QL903", 1, "eval")]


def test_applies_only_to_findings_starting_on_its_line(tmp_path: Path) -> None:
    found = run(tmp_path, {"q.sql": "-- noqa: QL901\nSELECT * FROM a;\n"})
    assert found == [
        ("QL002", 1, "unused suppression `-- noqa: QL901`: no QL901 finding on this line"),
        ("QL901", 2, "star"),
    ]


def test_comment_on_last_line_of_multiline_sql_statement(tmp_path: Path) -> None:
    found = run(tmp_path, {"q.sql": """\
        SELECT *
        FROM orders
        ORDER BY id
        OFFSET 100;  -- querylint: ignore[test-star, test-offset]
        SELECT *
        FROM b;
        """})
    assert found == [("QL901", 5, "star")]


def test_ignore_file(tmp_path: Path) -> None:
    found = run(tmp_path, {
        "a.sql": "-- querylint: ignore-file\nSELECT * FROM a OFFSET 1;\n",
        "b.sql": "-- querylint: ignore-file[test-star]\nSELECT * FROM a OFFSET 1;\n",
        "c.py": "# querylint: ignore-file\neval('1')\n",
    })
    assert found == [("QL902", 2, "offset")]


def test_unused_suppression_lists_only_the_unused_keys(tmp_path: Path) -> None:
    found = run(tmp_path, {"q.sql": "SELECT * FROM a;  -- querylint: ignore[test-star, test-offset]\n"})
    assert found == [(
        "QL002", 1,
        "unused suppression `-- querylint: ignore[test-star, test-offset]`: no test-offset finding on this line",
    )]


def test_unknown_rule_in_suppression_is_reported(tmp_path: Path) -> None:
    found = run(tmp_path, {"q.sql": "SELECT * FROM a;  -- querylint: ignore[test-star, slect-star]\n"})
    assert found == [(
        "QL002", 1,
        "suppression `-- querylint: ignore[test-star, slect-star]` names unknown rule `slect-star`",
    )]


def test_suppression_of_disabled_rule_is_not_unused(tmp_path: Path) -> None:
    # QL001 is a known rule, but not enabled for this run
    found = run(tmp_path, {"q.sql": "SELECT id FROM a;  -- noqa: QL001\n"}, rules=[StarRule(), UnusedSuppression()])
    assert found == []


def test_per_file_ignored_rule_is_not_unused(tmp_path: Path) -> None:
    found = run(
        tmp_path,
        {"q.sql": "SELECT 1;  -- noqa: QL001\n"},
        per_file_ignores=(("*.sql", ("QL001",)),),
    )
    assert found == []


def test_unused_suppression_rule_disabled_reports_nothing(tmp_path: Path) -> None:
    found = run(tmp_path, {"q.sql": "SELECT id FROM a;  -- noqa: QL901\n"}, rules=[StarRule()])
    assert found == []


def test_sql_dash_comments_count_in_python_only_inside_sql_fragments() -> None:
    text = 'cur.execute("""\n    SELECT * FROM t  -- noqa: QL101\n""")\nDOC = "-- noqa: QL102"\n'
    src = SourceFile("m.py", text, Language.PYTHON)
    frag = Span("m.py", text.index('"""'), text.index('""")') + 3)
    sups, file_off = suppressions.find(src, sql_spans=[frag])
    assert [(s.line, s.keys, s.text) for s in sups] == [(2, ("QL101",), "-- noqa: QL101")]
    assert file_off is None


@pytest.mark.parametrize(
    ("comment", "keys"),
    [
        ("-- noqa: QL101,QL102", ("QL101", "QL102")),
        ("-- noqa: ql101 QL102", ("QL101", "QL102")),
        ("-- querylint: ignore[select-star,QL102]  because", ("select-star", "QL102")),
        ("-- noqa: E501", None),
        ("-- noqa", None),
    ],
)
def test_grammar(comment: str, keys: tuple[str, ...] | None) -> None:
    src = SourceFile("q.sql", f"SELECT 1; {comment}\n", Language.SQL)
    sups, _ = suppressions.find(src)
    assert [s.keys for s in sups] == ([keys] if keys else [])


def test_suppressions_on_sql_in_python_strings(tmp_path: Path) -> None:
    from querylint.rules.select_star import SelectStar

    found = run(tmp_path, {"views.py": '''\
        def report(cursor):
            cursor.execute("SELECT * FROM orders")  # noqa: QL101
            cursor.execute("""
                SELECT *  -- querylint: ignore[select-star] legacy export
                FROM orders
            """)
            cursor.execute("SELECT * FROM orders")  # querylint: ignore[select-star]
            cursor.execute("SELECT * FROM orders")
            cursor.execute("SELECT id FROM orders")  # noqa: QL101
        '''}, rules=[SelectStar(), UnusedSuppression()])
    assert [(code, line) for code, line, _ in found] == [("QL101", 8), ("QL002", 9)]


def test_comment_after_a_multiline_python_string_covers_the_sql_inside(tmp_path: Path) -> None:
    from querylint.rules.select_star import SelectStar

    found = run(tmp_path, {"views.py": '''\
        def report(cursor):
            cursor.execute("""
                SELECT *
                FROM orders
            """)  # noqa: QL101
            cursor.execute(
                """
                SELECT *
                FROM orders
                """
            )  # noqa: QL101
        '''}, rules=[SelectStar(), UnusedSuppression()])
    # the second comment is not on the string's last line: it covers nothing
    assert [(code, line) for code, line, _ in found] == [("QL101", 8), ("QL002", 11)]


def test_unknown_rule_in_ignore_file_is_reported(tmp_path: Path) -> None:
    found = run(tmp_path, {"a.sql": "-- querylint: ignore-file[test-star, no-such-rule]\nSELECT * FROM a OFFSET 1;\n"})
    assert found == [
        ("QL002", 1, "suppression `-- querylint: ignore-file[test-star, no-such-rule]` names unknown rule `no-such-rule`"),
        ("QL902", 2, "offset"),
    ]
