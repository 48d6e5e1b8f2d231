"""Rule documentation pages, rendered from the rule classes themselves.

A page is the title ``# name (CODE)``, a metadata line (default on/off, fix availability,
severity), the options table, the rule's Markdown docstring, and its VALID / INVALID examples
as code blocks — the same examples the test suite runs. ``querylint rule NAME`` prints a page;
``python -m querylint.docs`` writes ``docs/rules/<name>.md`` for every rule and
``docs/rules/index.md`` (``--check`` only reports stale pages, exit 1).
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from querylint.rule import Example, FixAvailability, Rule

REGENERATE = "python -m querylint.docs"


def _lang(path: str) -> str:
    return "python" if path.endswith(".py") else "sql"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def _examples(rule: type[Rule], title: str, examples: Sequence[Example]) -> list[str]:
    if not examples:
        return []
    out = [f"## {title}", ""]
    for ex in examples:
        path = ex.path or rule.example_path
        note = []
        if ex.path:
            note.append(f"`{ex.path}`")
        if ex.line is not None and ex.message is not None:
            note.append(f"line {ex.line}: {ex.message}")
        if ex.options:
            note.append("options: " + ", ".join(f"`{k} = {_value(v)}`" for k, v in ex.options.items()))
        if note:
            out.append("- " + " — ".join(note))
            out.append("")
        for other, text in ex.files.items():
            out.extend([f"with `{other}`:", "", f"```{_lang(other)}", textwrap.dedent(text).strip("\n"), "```", ""])
        if ex.files:
            out.extend([f"`{path}`:", ""])
        out.extend([f"```{_lang(path)}", ex.text.rstrip("\n"), "```", ""])
    return out


def render_rule(rule: type[Rule]) -> str:
    on = "on by default" if rule.default_enabled else "off by default (enable with `extend-select`)"
    fix = {
        FixAvailability.NONE: "no fix",
        FixAvailability.SOMETIMES: "fix sometimes available",
        FixAvailability.ALWAYS: "fix always available",
    }[rule.fix_availability]
    lines = [f"# {rule.name} ({rule.code})", "", f"*{on} · {fix} · severity: {rule.severity.value}*", ""]
    if rule.options:
        lines += ["## Options", "", "| option | default |", "|---|---|"]
        lines += [f"| `{k}` | `{_value(v)}` |" for k, v in rule.options.items()]
        lines += ["", f"Set them under `[tool.querylint.rules.{rule.name}]`.", ""]
    lines += [rule.doc().strip(), ""]
    lines += _examples(rule, "Valid examples", rule.VALID)
    lines += _examples(rule, "Invalid examples", rule.INVALID)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_index(rules: Sequence[type[Rule]]) -> str:
    lines = [
        "# Rules",
        "",
        f"Generated from the rule classes by `{REGENERATE}`; do not edit by hand.",
        "",
        "| code | name | summary |",
        "|---|---|---|",
    ]
    for r in sorted(rules, key=lambda r: r.code):
        summary = r.summary().replace("|", "\\|")
        lines.append(f"| {r.code} | [{r.name}]({r.name}.md) | {summary} |")
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """File name -> content of every generated page."""
    from querylint.registry import all_rules

    rules = all_rules()
    out = {f"{r.name}.md": render_rule(r) for r in rules}
    out["index.md"] = render_index(rules)
    return out


def default_dir() -> Path:
    """``docs/rules`` of the source checkout (the package folder's parent), else of the cwd."""
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file() and (repo / "docs").is_dir():
        return repo / "docs" / "rules"
    return Path.cwd() / "docs" / "rules"


def stale(folder: Path | None = None) -> list[str]:
    """Pages that are missing, different, or left over from a removed rule."""
    folder = folder or default_dir()
    want = pages()
    out = []
    for name, text in want.items():
        p = folder / name
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            out.append(name)
    if folder.is_dir():
        out += sorted(p.name for p in folder.glob("*.md") if p.name not in want)
    return sorted(out)


def write(folder: Path | None = None) -> list[str]:
    """Write every page; remove pages of rules that no longer exist. Returns the changed names."""
    folder = folder or default_dir()
    folder.mkdir(parents=True, exist_ok=True)
    changed = stale(folder)
    want = pages()
    for name in changed:
        p = folder / name
        if name in want:
            with open(p, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(want[name])
        else:
            os.unlink(p)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m querylint.docs", description="regenerate docs/rules/*.md")
    ap.add_argument("--check", action="store_true", help="only report stale pages (exit 1 if any)")
    ap.add_argument("--dir", type=Path, help="output folder (default: docs/rules of the checkout)")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale(args.dir)
        for n in bad:
            print(f"stale: {n}", file=sys.stderr)
        return 1 if bad else 0
    changed = write(args.dir)
    print(f"{len(changed)} page(s) updated in {args.dir or default_dir()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
