"""Fuzz harness: mutated Python and SQL through the engine, every rule on, and the fix loop.

The corpus is the fixture projects (fixtures/*) and every rule's VALID / INVALID examples.
Each input takes one seed file, mutates it (lines deleted, duplicated, swapped or spliced in
from another file; NUL bytes, a BOM, CR-only or mixed line endings, invalid UTF-8, deep
nesting, huge lines, truncation, byte flips; in Python one expression swapped for another, the
file unparsed: valid code of unexpected shapes) and writes it, as bytes, into a copy of its
project in a temporary folder. Most inputs are single-file projects (the file alone, with the
project's configuration and, for an example, its extra files); a fraction (``--whole``) are
the whole fixture project with one file mutated, so that models, views and migrations are
linked together. The cache is off and the run stays in this process (``engine.jobs = 1``).

For every input it runs ``fix.fix_paths(..., unsafe=True, write=False)`` with ALL rules
selected (the fix loop's first run is the check) and records:

- an exception escaping the engine or the fix loop (with the input saved to ``--out``),
- a QL000 (internal error) in the findings of any run of the loop,
- a fixed file that no longer parses (``ast.parse`` / ``pglast.parse_sql``) though the
  original did,
- (size, seconds): inputs slower than ``a + b * size``, with ``a`` and ``b`` fitted on the
  run, are reported at the end (investigate them with ``--replay FILE --profile``).

Usage (from the repository root, with the venv active)::

    python bench/fuzz.py --seed 1 --count 100000 --minutes 70 --out /tmp/fuzz-long

The counts go to ``OUT/summary.json`` (updated as the run goes) and the failing inputs to
``OUT/failures/``. ``tests/test_fuzz.py`` runs a short seeded slice of the same harness.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import gc
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "fixtures")
SKIP_DIRS = {".querylint_cache", "__pycache__", ".git", ".hypothesis"}
FUZZED = (".py", ".sql")


# -- the corpus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """One project and the file of it that gets mutated."""

    name: str  # fixture name or rule-example id
    files: Mapping[str, bytes]  # relative path -> bytes (the whole project)
    target: str  # the relative path that gets mutated
    config: Mapping[str, Any] = field(default_factory=dict)  # Config overrides (examples)
    whole: bool = True  # a fixture project (False: an example, always whole)

    @property
    def language(self) -> str:
        return "sql" if self.target.endswith(".sql") else "python"


def _read_tree(root: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, root)] = fh.read()
    return out


def fixture_seeds() -> list[Seed]:
    seeds = []
    for name in sorted(os.listdir(FIXTURES)):
        root = os.path.join(FIXTURES, name)
        if not os.path.isdir(root):
            continue
        files = _read_tree(root)
        for rel in files:
            if rel.endswith(FUZZED):
                seeds.append(Seed(name, files, rel))
    return seeds


def example_seeds() -> list[Seed]:
    from querylint.registry import all_rules

    seeds = []
    for rule in all_rules():
        for kind in ("VALID", "INVALID"):
            for i, ex in enumerate(getattr(rule, kind)):
                path = ex.path or rule.example_path
                files = {path: ex.text.encode("utf-8"), **{k: v.encode("utf-8") for k, v in ex.files.items()}}
                config = dict(ex.config)
                if ex.options:
                    config["rule_options"] = {rule.name: dict(ex.options)}
                seeds.append(Seed(f"{rule.name}-{kind}-{i}", files, path, config, whole=False))
    return seeds


def corpus() -> list[Seed]:
    return fixture_seeds() + example_seeds()


# -- the mutations -------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def m_delete(rng: random.Random, data: bytes, other: bytes) -> bytes:
    ls = _lines(data)
    i = rng.randrange(len(ls))
    del ls[i : i + rng.choice((1, 1, 2, 5))]
    return b"".join(ls)


def m_duplicate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    ls = _lines(data)
    i = rng.randrange(len(ls))
    j = min(len(ls), i + rng.choice((1, 1, 3)))
    ls[j:j] = ls[i:j] * rng.choice((1, 1, 2, 10))
    return b"".join(ls)


def m_swap(rng: random.Random, data: bytes, other: bytes) -> bytes:
    ls = _lines(data)
    i, j = rng.randrange(len(ls)), rng.randrange(len(ls))
    ls[i], ls[j] = ls[j], ls[i]
    return b"".join(ls)


def m_splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    ls, os_ = _lines(data), _lines(other)
    i, j = rng.randrange(len(ls) + 1), rng.randrange(len(os_))
    ls[i:i] = os_[j : j + rng.choice((1, 2, 4, 8))]
    return b"".join(ls)


def _insert(rng: random.Random, data: bytes, what: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + what + data[i:]


def m_nul(rng: random.Random, data: bytes, other: bytes) -> bytes:
    return _insert(rng, data, b"\x00" * rng.choice((1, 1, 3)))


def m_bom(rng: random.Random, data: bytes, other: bytes) -> bytes:
    # mostly at the start (the BOM an editor writes), sometimes in the middle
    return b"\xef\xbb\xbf" + data if rng.random() < 0.7 else _insert(rng, data, b"\xef\xbb\xbf")


def m_cr_only(rng: random.Random, data: bytes, other: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def m_mixed_endings(rng: random.Random, data: bytes, other: bytes) -> bytes:
    ls = _lines(data.replace(b"\r\n", b"\n"))
    return b"".join(line[:-1] + rng.choice((b"\n", b"\r", b"\r\n")) if line.endswith(b"\n") else line for line in ls)


def m_invalid_utf8(rng: random.Random, data: bytes, other: bytes) -> bytes:
    return _insert(rng, data, rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80", b"\xf4\x90\x80\x80")))


#: the depths of the nestings (the suite's short run leaves out the deepest)
DEPTHS = (10, 50, 100, 200, 500, 1000, 3000)


PY_NESTINGS: tuple[Callable[[int], str], ...] = (
    lambda n: "x = " + "(" * n + "1" + ")" * n + "\n",
    lambda n: "x = " + "[" * n + "]" * n + "\n",
    lambda n: "x = " + "f(" * n + ")" * n + "\n",
    lambda n: "x = Model.objects" + ".filter(a=1)" * n + "\n",
    lambda n: "x = " + "a." * n + "b\n",
    lambda n: "x = a" + "[0]" * n + "\n",
    lambda n: "x = f" + "()" * n + "\n",
    lambda n: "x = " + "-" * n + "1\n",
    lambda n: "x = " + "not " * n + "y\n",
    lambda n: "x = 1" + " + 1" * n + "\n",
    lambda n: "x = 'a'" + " 'b'" * n + "\n",
    lambda n: "x = 'a'" + " % y" * n + "\n",
    lambda n: "".join(" " * i + f"for i{i} in x:\n" for i in range(min(n, 100))) + " " * min(n, 100) + "Order.objects.get(id=1)\n",
    lambda n: "".join(" " * i + "if x:\n" for i in range(min(n, 100))) + " " * min(n, 100) + "pass\n",
    lambda n: "".join(" " * i + f"def f{i}():\n" for i in range(min(n, 100))) + " " * min(n, 100) + "return 1\n",
    lambda n: "cursor.execute('SELECT * FROM t' " + "'" + " WHERE id IN (SELECT id FROM t" * n + ")" * n + "')\n",
)

SQL_NESTINGS: tuple[Callable[[int], str], ...] = (
    lambda n: "SELECT * FROM " + "(SELECT * FROM " * n + "t" + ") s" * n + ";\n",
    lambda n: "SELECT " + "(" * n + "1" + ")" * n + ";\n",
    lambda n: "SELECT * FROM t WHERE id IN " + "(SELECT id FROM t WHERE id IN " * n + "(1)" + ")" * n + ";\n",
    lambda n: "SELECT * FROM t WHERE " + " AND ".join(f"a{i} = {i}" for i in range(n)) + ";\n",
    lambda n: "SELECT 1" + " + 1" * n + ";\n",
    lambda n: "SELECT * FROM t" + "".join(f" JOIN u{i} ON u{i}.id = t.id" for i in range(min(n, 300))) + ";\n",
    lambda n: "CREATE TABLE t (" + ", ".join(f"c{i} int" for i in range(n)) + ");\n",
    lambda n: "SELECT " + "lower(" * n + "x" + ")" * n + " FROM t;\n",
)


def _indent_at(data: bytes, i: int) -> bytes:
    start = data.rfind(b"\n", 0, i) + 1
    line = data[start:]
    return line[: len(line) - len(line.lstrip(b" \t"))]


def m_nesting(rng: random.Random, data: bytes, other: bytes, *, sql: bool = False, depths: tuple[int, ...] = DEPTHS) -> bytes:
    n = rng.choice(depths)
    text = rng.choice(SQL_NESTINGS if sql else PY_NESTINGS)(n).encode()
    ls = _lines(data)
    i = rng.randrange(len(ls) + 1)
    if not sql and i < len(ls):  # at the indentation of the line it goes before
        ind = ls[i][: len(ls[i]) - len(ls[i].lstrip(b" \t"))]
        text = b"".join(ind + t for t in text.splitlines(keepends=True))
    ls[i:i] = [text]
    return b"".join(ls)


#: the lengths of the huge lines (the suite's short run leaves out the longest)
HUGE_SIZES = (1000, 10000, 100000)


def m_huge_line(rng: random.Random, data: bytes, other: bytes, *, sizes: tuple[int, ...] = HUGE_SIZES) -> bytes:
    ls = _lines(data)
    i = rng.randrange(len(ls))
    n = rng.choice(sizes)
    line = ls[i].rstrip(b"\r\n")
    if line and rng.random() < 0.5:  # the line itself, made long
        ls[i] = line + (b" " if rng.random() < 0.5 else b"") + (b"x" * n) + b"\n"
    else:
        piece = rng.choice((b"a, ", b"'x' ", b"1 + ", b"# ", b"-- ", b"    "))
        ls[i:i] = [piece * (n // len(piece)) + b"\n"]
    return b"".join(ls)


def m_truncate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def m_flip(rng: random.Random, data: bytes, other: bytes) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 8))):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256) if rng.random() < 0.5 else b[i] ^ (1 << rng.randrange(8))
    return bytes(b)


def m_chars(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """Characters that matter to tokenizers and to the line/column maps."""
    return _insert(rng, data, rng.choice((
        b"'", b'"', b'"""', b"(", b")", b"\\", b"#", b"--", b"/*", b"*/", b"$$", b"\t", b"\x0c",
        b"\xe2\x80\xa8", b"\xc2\x85", b"\xf0\x9f\x98\x80", b"\xe2\x80\xae", b"%s", b"{", b":x", b";",
        b"# querylint: ignore", b"# noqa", b"-- querylint: ignore[", b"# querylint: ignore[QL", b"\x1b[31m",
    )))


