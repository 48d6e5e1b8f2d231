"""Baseline files: record today's findings, report only new ones, survive line shifts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from querylint import baseline
from querylint.config import ConfigError
from querylint.diagnostics import Diagnostic, Severity
from querylint.engine import RunResult
from querylint.source import Language, SourceFile, Span
from querylint.testing import lint_files


def _result(text: str, needles: list[tuple[str, str]], path: str = "db/q.sql") -> RunResult:
    """Findings at the first occurrence of each needle (from the end of the previous one)."""
    src = SourceFile(path, text, Language.SQL)
    diags = []
    pos = 0
    for code, needle in needles:
        start = text.index(needle, pos)
        pos = start + 1
        diags.append(Diagnostic(code, f"rule-{code.lower()}", Span(path, start, start + len(needle)), f"{needle} is bad"))
    return RunResult(diags, {path: src}, [path])


TEXT = "SELECT * FROM a;\nSELECT * FROM b;\nSELECT id FROM c OFFSET 5000;\n"


def test_write_then_apply_hides_everything(tmp_path: Path) -> None:
    res = _result(TEXT, [("QL101", "*"), ("QL101", "*"), ("QL103", "OFFSET")])
    file = tmp_path / "baseline.json"
    assert baseline.write(str(file), res.diagnostics, res.sources) == 3
    data = json.loads(file.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert [(f["path"], f["code"], f["line"]) for f in data["findings"]] == [
        ("db/q.sql", "QL101", 1), ("db/q.sql", "QL101", 2), ("db/q.sql", "QL103", 3),
    ]
    assert data["findings"][0]["fingerprint"] == baseline.text_fingerprint("  SELECT  * FROM a; ", "*")
    out = baseline.apply(baseline.load(str(file)), res.diagnostics, res.sources)
    assert (out.kept, out.matched, out.unmatched) == ([], 3, 0)


def test_line_shifts_and_reindenting_keep_matching(tmp_path: Path) -> None:
    res = _result(TEXT, [("QL101", "*"), ("QL103", "OFFSET")])
    file = tmp_path / "b.json"
    baseline.write(str(file), res.diagnostics, res.sources)
    moved = "-- new header\n\n" + TEXT.replace("SELECT id FROM c", "    SELECT   id FROM c")
    res2 = _result(moved, [("QL101", "*"), ("QL103", "OFFSET")])
    out = baseline.apply(baseline.load(str(file)), res2.diagnostics, res2.sources)
    assert out.kept == [] and out.matched == 2


def test_new_and_edited_findings_are_reported(tmp_path: Path) -> None:
    res = _result(TEXT, [("QL101", "*"), ("QL103", "OFFSET")])
    file = tmp_path / "b.json"
    baseline.write(str(file), res.diagnostics, res.sources)
    edited = TEXT.replace("FROM a", "FROM a2") + "SELECT * FROM d;\n"
    res2 = _result(edited, [("QL101", "*"), ("QL103", "OFFSET"), ("QL101", "* FROM d")])
    out = baseline.apply(baseline.load(str(file)), res2.diagnostics, res2.sources)
    assert [(d.code, res2.sources["db/q.sql"].line_of(d.span.start)) for d in out.kept] == [("QL101", 1), ("QL101", 4)]
    assert (out.matched, out.unmatched) == (1, 1)


def test_flagged_text_tells_identical_lines_apart(tmp_path: Path) -> None:
    text = "ALTER TABLE t\n  ADD COLUMN a int NOT NULL;\nALTER TABLE t\n  ADD COLUMN b int NOT NULL;\n"
    res = _result(text, [("QL404", "ALTER TABLE t\n  ADD COLUMN a int")])
    file = tmp_path / "b.json"
    baseline.write(str(file), res.diagnostics, res.sources)
    both = _result(text, [("QL404", "ALTER TABLE t\n  ADD COLUMN a int"), ("QL404", "ALTER TABLE t\n  ADD COLUMN b int")])
    out = baseline.apply(baseline.load(str(file)), both.diagnostics, both.sources)
    assert [d.message for d in out.kept] == ["ALTER TABLE t\n  ADD COLUMN b int is bad"]


def test_matching_counts_duplicates(tmp_path: Path) -> None:
    one = _result("SELECT * FROM a;\n", [("QL101", "*")])
    file = tmp_path / "b.json"
    baseline.write(str(file), one.diagnostics, one.sources)
    two = _result("SELECT * FROM a;\nSELECT * FROM a;\n", [("QL101", "*"), ("QL101", "*")])
    out = baseline.apply(baseline.load(str(file)), two.diagnostics, two.sources)
    assert len(out.kept) == 1 and out.kept[0].span.start == len("SELECT * FROM a;\nSELECT ")


def test_other_file_or_code_does_not_match(tmp_path: Path) -> None:
    res = _result(TEXT, [("QL101", "*")])
    file = tmp_path / "b.json"
    baseline.write(str(file), res.diagnostics, res.sources)
    other_path = _result(TEXT, [("QL101", "*")], path="db/other.sql")
    other_code = _result(TEXT, [("QL102", "*")])
    bl = baseline.load(str(file))
    assert len(baseline.apply(bl, other_path.diagnostics, other_path.sources).kept) == 1
    assert len(baseline.apply(bl, other_code.diagnostics, other_code.sources).kept) == 1


def test_internal_errors_are_never_recorded(tmp_path: Path) -> None:
    src = SourceFile("a.sql", "SELECT 1;\n", Language.SQL)
    d = Diagnostic("QL000", "internal-error", Span("a.sql", 0, 0), "boom", severity=Severity.ERROR)
    file = tmp_path / "b.json"
    assert baseline.write(str(file), [d], {"a.sql": src}) == 0
    assert baseline.apply(baseline.load(str(file)), [d], {"a.sql": src}).kept == [d]


def test_non_ascii_round_trip(tmp_path: Path) -> None:
    res = _result("SELECT * FROM élèves; -- ünïcode\n", [("QL101", "*")], path="app/données/вью.sql")
    file = tmp_path / "b.json"
    baseline.write(str(file), res.diagnostics, res.sources)
    assert "вью.sql" in file.read_text(encoding="utf-8")
    assert baseline.apply(baseline.load(str(file)), res.diagnostics, res.sources).kept == []


def test_end_to_end_parse_error(tmp_path: Path) -> None:
    res = lint_files({"db/broken.sql": "SELEC 1;\n"}, select=["QL001"])
    file = tmp_path / "b.json"
    assert baseline.write(str(file), res.diagnostics, res.sources) == 1
    again = lint_files({"db/broken.sql": "-- moved down\nSELEC 1;\n"}, select=["QL001"])
    assert [d.code for d in again.diagnostics] == ["QL001"]
    assert baseline.apply(baseline.load(str(file)), again.diagnostics, again.sources).kept == []
    other = lint_files({"db/broken.sql": "SELEC 2;\n"}, select=["QL001"])
    assert [d.code for d in baseline.apply(baseline.load(str(file)), other.diagnostics, other.sources).kept] == ["QL001"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"version": 1}', "is not a querylint baseline (no `findings`)"),
        ('{"version": 2, "findings": []}', "has baseline version 2; this querylint reads version 1"),
        ('{"version": 1, "findings": [{"path": "a"}]}', "finding #1 needs string `path`, `code` and `fingerprint`"),
    ],
)
def test_bad_baseline_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "b.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        baseline.load(str(file))
    assert message in str(exc.value)


def test_missing_baseline_file_says_how_to_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match="create it with --write-baseline"):
        baseline.load(str(missing))
