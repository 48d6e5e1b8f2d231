"""``gitlab``: GitLab Code Quality JSON (the ``codequality`` report artifact).

A list of ``{description, check_name, fingerprint, severity, location {path, lines {begin,
end}}}``. The fingerprint hashes the path, the rule code and the baseline fingerprint (the
whitespace-normalised text of the finding's first line and of the flagged code), plus a counter
for identical findings in one file, so GitLab keeps matching a finding between the base and
head pipelines when lines above it move. Paths are
relative to ``CI_PROJECT_DIR`` when it is set (the repository root in GitLab CI).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from querylint.baseline import fingerprint
from querylint.diagnostics import Severity
from querylint.reporters._escape import json_text
from querylint.reporters._shared import ci_path, diagnostic_range

if TYPE_CHECKING:
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def render(result: RunResult, ctx: ReportContext) -> str:
    seen: Counter[str] = Counter()
    items: list[dict[str, Any]] = []
    for d in result.diagnostics:
        r = diagnostic_range(result, d)
        path = ci_path(d.span.path, ctx.root, "CI_PROJECT_DIR")
        basis = "\0".join((path, d.code, fingerprint(d, result.sources.get(d.span.path))))
        seen[basis] += 1
        digest = hashlib.sha256(f"{basis}\0{seen[basis]}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        description = f"{d.code} [{d.name}] {d.message}"
        if d.help:
            description += f" (help: {d.help})"
        items.append(
            {
                "description": description,
                "check_name": d.name,
                "fingerprint": digest,
                "severity": SEVERITIES[d.severity],
                "location": {"path": path, "lines": {"begin": r.line, "end": r.end_line}},
            }
        )
    return json_text(json.dumps(items, indent=2, ensure_ascii=False)) + "\n"