#: expressions put in place of one of the file's own (the analysers' assumptions about shapes)
ODD_EXPRESSIONS = (
    "None", "1", "'x'", "b'x'", "f'{x}'", "x", "x.y", "x[0]", "x()", "x(*a, **k)", "[]", "{}", "()",
    "lambda: 0", "(yield)", "await x", "x if y else z", "...", "not x", "-x", "x == y", "[i for i in x]",
    "models.ForeignKey", "Order.objects", "Order.objects.all()", "select(Order)", "session.query(Order)",
    "op.create_index", "migrations.RunSQL('SELECT 1')", "cursor.execute", "'SELECT * FROM t'",
)


def m_ast_swap(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """Python only: one expression replaced by another (from the file, another file or an odd
    one), the file unparsed: valid Python of shapes the analysers may not expect."""
    try:
        tree = ast.parse(data)
        donors = [n for n in ast.walk(ast.parse(other)) if isinstance(n, ast.expr)] if rng.random() < 0.3 else []
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return m_delete(rng, data, other)
    spots = [(parent, name, i) for parent in ast.walk(tree) for name, value in ast.iter_fields(parent)
             for i, child in (enumerate(value) if isinstance(value, list) else [(None, value)])
             if isinstance(child, ast.expr) and not isinstance(parent, ast.expr_context)]
    if not spots:
        return data
    parent, name, i = rng.choice(spots)
    own = [n for n in ast.walk(tree) if isinstance(n, ast.expr)]
    pick = rng.random()
    if donors and pick < 0.3:
        new: ast.AST = rng.choice(donors)
    elif pick < 0.6:
        new = rng.choice(own)
    else:
        new = ast.parse(rng.choice(ODD_EXPRESSIONS), mode="eval").body
    if i is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[i] = new
    try:
        return ast.unparse(ast.fix_missing_locations(tree)).encode() + b"\n"
    except (RecursionError, ValueError, AttributeError, TypeError):
        return data


MUTATIONS: dict[str, Callable[..., bytes]] = {
    "delete": m_delete,
    "duplicate": m_duplicate,
    "swap": m_swap,
    "splice": m_splice,
    "nul": m_nul,
    "bom": m_bom,
    "cr_only": m_cr_only,
    "mixed_endings": m_mixed_endings,
    "invalid_utf8": m_invalid_utf8,
    "nesting": m_nesting,
    "huge_line": m_huge_line,
    "truncate": m_truncate,
    "flip": m_flip,
    "chars": m_chars,
    "ast_swap": m_ast_swap,  # Python only (SQL: a line deleted)
}


def mutate(rng: random.Random, seed: Seed, other: bytes, huge_sizes: tuple[int, ...] = HUGE_SIZES,
           depths: tuple[int, ...] = DEPTHS) -> tuple[bytes, list[str]]:
    """The seed's target mutated by one to three mutations; their names."""
    data = seed.files[seed.target]
    names = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        name = rng.choice(list(MUTATIONS))
        fn = MUTATIONS[name]
        if name == "nesting":
            data = fn(rng, data, other, sql=seed.language == "sql", depths=depths)
        elif name == "ast_swap" and seed.language == "sql":
            data = m_delete(rng, data, other)
        elif name == "huge_line":
            data = fn(rng, data, other, sizes=huge_sizes)
        else:
            data = fn(rng, data, other)
        names.append(name)
    return data, names


# -- running one input ---------------------------------------------------------------------


@dataclass
class Outcome:
    size: int
    seconds: float  # CPU seconds of this process (the time checked against a + b * size)
    wall: float = 0.0
    findings: int = 0
    exception: str | None = None  # the traceback of an exception that escaped
    internal_errors: list[str] = field(default_factory=list)  # QL000 messages
    unparsable: list[str] = field(default_factory=list)  # fixed files that no longer parse
    fixed: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.exception or self.internal_errors or self.unparsable)


