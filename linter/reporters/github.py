"""``github``: GitHub Actions workflow commands, so findings appear as annotations on the PR.

``::warning file=…,line=…,endLine=…,col=…,endColumn=…,title=…::message`` with the level from
the severity (error, warning, info -> notice) and the escaping of ``@actions/core``: ``%``,
CR and LF in the message; also ``:`` and ``,`` in properties. Columns are left out for spans
over several lines (GitHub ignores them there). GitHub shows at most 10 annotations of each
level per step: the findings past that are printed as plain ``path:line:col: CODE message``
lines after the annotations, and one ``::notice::`` (which takes one of the notice places) says
how many.

The plain lines carry the project's text outside any command, so they are escaped for a log
read line by line (:mod:`querylint.reporters._escape`: no raw line break, no ``##[``, no line
that starts with ``::``), and they are printed between ``::stop-commands::TOKEN`` and
``::TOKEN::``, so the runner reads no command in them even if one slipped through. The token is
a hash of the plain lines themselves: the output stays deterministic, and text in the block
cannot contain the token that ends it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import TYPE_CHECKING

from querylint.diagnostics import Severity
from querylint.reporters._escape import line_start, visible
from querylint.reporters._shared import ci_path, diagnostic_range

if TYPE_CHECKING:
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext

#: GitHub's cap: annotations of one level per step.
MAX_PER_LEVEL = 10
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _caps(levels: list[str]) -> dict[str, int]:
    counts = Counter(levels)
    caps = {lvl: MAX_PER_LEVEL for lvl in LEVELS.values()}
    if any(n > MAX_PER_LEVEL for n in counts.values()):
        caps["notice"] = MAX_PER_LEVEL - 1  # the summary notice takes one place
    return caps


def render(result: RunResult, ctx: ReportContext) -> str:
    levels = [LEVELS[d.severity] for d in result.diagnostics]
    caps = _caps(levels)
    used: Counter[str] = Counter()
    lines = []
    plain_lines: list[str] = []
    for d, level in zip(result.diagnostics, levels, strict=True):
        r = diagnostic_range(result, d)
        path = ci_path(d.span.path, ctx.root, "GITHUB_WORKSPACE")
        if used[level] >= caps[level]:
            plain_lines.append(f"{line_start(path)}:{r.line}:{r.col}: {d.code} {visible(d.message)}")
            continue
        used[level] += 1
        props = [("file", path), ("line", str(r.line)), ("endLine", str(r.end_line))]
        if not r.multiline:
            props += [("col", str(r.col)), ("endColumn", str(r.end_col))]
        props.append(("title", f"{d.code} {d.name}"))
        message = f"{d.code} [{d.name}] {d.message}"
        if d.help:
            message += f"\nhelp: {d.help}"
        prop_text = ",".join(f"{k}={escape_property(v)}" for k, v in props)
        lines.append(f"::{level} {prop_text}::{escape_data(message)}")
    plain = len(plain_lines)
    if plain:
        token = "querylint-" + hashlib.sha256("\n".join(plain_lines).encode("utf-8", "surrogatepass")).hexdigest()[:32]
        lines.append(f"::stop-commands::{token}")
        lines.extend(plain_lines)
        lines.append(f"::{token}::")
        noun = "finding was" if plain == 1 else "findings were"
        lines.append(
            "::notice::"
            + escape_data(
                f"querylint: {plain} {noun} not annotated (GitHub shows at most {MAX_PER_LEVEL} "
                "annotations of each level per step); see the plain lines in this log"
            )
        )
    return "\n".join(lines) + ("\n" if lines else "")
