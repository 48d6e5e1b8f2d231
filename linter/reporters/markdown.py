"""``markdown``: a compact summary for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

A heading with the totals, a table of findings by rule (code, name linked to its docs, count)
and the list of findings (``path:line`` — linked to the file on GitHub when the
``GITHUB_SERVER_URL`` / ``GITHUB_REPOSITORY`` / ``GITHUB_SHA`` of a workflow run are set), at
most ``MAX_LISTED`` of them. Text outside code spans is escaped so a message cannot open HTML
or break a table. A path is the project's text too: it is shown in a code span fenced with more
backticks than it holds (so a backtick in a file name cannot close it), on one line (control
characters escaped), and linked percent-encoded.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import TYPE_CHECKING

from querylint.reporters._escape import visible
from querylint.reporters._shared import ci_path, diagnostic_range, display_path, rule_url

if TYPE_CHECKING:
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext

MAX_LISTED = 100


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def escape(text: str) -> str:
    """One line of Markdown: code spans kept, ``< > | [ ] * _ \\`` escaped elsewhere."""
    text = " ".join(text.split())
    parts = text.split("`")
    unpaired = len(parts) % 2 == 0  # an odd number of backticks: all of it is text
    if unpaired:
        parts = [text]
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"`{visible(part)}`")  # no escape works inside a code span: ``##[`` shown as ``#\\x23[``
            continue
        for ch in "\\*_[]|":
            part = part.replace(ch, "\\" + ch)
        part = part.replace("<", "&lt;").replace(">", "&gt;")
        out.append(part.replace("`", "\\`") if unpaired else part)
    return "".join(out)


def code_span(text: str) -> str:
    """``text`` as one inline code span: the fence is longer than any backtick run inside it."""
    text = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(path: str, line: int, ctx: ReportContext) -> str:
    label = code_span(f"{path}:{line}")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    repo, sha = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_SHA")
    if not (repo and sha):
        return label
    repo_path = ci_path(path, ctx.root, "GITHUB_WORKSPACE")
    from urllib.parse import quote

    return f"[{label}]({server}/{repo}/blob/{sha}/{quote(repo_path, safe='/')}#L{line})"


def render(result: RunResult, ctx: ReportContext) -> str:
    diags = result.diagnostics
    files = len(result.checked)
    if not diags:
        return f"### querylint: no findings\n\n{_plural(files, 'file')} checked.\n"
    by_rule = Counter((d.code, d.name) for d in diags)
    in_files = len({d.span.path for d in diags})
    lines = [
        f"### querylint: {_plural(len(diags), 'finding')} in {_plural(in_files, 'file')}",
        "",
        f"{_plural(files, 'file')} checked.",
        "",
        "| Code | Rule | Count |",
        "| --- | --- | ---: |",
    ]
    for (code, name), n in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0][0])):
        lines.append(f"| {code} | [{name}]({rule_url(name)}) | {n} |")
    lines += ["", "#### Findings", ""]
    for d in diags[:MAX_LISTED]:
        r = diagnostic_range(result, d)
        lines.append(f"- {_link(display_path(d.span.path), r.line, ctx)} {d.code} {escape(d.message)}")
    if len(diags) > MAX_LISTED:
        lines.append(f"- … and {_plural(len(diags) - MAX_LISTED, 'more finding')}")
    return "\n".join(lines) + "\n"