def _parse_error(path: str, text: str) -> str | None:
    try:
        if path.endswith(".sql"):
            import pglast

            pglast.parse_sql(text)
        else:
            ast.parse(text)
    except RecursionError:
        return "RecursionError"
    except (SyntaxError, ValueError, MemoryError) as exc:  # ValueError: NUL bytes
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # pglast's ParseError
        return f"{type(exc).__name__}: {exc}"
    return None


def _decoded(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        return None


class Project:
    """A seed project written once into a folder; one file is swapped per input."""

    def __init__(self, base: str, seed: Seed, whole: bool) -> None:
        self.root = tempfile.mkdtemp(prefix="p-", dir=base)
        # single-file: the target and the project's non-code files (pyproject.toml, alembic.ini)
        files = seed.files if whole or not seed.whole else {
            rel: data for rel, data in seed.files.items() if rel == seed.target or not rel.endswith(FUZZED)
        }
        for rel, data in files.items():
            full = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(data)
        self.files = dict(files)
        self.seed = seed
        self.config = self._config()

    def _config(self) -> Any:
        from querylint.config import ConfigError, load_config

        try:
            cfg = load_config([self.root], cwd=self.root)
        except ConfigError:
            from querylint.config import Config

            cfg = Config(root=self.root)
        over = {"ignore": (), "extend_select": (), **self.seed.config}
        over.update(root=self.root, cache=False, select=("ALL",))  # every rule, opt-in ones too
        for k, v in over.items():
            if isinstance(v, list):
                over[k] = tuple(v)
        return replace(cfg, **over)

    def put(self, rel: str, data: bytes) -> None:
        with open(os.path.join(self.root, rel), "wb") as fh:
            fh.write(data)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run_one(project: Project, data: bytes) -> Outcome:
    """Lint ``project`` with ``data`` as its seed's target, fix with unsafe fixes, check it all."""
    from querylint import fix as fixmod
    from querylint.engine import Engine
    from querylint.registry import instantiate

    seed = project.seed
    project.put(seed.target, data)
    out = Outcome(len(data), 0.0)
    cwd = os.getcwd()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        os.chdir(project.root)
        engine = Engine(project.config, instantiate(project.config))
        engine.jobs = 1  # in this process: no SQL workers, no partner
        runs: list[Any] = []
        real_run = engine.run

        def run(*a: Any, **kw: Any) -> Any:
            r = real_run(*a, **kw)
            runs.append(r)
            return r

        engine.run = run  # type: ignore[method-assign]
        with contextlib.redirect_stderr(io.StringIO()):
            outcome = fixmod.fix_paths(engine, [project.root], unsafe=True, write=False)
        out.findings = len(runs[0].diagnostics) if runs else 0
        out.fixed = outcome.fixed
        seen = set()
        for r in runs:
            for d in r.diagnostics:
                if d.code == "QL000" and d.message not in seen:
                    seen.add(d.message)
                    out.internal_errors.append(f"{d.span.path}: {d.message}\n{d.details or ''}")
        for path, (old, new) in outcome.changes.items():
            if _parse_error(path, old) is None and (err := _parse_error(path, new)) is not None:
                out.unparsable.append(f"{path}: {err}\n--- fixed text ---\n{new[:4000]}")
    except BaseException as exc:  # the point is to see everything that escapes
        if isinstance(exc, KeyboardInterrupt):
            raise
        out.exception = traceback.format_exc()
    finally:
        out.seconds = time.process_time() - c0  # CPU: the machine is shared, the run is in this process
        out.wall = time.perf_counter() - t0
        os.chdir(cwd)
        project.put(seed.target, seed.files[seed.target] if seed.target in project.files else b"")
    return out


# -- the loop ------------------------------------------------------------------------------


@dataclass
class Stats:
    seed: int
    inputs: int = 0
    by_language: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    by_scope: Counter[str] = field(default_factory=Counter)
    findings: int = 0
    fixed: int = 0
    exceptions: int = 0
    internal_errors: int = 0
    unparsable: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[int, float]] = field(default_factory=list)  # (size, seconds)
    slowest: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("samples", "failures", "slowest")}
        d = {k: dict(v) if isinstance(v, Counter) else v for k, v in d.items()}
        d["failures"] = len(self.failures)
        d["failure_kinds"] = dict(Counter(f["signature"] for f in self.failures))
        d.update(linear_fit(self.samples))
        d["slowest"] = sorted(self.slowest, key=lambda s: -s["seconds"])[:20]
        return d


