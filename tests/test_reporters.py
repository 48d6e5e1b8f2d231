"""The machine formats (json, github, sarif, gitlab, markdown): exact snapshots and contracts.

Snapshots live in ``tests/snapshots/``; after an intended change, regenerate them with
``QUERYLINT_UPDATE_SNAPSHOTS=1 pytest tests/test_reporters.py`` and review the diff.
The findings here are built by hand (rule codes QL990-QL992 are test-only), so the snapshots
do not move when rules change; one end-to-end test goes through the engine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from querylint import __version__
from querylint.diagnostics import Applicability, Confidence, Diagnostic, Edit, Fix, Severity
from querylint.engine import RunResult
from querylint.reporters import ReportContext, _shared, get, github, markdown, sarif
from querylint.rule import Rule
from querylint.source import Language, RelatedSpan, SourceFile, Span
from querylint.testing import lint_files

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "snapshots"
SCHEMA = HERE / "data" / "sarif-schema-2.1.0.json"
CTX = ReportContext(root="/project")
CI_VARS = ("GITHUB_WORKSPACE", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_SERVER_URL", "CI_PROJECT_DIR")


@pytest.fixture(autouse=True)
def _no_ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reports read CI variables (paths, links); the snapshots are for a run outside CI.
    for var in CI_VARS:
        monkeypatch.delenv(var, raising=False)


class _WarningRule(Rule):
    """Test rule: a warning with a fix.

    ## Why is this bad?
    It is a test, with `code` and 100% of the symbols: `%`, `:` and `,`.
    """

    code = "QL990"
    name = "test-warning"


class _InfoRule(Rule):
    """Test rule: a note."""

    code = "QL991"
    name = "test-info"
    severity = Severity.INFO


class _ErrorRule(Rule):
    """Test rule: an error.

    ## Why is this bad?
    Errors stop the build.

    ## Example
    ```sql
    SELEC 1;
    ```
    """

    code = "QL992"
    name = "test-error"
    severity = Severity.ERROR


TEST_RULES: dict[str, type[Rule]] = {r.code: r for r in (_WarningRule, _InfoRule, _ErrorRule)}

SQL = "SELECT * FROM orders;\n  SELEC 1;\n"
PY = (
    "def données(cur):\n"
    "    cur.execute(\n"
    '        "SELECT id FROM élèves WHERE nom LIKE \'%x\'"\n'
    "    )\n"
)
SQL_PATH = "db/queries.sql"
PY_PATH = "app/données/вью.py"
ODD_PATH = "db/a, b: 100%.sql"


def _sample() -> RunResult:
    sql = SourceFile(SQL_PATH, SQL, Language.SQL)
    py = SourceFile(PY_PATH, PY, Language.PYTHON)
    odd = SourceFile(ODD_PATH, "SELECT 1;\n", Language.SQL)
    star = SQL.index("*")
    selec = SQL.index("SELEC ")
    call = PY.index("cur.execute")
    literal = PY.index('"SELECT')
    like = PY.index("'%x'")
    diags = [
        Diagnostic(
            "QL990", "test-warning", Span(SQL_PATH, star, star + 1),
            "100% of `orders`: columns a, b\nand a second line",
            help="Name the columns: id, total",
            related=(RelatedSpan(Span(SQL_PATH, 0, 6), "query starts here"),),
            fix=Fix("Expand `*` to id, total", (Edit(SQL_PATH, star, star + 1, "id, total"),), Applicability.UNSAFE),
            confidence=Confidence.MEDIUM,
        ),
        Diagnostic(
            "QL992", "test-error", Span(SQL_PATH, selec, selec + 5),
            'syntax error at or near "SELEC"', severity=Severity.ERROR,
        ),
        # a span over three lines, ending just after a newline
        Diagnostic(
            "QL991", "test-info", Span(PY_PATH, call, PY.index(")\n", call) + 2),
            "élèves: query in `données()`, 50% done\r\nnext", severity=Severity.INFO,
            help="Use an index, or not",
        ),
        Diagnostic(
            "QL990", "test-warning", Span(PY_PATH, like, like + 4), "pattern `'%x'` starts with %",
            related=(RelatedSpan(Span(PY_PATH, literal, literal + 1), "SQL string"),),
        ),
        # a file that could not be read: no source, an empty span
        Diagnostic("QL992", "test-error", Span("bad/ünreadable.sql", 0, 0), "file is not valid UTF-8", severity=Severity.ERROR),
        # `,` `:` `%` in a path must be escaped in GitHub properties and percent-encoded in URIs
        Diagnostic("QL991", "test-info", Span(ODD_PATH, 0, 6), "odd path", severity=Severity.INFO),
    ]
    return RunResult(
        diagnostics=diags,
        sources={SQL_PATH: sql, PY_PATH: py, ODD_PATH: odd},
        checked=[SQL_PATH, PY_PATH, "bad/ünreadable.sql", ODD_PATH],
    )


@pytest.fixture
def test_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_shared, "rule_class", lambda code: TEST_RULES.get(code))
    monkeypatch.setattr(sarif, "rule_class", lambda code: TEST_RULES.get(code))


def _check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("QUERYLINT_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} changed; regenerate with QUERYLINT_UPDATE_SNAPSHOTS=1 and review the diff"


# -- snapshots ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "ext"), [("json", "json"), ("github", "txt"), ("gitlab", "json"), ("markdown", "md")])
def test_snapshot(fmt: str, ext: str, test_rules: None) -> None:
    _check_snapshot(f"sample.{fmt}.{ext}", get(fmt)(_sample(), CTX))


def test_snapshot_sarif(test_rules: None) -> None:
    text = get("sarif")(_sample(), CTX)
    # the version moves with releases; the snapshot holds a placeholder
    _check_snapshot("sample.sarif.json", text.replace(f'"{__version__}"', '"<VERSION>"'))


def test_snapshot_github_over_the_annotation_cap() -> None:
    text = "".join(f"SELECT {i};\n" for i in range(15))
    src = SourceFile("many.sql", text, Language.SQL)
    diags = []
    for i in range(15):
        start = src.offset(i + 1, 8)
        sev = Severity.WARNING if i < 12 else Severity.INFO
        diags.append(Diagnostic("QL990", "test-warning", Span("many.sql", start, start + 1), f"finding {i}", severity=sev))
    out = github.render(RunResult(diags, {"many.sql": src}, ["many.sql"]), CTX)
    _check_snapshot("cap.github.txt", out)
    lines = out.splitlines()
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert sum(line.startswith("::notice ") for line in lines) == 3
    # the plain lines come after the annotations, where the runner reads no command
    token = lines[13].removeprefix("::stop-commands::")
    assert token.startswith("querylint-") and len(token) == len("querylint-") + 32
    assert lines[14:17] == ["many.sql:11:8: QL990 finding 10", "many.sql:12:8: QL990 finding 11", f"::{token}::"]
    assert lines[-1] == (
        "::notice::querylint: 2 findings were not annotated (GitHub shows at most 10 annotations "
        "of each level per step); see the plain lines in this log"
    )


def test_snapshot_markdown_with_github_links(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_rules: None) -> None:
    # the project is the `backend/` folder of the repository checked out in the workspace
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    ctx = ReportContext(root=str(tmp_path / "backend"))
    _check_snapshot("sample.linked.md", markdown.render(_sample(), ctx))


# -- exact contracts ----------------------------------------------------------------------------
def test_github_escaping_follows_actions_core() -> None:
    assert github.escape_data("100%: a,b\r\nc") == "100%25: a,b%0D%0Ac"
    assert github.escape_property("100%: a,b\r\nc") == "100%25%3A a%2Cb%0D%0Ac"


def test_github_omits_columns_for_multiline_spans(test_rules: None) -> None:
    out = github.render(_sample(), CTX).splitlines()
    multi = next(line for line in out if "QL991" in line)
    assert multi.startswith("::notice file=app/données/вью.py,line=2,endLine=4,title=QL991 test-info::")
    single = next(line for line in out if "QL992" in line)
    assert single.startswith("::error file=db/queries.sql,line=2,endLine=2,col=3,endColumn=8,title=")
    assert out[-1] == "::notice file=db/a%2C b%3A 100%25.sql,line=1,endLine=1,col=1,endColumn=7,title=QL991 test-info::QL991 [test-info] odd path"


def test_github_paths_relative_to_workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    out = github.render(_sample(), ReportContext(root=str(tmp_path / "backend")))
    assert out.startswith("::warning file=backend/db/queries.sql,line=1,")


def test_json_is_ruff_shaped() -> None:
    items = json.loads(get("json")(_sample(), CTX))
    first = items[0]
    assert {"cell", "code", "message", "filename", "location", "end_location", "fix", "url", "noqa_row"} <= set(first)
    assert first["filename"] == "/project/db/queries.sql"
    assert first["location"] == {"row": 1, "column": 8}
    assert first["end_location"] == {"row": 1, "column": 9}
    assert first["fix"] == {
        "applicability": "unsafe",
        "message": "Expand `*` to id, total",
        "edits": [{"content": "id, total", "location": {"row": 1, "column": 8}, "end_location": {"row": 1, "column": 9}}],
    }
    assert first["url"] == "https://querylint.readthedocs.io/en/latest/rules/test-warning/"
    assert (first["name"], first["severity"]) == ("test-warning", "warning")
    # a span ending after a newline ends on its own line
    info = items[2]
    assert (info["location"], info["end_location"]) == ({"row": 2, "column": 5}, {"row": 4, "column": 6})


def _validator() -> object:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates_against_the_official_schema(test_rules: None) -> None:
    validator = _validator()
    log = json.loads(get("sarif")(_sample(), CTX))
    errors = list(validator.iter_errors(log))  # type: ignore[attr-defined]
    assert errors == []


def test_sarif_schema_check_really_rejects_bad_logs(test_rules: None) -> None:
    validator = _validator()
    log = json.loads(get("sarif")(_sample(), CTX))
    log["runs"][0]["results"][0]["level"] = "fatal"
    log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    messages = sorted(e.message for e in validator.iter_errors(log))  # type: ignore[attr-defined]
    assert len(messages) == 2
    assert any("'fatal' is not one of" in m for m in messages)
    assert any("0 is less than the minimum of 1" in m for m in messages)


def test_sarif_results_rules_and_fingerprints(test_rules: None) -> None:
    run = json.loads(get("sarif")(_sample(), CTX))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["QL990", "QL991", "QL992"]
    assert rules[0]["fullDescription"]["text"] == "It is a test, with `code` and 100% of the symbols: `%`, `:` and `,`."
    assert rules[2]["help"]["markdown"] == _ErrorRule.doc()
    res = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in res] == [
        ("QL990", 0, "warning"), ("QL992", 2, "error"), ("QL991", 1, "note"), ("QL990", 0, "warning"), ("QL992", 2, "error"),
        ("QL991", 1, "note"),
    ]
    assert res[5]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "db/a%2C%20b%3A%20100%25.sql"
    assert res[2]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "app/donn%C3%A9es/%D0%B2%D1%8C%D1%8E.py", "uriBaseId": "%SRCROOT%",
    }
    hashes = sarif.line_hashes(PY)
    assert res[2]["partialFingerprints"]["primaryLocationLineHash"] == hashes[1]
    assert "partialFingerprints" not in res[4]  # no source: GitHub computes nothing either
    assert res[0]["fixes"][0]["artifactChanges"][0]["replacements"] == [
        {"deletedRegion": {"startLine": 1, "startColumn": 8, "endLine": 1, "endColumn": 9}, "insertedContent": {"text": "id, total"}}
    ]
    assert res[3]["relatedLocations"][0]["message"] == {"text": "SQL string"}


def test_line_hash_matches_githubs_own_test_vectors() -> None:
    # from github/codeql-action src/fingerprints.test.ts
    assert sarif.line_hashes("") == ["c129715d7a2bc9a3:1"]
    assert sarif.line_hashes(" a\nb\n  \t\tc\n d") == [
        "271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1",
    ]
    expected = [
        "e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
        "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1",
    ]
    assert sarif.line_hashes(" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n") == expected
    assert sarif.line_hashes(" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n") == expected
    assert sarif.line_hashes(" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r") == expected
    assert sarif.line_hashes("Lorem ipsum dolor sit amet.\n" * 10) == [
        *(f"a7f2ff13bc495cf2:{i}" for i in range(1, 7)),
        "a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1", "55ec222b86bcae53:1", "cc97dc7b1d7d8f7b:1", "c129715d7a2bc9a3:1",
    ]


def test_gitlab_fingerprints_survive_line_shifts_and_stay_unique() -> None:
    before = json.loads(get("gitlab")(_sample(), CTX))
    shifted = _sample()
    old = shifted.sources[SQL_PATH]
    new = SourceFile(SQL_PATH, "-- a new first line\n" + old.text, Language.SQL)
    n = len("-- a new first line\n")
    shifted.sources[SQL_PATH] = new
    shifted.diagnostics[:2] = [
        Diagnostic(d.code, d.name, Span(d.span.path, d.span.start + n, d.span.end + n), d.message, severity=d.severity)
        for d in shifted.diagnostics[:2]
    ]
    after = json.loads(get("gitlab")(shifted, CTX))
    assert [i["fingerprint"] for i in after] == [i["fingerprint"] for i in before]
    assert [i["location"]["lines"]["begin"] for i in after[:2]] == [2, 3]
    assert len({i["fingerprint"] for i in before}) == len(before)
    assert {i["severity"] for i in before} == {"major", "critical", "info"}


def test_markdown_escapes_outside_code_spans() -> None:
    assert markdown.escape("a <b> | `x <y> | z` *c*_d_\nnext") == "a &lt;b&gt; \\| `x <y> | z` \\*c\\*\\_d\\_ next"
    assert markdown.escape("odd ` tick <") == "odd \\` tick &lt;"


def test_markdown_without_findings() -> None:
    out = markdown.render(RunResult(checked=["a.sql", "b.py"]), CTX)
    assert out == "### querylint: no findings\n\n2 files checked.\n"


def test_markdown_caps_the_list() -> None:
    src = SourceFile("x.sql", "SELECT 1;\n", Language.SQL)
    diags = [Diagnostic("QL990", "test-warning", Span("x.sql", 0, 6), f"n{i}") for i in range(markdown.MAX_LISTED + 3)]
    out = markdown.render(RunResult(diags, {"x.sql": src}, ["x.sql"]), CTX)
    assert out.count("\n- `x.sql:1` QL990 n") == markdown.MAX_LISTED
    assert out.endswith("- … and 3 more findings\n")
    assert f"| QL990 | [test-warning](https://querylint.readthedocs.io/en/latest/rules/test-warning/) | {markdown.MAX_LISTED + 3} |" in out


def test_empty_results() -> None:
    empty = RunResult()
    assert get("json")(empty, CTX) == "[]\n"
    assert get("github")(empty, CTX) == ""
    assert get("gitlab")(empty, CTX) == "[]\n"
    assert json.loads(get("sarif")(empty, CTX))["runs"][0]["results"] == []


# -- end to end through the engine --------------------------------------------------------------
def test_end_to_end_parse_error_in_every_format() -> None:
    result = lint_files({"db/broken.sql": "SELEC 1;\n"}, select=["QL001"])
    assert [(d.code, d.message) for d in result.diagnostics] == [("QL001", 'SQL syntax error: syntax error at or near "SELEC"')]
    ctx = ReportContext(root="/work/proj")

    item = json.loads(get("json")(result, ctx))[0]
    assert (item["code"], item["name"], item["severity"], item["filename"]) == ("QL001", "parse-error", "error", "/work/proj/db/broken.sql")
    assert (item["location"], item["end_location"], item["noqa_row"]) == ({"row": 1, "column": 1}, {"row": 1, "column": 2}, 1)

    assert get("github")(result, ctx) == (
        "::error file=db/broken.sql,line=1,endLine=1,col=1,endColumn=2,title=QL001 parse-error::"
        'QL001 [parse-error] SQL syntax error: syntax error at or near "SELEC"\n'
    )

    log = json.loads(get("sarif")(result, ctx))
    assert list(_validator().iter_errors(log)) == []  # type: ignore[attr-defined]
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    from querylint.rules.parse_error import ParseError

    assert (rule["id"], rule["name"], rule["help"]["markdown"]) == ("QL001", "parse-error", ParseError.doc())
    assert rule["shortDescription"]["text"] == ParseError.summary()
    assert log["runs"][0]["results"][0]["partialFingerprints"]["primaryLocationLineHash"] == sarif.line_hashes("SELEC 1;\n")[0]

    gl = json.loads(get("gitlab")(result, ctx))[0]
    assert (gl["check_name"], gl["severity"], gl["location"]) == ("parse-error", "critical", {"path": "db/broken.sql", "lines": {"begin": 1, "end": 1}})

    assert "- `db/broken.sql:1` QL001 SQL syntax error: syntax error at or near \"SELEC\"\n" in get("markdown")(result, ctx)


def test_full_shows_a_window_of_a_long_line() -> None:
    """A generated one-line file: each finding shows the span with 60 characters each side, not
    the whole line (printing it once per finding was quadratic in the output)."""
    line = "SELECT 1; " * 100 + "SELECT * FROM t; " + "SELECT 2; " * 100
    result = lint_files({"gen.sql": line + "\n"}, select=["QL101"])
    text = get("full")(result, ReportContext(color=False))
    star = line.index("*")
    assert text.splitlines()[:5] == [
        f"gen.sql:1:{star + 1}: QL101 [select-star] `SELECT *` on `t` fetches every column, including ones the "
        "application may not use",
        "  |",
        "1 | \u2026" + line[star - 60 : star + 1 + 60] + "\u2026",
        "  | " + " " * 61 + "^",
        "  |",
    ]
