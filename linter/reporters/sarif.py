"""``sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; ``tool.driver.rules`` lists the rules that have findings (sorted by code) with their
docs (``help.markdown`` is the rule's docs page); each result has ``ruleId``/``ruleIndex``, a
level (error, warning, note), the message (plus the help line), a relative artifact URI under
``%SRCROOT%``, a region (1-based, end column exclusive; ``columnKind`` says columns count code
points), related locations, fixes, and ``partialFingerprints.primaryLocationLineHash``
computed with GitHub's own algorithm (``line_hashes``), so GitHub does not recompute it and
alerts keep their identity when lines move.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from querylint.diagnostics import Severity
from querylint.reporters._escape import json_text
from querylint.reporters._shared import (
    INFORMATION_URI,
    Range,
    ci_path,
    rule_class,
    rule_url,
    span_range,
)

if TYPE_CHECKING:
    from querylint.diagnostics import Diagnostic
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext
    from querylint.source import SourceFile, Span

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(result: RunResult, ctx: ReportContext) -> str:
    from querylint import __version__

    codes = sorted({(d.code, d.name, d.severity) for d in result.diagnostics}, key=lambda t: t[0])
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for code, name, severity in codes:
        if code in index:
            continue
        index[code] = len(rules)
        rules.append(_rule(code, name, severity))

    hashes: dict[str, list[str]] = {}
    results = []
    for d in result.diagnostics:
        src = result.sources.get(d.span.path)
        if d.span.path not in hashes:
            hashes[d.span.path] = line_hashes(src.text) if src is not None else []
        results.append(_result(d, result, ctx, index[d.code], hashes[d.span.path]))

    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "querylint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json_text(json.dumps(log, indent=2, ensure_ascii=False)) + "\n"


def _rule(code: str, name: str, severity: Severity) -> dict[str, Any]:
    cls = rule_class(code)
    doc = cls.doc() if cls is not None else ""
    summary = cls.summary() if cls is not None else name
    full = _why(doc) or summary
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full},
        "helpUri": rule_url(name),
        "help": {"text": doc or summary, "markdown": doc or summary},
        "defaultConfiguration": {"level": LEVELS[cls.severity if cls is not None else severity]},
        "properties": {"tags": [name]},
    }


def _why(doc: str) -> str:
    """The ``## Why is this bad?`` paragraph(s) of a rule's docs, as one plain text."""
    lines = doc.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("## "):
            if inside:
                break
            inside = line.strip().lower() == "## why is this bad?"
            continue
        if inside:
            out.append(line)
    return "\n".join(out).strip()


def _result(d: Diagnostic, result: RunResult, ctx: ReportContext, rule_index: int, hashes: list[str]) -> dict[str, Any]:
    r = span_range(d.span, result.sources.get(d.span.path))
    text = d.message if not d.help else f"{d.message}\nhelp: {d.help}"
    res: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": LEVELS[d.severity],
        "message": {"text": text},
        "locations": [_location(d.span, r, ctx)],
    }
    if d.related:
        res["relatedLocations"] = [
            {**_location(rs.span, span_range(rs.span, result.sources.get(rs.span.path)), ctx), "id": i, "message": {"text": rs.label}}
            for i, rs in enumerate(d.related, start=1)
        ]
    if d.fix is not None and d.fix.edits:
        by_path: dict[str, list[dict[str, Any]]] = {}
        for e in d.fix.edits:
            src = result.sources.get(e.path)
            by_path.setdefault(e.path, []).append(
                {"deletedRegion": _exact_region(e.start, e.end, src), "insertedContent": {"text": e.replacement}}
            )
        res["fixes"] = [
            {
                "description": {"text": d.fix.title},
                "artifactChanges": [
                    {"artifactLocation": _artifact(p, ctx), "replacements": reps} for p, reps in by_path.items()
                ],
            }
        ]
    if 1 <= r.line <= len(hashes):
        res["partialFingerprints"] = {"primaryLocationLineHash": hashes[r.line - 1]}
    res["properties"] = {"name": d.name, "confidence": d.confidence.value}
    return res


def _artifact(path: str, ctx: ReportContext) -> dict[str, Any]:
    return {"uri": quote(ci_path(path, ctx.root, "GITHUB_WORKSPACE"), safe="/"), "uriBaseId": "%SRCROOT%"}


def _location(span: Span, r: Range, ctx: ReportContext) -> dict[str, Any]:
    region = {"startLine": r.line, "startColumn": r.col, "endLine": r.end_line, "endColumn": r.end_col}
    return {"physicalLocation": {"artifactLocation": _artifact(span.path, ctx), "region": region}}


def _exact_region(start: int, end: int, src: SourceFile | None) -> dict[str, int]:
    if src is None:
        return {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
    line, col = src.location(start)
    eline, ecol = src.location(end)
    return {"startLine": line, "startColumn": col, "endLine": eline, "endColumn": ecol}


# -- GitHub's primaryLocationLineHash --------------------------------------------------------
#
# github/codeql-action's ``fingerprints.ts`` hashes, for every line, the 100 UTF-16 code units
# that start at the line's first unit, after dropping spaces and tabs and reading CR, LF and
# CRLF as one LF; the input ends with a 65535 unit and zeros. The hash is base 37 with 64-bit
# wrap-around, printed as ``hex:n`` where n counts earlier lines with the same hash. It is
# computed there with a rolling window; here with prefix hashes, which give the same numbers
# (the tests check GitHub's own test vectors).

_BLOCK = 100
_MOD = 37
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(_MOD, _BLOCK, 1 << 64)
_EOF = 65535


def line_hashes(text: str) -> list[str]:
    """``primaryLocationLineHash`` for every line of ``text`` (index 0 is line 1)."""
    import sys
    from array import array
    from itertools import accumulate

    normal = text.replace("\r\n", "\n").replace("\r", "\n").replace(" ", "").replace("\t", "")
    units = array("H")  # UTF-16 code units, as JavaScript's charCodeAt reads them
    units.frombytes(normal.encode("utf-16-le", "surrogatepass"))
    if sys.byteorder == "big":  # pragma: no cover
        units.byteswap()
    n = len(units) + 1  # with the EOF unit
    starts = [0, *(i + 1 for i, u in enumerate(units) if u == 0x0A)]
    stream = [*units, _EOF, *([0] * _BLOCK)]
    prefix = list(accumulate(stream, lambda acc, u: (acc * _MOD + u) & _MASK, initial=0))
    counts: dict[str, int] = {}
    out = []
    for p in starts:
        if p >= n:
            break
        value = format((prefix[p + _BLOCK] - prefix[p] * _FIRST_MOD) & _MASK, "x")
        counts[value] = counts.get(value, 0) + 1
        out.append(f"{value}:{counts[value]}")
    return out
