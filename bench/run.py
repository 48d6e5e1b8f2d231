"""Benchmark harness: time ``querylint check`` on a corpus against a bare ``ast.parse`` pass.

Every measurement is a fresh subprocess (interpreter start-up included on both sides), run
``--runs`` times; the report gives medians and the ratio to the baseline measured in the same
run, so numbers from different machines compare by ratio, never by seconds. ``paired`` is the
median of each round's ratio to the baseline measured just before it in that round.

    python bench/run.py CORPUS_DIR [--runs 5] [--sqlfluff]

Measured:
  baseline   ast.parse of every .py file under CORPUS_DIR (one process, sequential)
  cold       querylint check . with an empty cache (CORPUS_DIR/.querylint_cache removed first)
  warm       querylint check . again with nothing changed (cache kept)
  files      querylint check on three files of the corpus (the pre-commit case), warm: the
             project's cache is filled, the three files were never checked on their own
  files-again  the same three files once more (the run cache answers)
  nocache    querylint check --no-cache . (no cache read or written)

querylint runs from inside CORPUS_DIR with --isolated (the corpus' own settings are not the
benchmark's), so the cache lives in CORPUS_DIR/.querylint_cache and is removed at the end.
  sqlfluff   sqlfluff lint --dialect postgres on the .sql files (only with --sqlfluff, if installed)
  pglast     pglast.parse_sql of every .sql file (one process): the floor for SQL-heavy corpora
             such as the generated bench/corpus/large-sql (bench/large_sql.py)
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import time

BASELINE = r"""
import ast, os, sys
n = 0
for dp, dn, fn in os.walk(sys.argv[1]):
    dn[:] = [d for d in dn if not d.startswith('.') and d not in ('node_modules', '__pycache__')]
    for f in fn:
        if f.endswith('.py'):
            try:
                with open(os.path.join(dp, f), 'rb') as fh:
                    ast.parse(fh.read())
                n += 1
            except (SyntaxError, ValueError):
                pass
print(n)
"""

PGLAST = r"""
import sys
from pglast import parse_sql
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", newline="") as fh:
        parse_sql(fh.read())
"""


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    dt = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # a failing command is fast: never report its time
        sys.stderr.write(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()[-2000:]}\n")
        raise SystemExit(2)
    return dt


def files_of(corpus: str, suffix: str) -> list[str]:
    out = []
    for dp, dn, fn in os.walk(corpus):
        dn[:] = [d for d in dn if not d.startswith(".") and d not in ("node_modules", "__pycache__")]
        out.extend(os.path.join(dp, f) for f in fn if f.endswith(suffix))
    return sorted(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sqlfluff", action="store_true")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    py = files_of(corpus, ".py")
    sql = files_of(corpus, ".sql")
    size = sum(os.path.getsize(f) for f in py + sql)
    print(f"corpus: {corpus}: {len(py)} .py, {len(sql)} .sql, {size / 1e6:.1f} MB; {args.runs} runs each; medians")

    cache_dir = os.path.join(corpus, ".querylint_cache")
    had_cache = os.path.exists(cache_dir)
    env = dict(os.environ, PRE_COMMIT="1")
    ql = [sys.executable, "-m", "querylint", "check", "--isolated", "--exit-zero", "-q", "--output-format", "concise"]
    results: dict[str, list[float]] = {"baseline": [], "cold": [], "warm": [], "files": [], "files-again": [], "nocache": []}
    three = [os.path.relpath(f, corpus) for f in py[: 3]]
    for _ in range(args.runs):
        results["baseline"].append(timed([sys.executable, "-c", BASELINE, corpus]))
        shutil.rmtree(cache_dir, ignore_errors=True)
        results["cold"].append(timed([*ql, "."], env=env, cwd=corpus))
        results["warm"].append(timed([*ql, "."], env=env, cwd=corpus))
        if three:
            # the pre-commit case: files never checked on their own before (the run entries
            # of earlier rounds are cleared; the per-file facts stay)
            for run_entries in glob.glob(os.path.join(cache_dir, "v*", "run")):
                shutil.rmtree(run_entries, ignore_errors=True)
            results["files"].append(timed([*ql, *three], env=env, cwd=corpus))
            results["files-again"].append(timed([*ql, *three], env=env, cwd=corpus))
        results["nocache"].append(timed([*ql, "--no-cache", "."], env=env, cwd=corpus))
    if sql:
        results["pglast"] = [timed([sys.executable, "-c", PGLAST, *sql]) for _ in range(args.runs)]
    if args.sqlfluff and sql and shutil.which("sqlfluff"):
        results["sqlfluff"] = [timed(["sqlfluff", "lint", "--dialect", "postgres", *sql]) for _ in range(args.runs)]
    if not had_cache:
        shutil.rmtree(cache_dir, ignore_errors=True)

    base = statistics.median(results["baseline"])
    # `paired`: the median of each round's ratio to the baseline measured just before it, which
    # cancels the machine's drift between rounds (on a shared machine it can be 20%)
    print(f"{'what':<12} {'median s':>9} {'ratio':>7} {'paired':>7}")
    for name, runs in results.items():
        if not runs:
            continue
        med = statistics.median(runs)
        paired = statistics.median(r / b for r, b in zip(runs, results["baseline"], strict=False))
        print(f"{name:<12} {med:9.3f} {med / base:7.2f}x {paired:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