def linear_fit(samples: list[tuple[int, float]]) -> dict[str, Any]:
    """A generous linear bound ``a + b * size`` on the run: ``a`` 3x the 99th-percentile time of
    small inputs, ``b`` 3x the 99th-percentile seconds-per-byte of big ones; inputs above it."""
    if len(samples) < 20:
        return {}
    small = sorted(t for s, t in samples if s < 4096) or [0.0]
    big = sorted(t / s for s, t in samples if s >= 4096) or [0.0]
    a = 3 * small[min(len(small) - 1, int(len(small) * 0.99))]
    b = 3 * big[min(len(big) - 1, int(len(big) * 0.99))]
    over = [(s, t) for s, t in samples if t > a + b * s]
    ratios = sorted(t / max(s, 1) for s, t in samples)
    return {
        "fit_a_seconds": a,
        "fit_b_seconds_per_byte": b,
        "over_fit": len(over),
        "over_fit_examples": sorted(over, key=lambda st: -st[1])[:10],
        "max_seconds_per_byte": ratios[-1],
        "max_seconds": max(t for _s, t in samples),
        "max_size": max(s for s, _t in samples),
    }


def signature(outcome: Outcome) -> str:
    text = outcome.exception or (outcome.internal_errors or outcome.unparsable or [""])[0]
    last = [ln for ln in text.strip().splitlines() if ln.strip()]
    frames = [ln.strip() for ln in last if ln.strip().startswith("File ")]
    where = [f for f in frames if REPO in f and "/.ci/" not in f] or frames  # the innermost of ours
    if outcome.unparsable:
        return "unparsable: " + text.splitlines()[0].split(": ", 1)[-1][:120]
    return (where[-1] if where else "") + " | " + (last[-1][:160] if last else "")


