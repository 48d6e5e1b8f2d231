"""Recall on real N+1 fixes: is the parent of each fix flagged, and is the fix quiet?

Each case in ``bench/recall/cases.toml`` is a reference to a public commit that fixed a
per-row query (repository, fix and parent sha, the file and lines of the loop and of the
per-row query in the PARENT, a kind and one line of description). No third-party code is
kept in this repository: the trees come from local bare mirrors of the projects.

    python bench/recall/run.py --mirrors /work/.mirror [--only ID ...] [--fresh]

For each case both trees (parent and fix) are exported from the mirror (only the
Python, SQL, template and configuration files, paths kept) into
``bench/corpus/recall/<owner+name>/<sha>/`` (gitignored, reused by later runs), and
querylint runs on the whole exported project (so that its models are known)::

    python -m querylint check --no-cache --isolated --exit-zero --output-format json \
        --select QL2 .

(``--isolated``: the project's own configuration is not the benchmark's). The findings of a
tree are cached next to it, keyed by a hash of querylint's sources (``linter/``,
``rules/``), so a rerun checks again only what querylint's changes can have changed.

parent flagged
    a QL2xx finding in the recorded file whose span covers the recorded loop line or one
    of the recorded query lines.
fix quiet
    no QL2xx finding on the lines of the fix that correspond to those lines: each parent
    line is mapped through ``git diff -U0 PARENT FIX -- PATH`` (an unchanged line maps to
    its new number, a changed one to the lines that replaced it, a deleted one to nothing);
    ``fix_lines`` in a case overrides the mapping for one file.

The report is a Markdown table on stdout and in ``bench/results/recall.md``, and the full
data in ``bench/results/recall.json`` (gitignored).

Mirrors: ``--mirrors DIR`` holds one git directory per project, found as
``DIR/owner+name/repo``, ``DIR/owner+name``, ``DIR/owner+name.git`` or ``DIR/owner/name(.git)``.
Make one with ``git clone --mirror https://github.com/owner/name DIR/owner+name.git`` (the
agent tooling's ``fetch github:owner/name`` leaves it at ``/work/.mirror/owner+name/repo``).
A case whose mirror or commit is missing is reported as ``skipped`` with the reason.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
CORPUS = REPO_ROOT / "bench" / "corpus" / "recall"
RESULTS = REPO_ROOT / "bench" / "results"

# What querylint can read in a project: code, SQL, templates, configuration. Nothing else
# is exported (images, fixtures, vendored JS make the trees large for no use).
EXPORT_SUFFIXES = (
    ".py",
    ".pyi",
    ".sql",
    ".html",
    ".jinja",
    ".jinja2",
    ".j2",
    ".txt",
    ".ini",
    ".cfg",
    ".toml",
)


def wanted(name: str) -> bool:
    return name.endswith(EXPORT_SUFFIXES)


SHAPES = ("python-loop", "comprehension", "template", "serializer", "admin", "cross-function")
KINDS = ("django", "sqlalchemy")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Spot:
    path: str
    line: int


@dataclass
class Case:
    id: str
    repo: str
    fix: str
    parent: str
    kind: str
    shape: str
    same_function: bool
    description: str
    loop: Spot
    queries: list[Spot]
    fix_lines: dict[str, list[int]] = field(default_factory=dict)

    def spots(self) -> list[Spot]:
        return [self.loop, *self.queries]


class CaseError(Exception):
    pass


def load_cases(path: Path) -> list[Case]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    cases: list[Case] = []
    seen: set[str] = set()
    for raw in data.get("case", []):
        try:
            case = parse_case(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise CaseError(f"{path}: case {raw.get('id', '?')!r}: {exc}") from None
        if case.id in seen:
            raise CaseError(f"{path}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def parse_spot(raw: dict[str, Any]) -> Spot:
    line = raw["line"]
    if not isinstance(line, int) or line < 1:
        raise ValueError(f"bad line {line!r}")
    return Spot(str(raw["path"]), line)


def parse_case(raw: dict[str, Any]) -> Case:
    for key in ("fix", "parent"):
        if not HEX40.match(raw[key]):
            raise ValueError(f"{key} is not a full 40-hex sha: {raw[key]!r}")
    if raw["kind"] not in KINDS:
        raise ValueError(f"kind {raw['kind']!r} is not one of {KINDS}")
    if raw["shape"] not in SHAPES:
        raise ValueError(f"shape {raw['shape']!r} is not one of {SHAPES}")
    queries = [parse_spot(q) for q in raw["queries"]]
    if not queries:
        raise ValueError("no query line")
    fix_lines = {str(k): [int(n) for n in v] for k, v in raw.get("fix_lines", {}).items()}
    return Case(
        id=str(raw["id"]),
        repo=str(raw["repo"]),
        fix=raw["fix"],
        parent=raw["parent"],
        kind=raw["kind"],
        shape=raw["shape"],
        same_function=bool(raw["same_function"]),
        description=str(raw["description"]),
        loop=parse_spot(raw["loop"]),
        queries=queries,
        fix_lines=fix_lines,
    )


def git(gitdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "--git-dir", str(gitdir), "-c", "core.quotePath=false", *args],
        capture_output=True,
        check=check,
    )


def find_mirror(mirrors: Path, repo: str) -> Path | None:
    owner, _, name = repo.partition("/")
    flat = f"{owner}+{name}"
    for cand in (
        mirrors / flat / "repo",
        mirrors / flat,
        mirrors / f"{flat}.git",
        mirrors / owner / name,
        mirrors / owner / f"{name}.git",
    ):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    return None


def has_commit(gitdir: Path, sha: str) -> bool:
    return git(gitdir, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def export_tree(gitdir: Path, repo: str, sha: str) -> Path:
    """The project's tree at ``sha`` under the corpus (only the files querylint can read,
    paths kept); exported once, then reused."""
    dest = CORPUS / repo.replace("/", "+") / sha
    if (dest / ".exported").is_file():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    # Not `git archive`: a snapshot mirror may lack the blobs of large files (videos,
    # images), and git archive stops at the first one. Only the wanted blobs are read.
    listing = git(gitdir, "ls-tree", "-r", "-z", "--full-tree", sha, check=False)
    if listing.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise RuntimeError(
            f"git ls-tree {sha} failed: {listing.stderr.decode(errors='replace').strip()}"
        )
    blobs: list[tuple[str, str]] = []
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        path = raw_path.decode("utf-8", errors="surrogateescape")
        parts = path.split("/")
        # regular files only (no symlink, no submodule), and never a path out of the tree
        if kind != "blob" or mode not in ("100644", "100755") or not wanted(path):
            continue
        if path.startswith("/") or ".." in parts or ".git" in parts:
            continue
        blobs.append((oid, path))
    missing = write_blobs(gitdir, blobs, dest)
    if missing:
        (dest / ".missing").write_text("\n".join(missing) + "\n")
    # The corpus lies inside this repository, whose .gitignore ignores it: an empty .git
    # makes the exported tree its own work tree top, as in a checkout of the project.
    (dest / ".git").mkdir(exist_ok=True)
    (dest / ".exported").write_text(sha + "\n")
    return dest


def write_blobs(gitdir: Path, blobs: list[tuple[str, str]], dest: Path) -> list[str]:
    """Write each (oid, path) under ``dest`` with one ``git cat-file --batch``; the paths whose
    blob the mirror lacks are returned."""
    proc = subprocess.Popen(
        ["git", "--git-dir", str(gitdir), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    missing: list[str] = []
    try:
        for oid, path in blobs:
            proc.stdin.write(oid.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                missing.append(path)
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the content
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    finally:
        proc.stdin.close()
        proc.wait()
    return missing


def querylint_fingerprint() -> str:
    """A hash of querylint's sources: cached findings are reused only by the same querylint."""
    h = hashlib.sha256()
    for top in ("linter", "rules"):
        for p in sorted((REPO_ROOT / top).rglob("*.py")):
            h.update(str(p.relative_to(REPO_ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def run_querylint(tree: Path, python: str, fingerprint: str, fresh: bool) -> list[dict[str, Any]]:
    cache = tree.parent / f"{tree.name}.ql2.{fingerprint}.json"
    if cache.is_file() and not fresh:
        return list(json.loads(cache.read_text()))
    out = tree.parent / f"{tree.name}.out.json"
    proc = subprocess.run(
        [
            python,
            "-m",
            "querylint",
            "check",
            "--no-cache",
            "--isolated",
            "--exit-zero",
            "--output-format",
            "json",
            "--select",
            "QL2",
            "-q",
            "-o",
            str(out),
            ".",
        ],
        cwd=tree,
        capture_output=True,
    )
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(
            f"querylint failed ({proc.returncode}) on {tree}: {proc.stderr.decode(errors='replace')[-1500:]}"
        )
    findings = []
    for f in json.loads(out.read_text()):
        name = (
            os.path.relpath(f["filename"], tree) if os.path.isabs(f["filename"]) else f["filename"]
        )
        findings.append(
            {
                "code": f["code"],
                "path": Path(name).as_posix(),
                "row": f["location"]["row"],
                "end_row": (f.get("end_location") or f["location"])["row"],
                "message": f["message"],
            }
        )
    out.unlink()
    for old in tree.parent.glob(f"{tree.name}.ql2.*.json"):
        old.unlink()
    cache.write_text(json.dumps(findings))
    return findings


def map_lines(gitdir: Path, parent: str, fix: str, path: str, lines: list[int]) -> list[int]:
    """The fix's lines that correspond to ``lines`` of the parent (through ``git diff -U0``)."""
    proc = git(
        gitdir,
        "diff",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        parent,
        fix,
        "--",
        path,
    )
    hunks = []
    for text in proc.stdout.decode(errors="replace").splitlines():
        m = HUNK.match(text)
        if m:
            a, b, c, d = m.group(1), m.group(2), m.group(3), m.group(4)
            hunks.append((int(a), 1 if b is None else int(b), int(c), 1 if d is None else int(d)))
    if git(gitdir, "cat-file", "-e", f"{fix}:{path}", check=False).returncode != 0:
        return []  # the file is gone in the fix
    mapped: set[int] = set()
    for line in lines:
        offset = 0
        hit = False
        for a, b, c, d in hunks:
            if b > 0 and a <= line < a + b:
                mapped.update(range(c, c + d))  # changed: the lines that replaced it
                hit = True
                break
            # a pure insertion (b == 0) sits after old line a; a change ends at a + b - 1
            end = a if b == 0 else a + b - 1
            if end < line:
                offset += d - b
            else:
                break
        if not hit:
            mapped.add(line + offset)
    return sorted(mapped)


def hits(findings: list[dict[str, Any]], path: str, lines: list[int]) -> list[dict[str, Any]]:
    want = set(lines)
    return [
        f
        for f in findings
        if f["path"] == path
        and f["code"].startswith("QL2")
        and want & set(range(f["row"], f["end_row"] + 1))
    ]


def by_path(spots: list[Spot]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for s in spots:
        out.setdefault(s.path, []).append(s.line)
    return out


def evaluate(
    case: Case, mirrors: Path, python: str, fingerprint: str, fresh: bool
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": case.id,
        "repo": case.repo,
        "fix": case.fix,
        "parent": case.parent,
        "kind": case.kind,
        "shape": case.shape,
        "same_function": case.same_function,
        "description": case.description,
        "loop": f"{case.loop.path}:{case.loop.line}",
        "queries": [f"{q.path}:{q.line}" for q in case.queries],
    }
    gitdir = find_mirror(mirrors, case.repo)
    if gitdir is None:
        return {**row, "status": "skipped", "reason": f"no mirror of {case.repo} under {mirrors}"}
    for sha in (case.parent, case.fix):
        if not has_commit(gitdir, sha):
            return {**row, "status": "skipped", "reason": f"commit {sha} not in the mirror"}
    try:
        parent_tree = export_tree(gitdir, case.repo, case.parent)
        fix_tree = export_tree(gitdir, case.repo, case.fix)
        parent_findings = run_querylint(parent_tree, python, fingerprint, fresh)
        fix_findings = run_querylint(fix_tree, python, fingerprint, fresh)
    except RuntimeError as exc:
        return {**row, "status": "error", "reason": str(exc)}
    flagged_by: list[dict[str, Any]] = []
    quiet_breakers: list[dict[str, Any]] = []
    fix_map: dict[str, list[int]] = {}
    for path, lines in by_path(case.spots()).items():
        flagged_by += hits(parent_findings, path, lines)
        mapped = case.fix_lines.get(path)
        if mapped is None:
            mapped = map_lines(gitdir, case.parent, case.fix, path, lines)
        fix_map[path] = mapped
        quiet_breakers += hits(fix_findings, path, mapped)
    for path, lines in case.fix_lines.items():
        if path not in fix_map:
            fix_map[path] = lines
            quiet_breakers += hits(fix_findings, path, lines)
    return {
        **row,
        "status": "ok",
        "parent_flagged": bool(flagged_by),
        "fix_quiet": not quiet_breakers,
        "parent_findings": flagged_by,
        "fix_lines": fix_map,
        "fix_findings": quiet_breakers,
    }


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "0/0"


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r["status"] == "ok"]
    same = [r for r in ok if r["same_function"]]
    return {
        "cases": len(rows),
        "evaluated": len(ok),
        "parents_flagged": sum(r["parent_flagged"] for r in ok),
        "same_function": len(same),
        "same_function_flagged": sum(r["parent_flagged"] for r in same),
        "fixes_quiet": sum(r["fix_quiet"] for r in ok),
    }


def markdown(rows: list[dict[str, Any]], tot: dict[str, Any]) -> str:
    out = [
        "| case | repo | fix | kind | shape | same fn | parent flagged | fix quiet |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["status"] != "ok":
            verdict = f"{r['status']}: {r['reason'][:80]}"
            out.append(
                f"| {r['id']} | {r['repo']} | {r['fix'][:10]} | {r['kind']} | {r['shape']} | "
                f"{'yes' if r['same_function'] else 'no'} | {verdict} | |"
            )
            continue
        codes = sorted({f"{f['code']}@{f['row']}" for f in r["parent_findings"]})
        flagged = ("yes (" + ", ".join(codes) + ")") if r["parent_flagged"] else "no"
        breakers = sorted({f"{f['code']}@{f['row']}" for f in r["fix_findings"]})
        quiet = "yes" if r["fix_quiet"] else "no (" + ", ".join(breakers) + ")"
        out.append(
            f"| {r['id']} | {r['repo']} | {r['fix'][:10]} | {r['kind']} | {r['shape']} | "
            f"{'yes' if r['same_function'] else 'no'} | {flagged} | {quiet} |"
        )
    n = tot["evaluated"]
    out += [
        "",
        f"- parents flagged: {pct(tot['parents_flagged'], n)}",
        f"- same-function parents flagged: {pct(tot['same_function_flagged'], tot['same_function'])}",
        f"- fixes quiet: {pct(tot['fixes_quiet'], n)}",
        f"- evaluated: {n} of {tot['cases']} cases",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--mirrors", type=Path, default=Path("/work/.mirror"), help="directory of bare git mirrors"
    )
    ap.add_argument("--cases", type=Path, default=HERE / "cases.toml")
    ap.add_argument("--only", nargs="*", default=None, help="case ids to run")
    ap.add_argument(
        "--python", default=sys.executable, help="the Python that has querylint installed"
    )
    ap.add_argument("--fresh", action="store_true", help="ignore cached findings")
    ap.add_argument(
        "--check-cases", action="store_true", help="only validate cases.toml against the mirrors"
    )
    args = ap.parse_args(argv)
    try:
        cases = load_cases(args.cases)
    except (CaseError, tomllib.TOMLDecodeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        unknown = set(args.only) - {c.id for c in cases}
        if unknown:
            print(f"error: unknown case id(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.id in args.only]
    if args.check_cases:
        return check_cases(cases, args.mirrors)
    fingerprint = querylint_fingerprint()
    rows = []
    for i, case in enumerate(cases, 1):
        print(f"[{i}/{len(cases)}] {case.id}", file=sys.stderr, flush=True)
        rows.append(evaluate(case, args.mirrors, args.python, fingerprint, args.fresh))
    tot = totals(rows)
    md = markdown(rows, tot)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "recall.md").write_text(md)
    (RESULTS / "recall.json").write_text(
        json.dumps({"querylint": fingerprint, "totals": tot, "cases": rows}, indent=2) + "\n"
    )
    sys.stdout.write(md)
    return 0


def check_cases(cases: list[Case], mirrors: Path) -> int:
    """Every case's shas exist, the parent is the fix's parent, and its lines exist in the parent."""
    bad = 0
    for case in cases:
        gitdir = find_mirror(mirrors, case.repo)
        problems = []
        if gitdir is None:
            problems.append("no mirror")
        else:
            parents = (
                git(gitdir, "rev-list", "--parents", "-n1", case.fix, check=False)
                .stdout.decode()
                .split()
            )
            if case.parent not in parents[1:]:
                problems.append(f"{case.parent[:10]} is not a parent of {case.fix[:10]}")
            for path, lines in by_path(case.spots()).items():
                blob = git(gitdir, "show", f"{case.parent}:{path}", check=False)
                if blob.returncode != 0:
                    problems.append(f"{path} not in the parent")
                    continue
                count = len(blob.stdout.splitlines())
                problems += [f"{path}:{n} past the end ({count} lines)" for n in lines if n > count]
        for p in problems:
            print(f"{case.id}: {p}")
        bad += bool(problems)
    print(f"{len(cases) - bad} of {len(cases)} cases check out")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
