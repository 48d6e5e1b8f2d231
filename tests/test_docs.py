"""Generated rule docs: the page layout, and a check that docs/rules/*.md are up to date."""

from __future__ import annotations

from pathlib import Path

from querylint import docs
from querylint.rule import Example, FixAvailability, SqlRule

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


class Sample(SqlRule):
    """Sample summary line.

    ## Why is this bad?
    Because.
    """

    code = "QL999"
    name = "sample-rule"
    fix_availability = FixAvailability.SOMETIMES
    default_enabled = False
    options = {"threshold": 1000, "strict": False}
    VALID = [Example("SELECT id FROM t;\n")]
    INVALID = [
        Example(
            "SELECT * FROM t;\n", line=1, message="`t` is read with `*`", options={"threshold": 5},
            files={"schema.sql": "CREATE TABLE t (id int);\n"},
        )
    ]


def test_render_rule_page() -> None:
    assert docs.render_rule(Sample) == "\n".join([
        "# sample-rule (QL999)",
        "",
        "*off by default (enable with `extend-select`) · fix sometimes available · severity: warning*",
        "",
        "## Options",
        "",
        "| option | default |",
        "|---|---|",
        "| `threshold` | `1000` |",
        "| `strict` | `false` |",
        "",
        "Set them under `[tool.querylint.rules.sample-rule]`.",
        "",
        "Sample summary line.",
        "",
        "## Why is this bad?",
        "Because.",
        "",
        "## Valid examples",
        "",
        "```sql",
        "SELECT id FROM t;",
        "```",
        "",
        "## Invalid examples",
        "",
        "- line 1: `t` is read with `*` — options: `threshold = 5`",
        "",
        "with `schema.sql`:",
        "",
        "```sql",
        "CREATE TABLE t (id int);",
        "```",
        "",
        "`example.sql`:",
        "",
        "```sql",
        "SELECT * FROM t;",
        "```",
        "",
    ])


def test_index_lists_every_rule() -> None:
    index = docs.render_index([Sample])
    assert index.splitlines()[-1] == "| QL999 | [sample-rule](sample-rule.md) | Sample summary line. |"


def test_write_and_stale(tmp_path: Path) -> None:
    assert "index.md" in docs.stale(tmp_path)
    docs.write(tmp_path)
    assert docs.stale(tmp_path) == []
    (tmp_path / "removed-rule.md").write_text("old\n", encoding="utf-8")
    (tmp_path / "parse-error.md").write_text("edited\n", encoding="utf-8")
    assert docs.stale(tmp_path) == ["parse-error.md", "removed-rule.md"]
    assert docs.write(tmp_path) == ["parse-error.md", "removed-rule.md"]
    assert not (tmp_path / "removed-rule.md").exists()


def test_docs_rules_are_up_to_date() -> None:
    stale = docs.stale(DOCS)
    assert not stale, f"docs/rules is stale ({', '.join(stale)}); run `{docs.REGENERATE}` and commit the result"


def test_readme_rule_table_is_generated_between_markers() -> None:
    text = f"intro\n{docs.README_START}\nold table\n{docs.README_END}\nafter\n"
    new = docs.update_readme(text, [Sample])
    assert new == (
        f"intro\n{docs.README_START}\n"
        "| code | name | what it finds | on | fix |\n|---|---|---|---|---|\n"
        "| QL999 | [sample-rule](docs/rules/sample-rule.md) | Sample summary line. | opt-in | sometimes |\n"
        f"{docs.README_END}\nafter\n"
    )
    assert docs.update_readme("no markers\n", [Sample]) == "no markers\n"


def test_readme_rule_table_is_up_to_date() -> None:
    assert docs.readme_path() is not None
    assert not docs.readme_stale(), f"README.md's rule table is stale; run `{docs.REGENERATE}` and commit the result"