def inputs(rng: random.Random, seeds: list[Seed], whole_fraction: float,
           huge_sizes: tuple[int, ...] = HUGE_SIZES, depths: tuple[int, ...] = DEPTHS) -> Iterator[tuple[Seed, bool, bytes, list[str]]]:
    fixtures = [s for s in seeds if s.whole]
    examples = [s for s in seeds if not s.whole]
    while True:  # half the inputs from the fixture projects, half from the rules' examples
        seed = rng.choice(fixtures if rng.random() < 0.5 or not examples else examples)
        other = rng.choice(seeds)
        other_data = other.files[other.target]
        data, names = mutate(rng, seed, other_data, huge_sizes, depths)
        whole = (not seed.whole) or rng.random() < whole_fraction
        yield seed, whole, data, names


def fuzz(seed: int, count: int, *, seconds: float | None = None, whole_fraction: float = 0.2,
         out_dir: str | None = None, on_failure: Callable[[Seed, bytes, Outcome], None] | None = None,
         progress: Callable[[Stats], None] | None = None, huge_sizes: tuple[int, ...] = HUGE_SIZES,
         depths: tuple[int, ...] = DEPTHS) -> Stats:
    rng = random.Random(seed)
    seeds = corpus()
    stats = Stats(seed)
    base = tempfile.mkdtemp(prefix="querylint-fuzz-")
    projects: dict[tuple[str, str, bool], Project] = {}
    t_start = time.perf_counter()
    try:
        for seed_, whole, data, names in inputs(rng, seeds, whole_fraction, huge_sizes, depths):
            if stats.inputs >= count or (seconds is not None and time.perf_counter() - t_start > seconds):
                break
            key = (seed_.name, seed_.target, whole)
            if key not in projects:
                if len(projects) > 400:
                    for p in projects.values():
                        p.remove()
                    projects.clear()
                projects[key] = Project(base, seed_, whole)
            o = run_one(projects[key], data)
            stats.inputs += 1
            if stats.inputs % 20 == 0:
                # each run leaves its trees as cyclic garbage that the collector's thresholds
                # reach late (unfrozen into the oldest generation): ~3.5 MB a run on django_shop
                gc.collect()
            stats.by_language[seed_.language] += 1
            stats.by_scope["whole-project" if whole and seed_.whole else ("example" if not seed_.whole else "single-file")] += 1
            for n in names:
                stats.by_mutation[n] += 1
            stats.findings += o.findings
            stats.fixed += o.fixed
            stats.exceptions += bool(o.exception)
            stats.internal_errors += bool(o.internal_errors)
            stats.unparsable += bool(o.unparsable)
            stats.samples.append((o.size, o.seconds))
            if o.seconds > 1.0:
                rec = {"seconds": round(o.seconds, 3), "size": o.size, "seed": seed_.name, "target": seed_.target,
                       "whole": whole, "mutations": names, "input": stats.inputs}
                stats.slowest.append(rec)
                if out_dir is not None and len(stats.slowest) <= 200:  # for --replay --profile
                    _save(os.path.join(out_dir, "slow"), f"{stats.inputs:06d}", rec, data)
            if o.failed:
                rec = {"input": stats.inputs, "seed": seed_.name, "target": seed_.target, "whole": whole,
                       "mutations": names, "signature": signature(o)}
                stats.failures.append(rec)
                if out_dir is not None:
                    _save_failure(out_dir, rec, seed_, data, o)
                if on_failure is not None:
                    on_failure(seed_, data, o)
            if progress is not None and stats.inputs % 500 == 0:
                stats.elapsed = time.perf_counter() - t_start
                progress(stats)
    finally:
        for p in projects.values():
            p.remove()
        shutil.rmtree(base, ignore_errors=True)
        gc.collect()
    stats.elapsed = time.perf_counter() - t_start
    return stats


def _save_failure(out_dir: str, rec: dict[str, Any], seed: Seed, data: bytes, o: Outcome) -> None:
    d = os.path.join(out_dir, "failures")
    os.makedirs(d, exist_ok=True)
    sigs = {f.split(".", 1)[0] for f in os.listdir(d)}
    key = f"{hash(rec['signature']) & 0xFFFFFFFF:08x}"
    if key in sigs:  # one input per signature is enough
        return
    _save(d, key, {**rec, "exception": o.exception, "internal_errors": o.internal_errors, "unparsable": o.unparsable}, data)


def _save(d: str, key: str, rec: dict[str, Any], data: bytes) -> None:
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, key + ".input"), "wb") as fh:
        fh.write(data)
    with open(os.path.join(d, key + ".json"), "w", encoding="utf-8") as fh:
        json.dump(rec, fh, indent=1)


def replay(seed_name: str, target: str, whole: bool, path: str, profile: bool) -> Outcome:
    seed = next(s for s in corpus() if s.name == seed_name and s.target == target)
    with open(path, "rb") as fh:
        data = fh.read()
    base = tempfile.mkdtemp(prefix="querylint-fuzz-")
    try:
        project = Project(base, seed, whole)
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            o = prof.runcall(run_one, project, data)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        else:
            o = run_one(project, data)
        return o
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=None, help="stop after this long too")
    ap.add_argument("--whole", type=float, default=0.2, help="fraction of fixture inputs run as the whole project")
    ap.add_argument("--out", default="/tmp/fuzz-out")
    ap.add_argument("--replay", metavar="FAILURE_JSON", help="run the input saved next to this failure record again")
    ap.add_argument("--profile", action="store_true", help="with --replay: under cProfile")
    args = ap.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    if args.replay:
        with open(args.replay, encoding="utf-8") as fh:
            rec = json.load(fh)
        o = replay(rec["seed"], rec["target"], rec["whole"], args.replay[: -len(".json")] + ".input", args.profile)
        print(json.dumps({"size": o.size, "seconds": o.seconds, "findings": o.findings, "exception": o.exception,
                          "internal_errors": o.internal_errors, "unparsable": o.unparsable}, indent=1))
        return 1 if o.failed else 0
    os.makedirs(args.out, exist_ok=True)
    summary_path = os.path.join(args.out, "summary.json")

    def write(stats: Stats) -> None:
        tmp = summary_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(stats.summary(), fh, indent=1, default=str)
        os.replace(tmp, summary_path)
        with open(os.path.join(args.out, "failures.jsonl"), "w", encoding="utf-8") as fh:
            for f in stats.failures:
                fh.write(json.dumps(f) + "\n")
        print(f"{stats.inputs} inputs, {stats.elapsed:.0f} s, {stats.exceptions} exceptions, "
              f"{stats.internal_errors} QL000, {stats.unparsable} unparsable", file=sys.stderr, flush=True)

    stats = fuzz(args.seed, args.count, seconds=None if args.minutes is None else args.minutes * 60,
                 whole_fraction=args.whole, out_dir=args.out, progress=write)
    write(stats)
    with open(os.path.join(args.out, "samples.tsv"), "w", encoding="utf-8") as fh:
        for s, t in stats.samples:
            fh.write(f"{s}\t{t:.5f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
