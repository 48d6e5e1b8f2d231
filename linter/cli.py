"""The command line: ``querylint check``, ``querylint rule``, and the ``schema`` / ``advise`` tools.

Exit codes: 0 clean, 1 findings, 2 usage or configuration error (also for an internal crash,
which is reported in one line, never as a traceback). The report goes to stdout (or ``-o``);
warnings and logs go to stderr. No progress output, ever.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from typing import Any, NoReturn

from querylint import __version__
from querylint.config import (
    Config,
    ConfigError,
    check_exclude,
    check_postgres_version,
    check_selectors,
    load_config,
)
from querylint.reporters._escape import visible

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

#: the results of this process's runs, kept by :func:`entry` until the process ends: freeing a
#: large project's run object by object when :func:`check` returns costs ~0.2 s for nothing
_KEPT: list[Any] | None = None

# Subcommands implemented by other modules: name -> (module, help)
TOOLS = {
    "schema": ("querylint.schema_cmd", "show the schema querylint derived from the project"),
    "advise": ("querylint.advise.cli", "write index migrations for the project's queries"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors: exit 2 with one line, like argparse
        self.print_usage(sys.stderr)
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _selectors(values: list[str] | None, flag: str) -> tuple[str, ...] | None:
    """The selectors of a repeatable, comma-separated flag; a flag that names none
    (``--select ""``) is an error, not "the default set"."""
    if values is None:
        return None
    out = tuple(s.strip() for v in values for s in v.split(",") if s.strip())
    check_selectors(out or ("",), "", what=f"rule selector in {flag}")
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="querylint", description="A static SQL query linter and migration advisor for PostgreSQL.")
    parser.add_argument("--version", action="version", version=f"querylint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    chk = sub.add_parser("check", help="lint files or folders (default: .)")
    chk.add_argument("paths", nargs="*", metavar="PATH", help="files or folders; `-` reads stdin")
    g = chk.add_argument_group("configuration")
    g.add_argument("--config", metavar="PATH", help="use this pyproject.toml / querylint.toml")
    g.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    g.add_argument("--select", action="append", metavar="RULES", help="comma-separated codes, names or prefixes (replaces the config)")
    g.add_argument("--ignore", action="append", metavar="RULES", help="rules to turn off (added to the config)")
    g.add_argument("--extend-select", action="append", metavar="RULES", help="rules to turn on in addition")
    g.add_argument("--exclude", action="append", metavar="PATTERN", help="gitignore-style patterns (replace the defaults)")
    g.add_argument("--extend-exclude", action="append", metavar="PATTERN", help="gitignore-style patterns to exclude too")
    g.add_argument("--force-exclude", action="store_true", default=None, help="apply excludes to paths named on the command line")
    g.add_argument("--postgres-version", type=int, metavar="N")
    g.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    g.add_argument("--stdin-filename", metavar="PATH", help="lint stdin as if it were this file")
    o = chk.add_argument_group("output")
    from querylint.reporters import FORMATS

    o.add_argument("--output-format", choices=FORMATS, metavar="FORMAT", help=f"one of {', '.join(FORMATS)} (default: full)")
    o.add_argument("-o", "--output-file", metavar="FILE", help="write the report to FILE")
    o.add_argument("--statistics", action="store_true", help="print finding counts by rule instead of the findings")
    o.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    o.add_argument("-q", "--quiet", action="store_true", help="print only the findings (no summary)")
    o.add_argument("-v", "--verbose", action="store_true", help="print tracebacks of internal errors to stderr")
    o.add_argument("--show-fixes", action="store_true", help="show the fix of each finding")
    b = chk.add_argument_group("adopting on existing code")
    b.add_argument("--baseline", metavar="FILE", help="report only findings not recorded in FILE")
    b.add_argument("--write-baseline", metavar="FILE", help="record every current finding in FILE and exit 0")
    b.add_argument("--diff-base", metavar="REF", help="report only findings on lines changed since the merge base of REF (git)")
    f = chk.add_argument_group("fixes")
    f.add_argument("--fix", action="store_true", help="apply safe fixes")
    f.add_argument("--unsafe-fixes", action="store_true", help="also apply (or, with --fix, enable) unsafe fixes")
    f.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; change nothing")

    rule = sub.add_parser("rule", help="print a rule's documentation")
    rule.add_argument("rule", nargs="?", metavar="NAME|CODE")
    rule.add_argument("--all", action="store_true", help="print every rule's documentation")

    for name, (_mod, help_) in TOOLS.items():
        sub.add_parser(name, help=help_, add_help=False)
    return parser


def entry() -> NoReturn:
    """The ``querylint`` command: :func:`main`, then exit without tearing the heap down.

    A run over a large project leaves millions of objects (trees, facts, caches) that the
    interpreter would free one by one at exit, about a second on a large project for nothing:
    every file is written and closed, every worker joined, by the time :func:`main` returns.
    So the streams are flushed and the process ends (mypy does the same); the run's objects are
    kept (``_KEPT``) so that nothing frees them before.
    """
    global _KEPT
    _KEPT = []
    rc = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            if stream is sys.stdout and rc == EXIT_CLEAN:
                rc = EXIT_ERROR
    os._exit(rc)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except _UsageError as exc:
        print(f"querylint: error: {visible(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except ConfigError as exc:  # names paths, patterns and values from the project
        print(f"querylint: error: {visible(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("querylint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `querylint check | head`: stop quietly (the Python docs' recipe, so the interpreter
        # does not complain again when it flushes stdout at exit)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # never a traceback to the user
        print(f"querylint: internal error: {type(exc).__name__}: {visible(str(exc))}", file=sys.stderr)
        if "-v" in argv or "--verbose" in argv:
            traceback.print_exc(file=sys.stderr)
        else:
            print("querylint: run with --verbose for the traceback, and please report it", file=sys.stderr)
        return EXIT_ERROR


def _main(argv: list[str]) -> int:
    if argv and argv[0] in TOOLS:
        return _run_tool(argv[0], argv[1:])
    parser = build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args)
    if args.command == "rule":
        return rule_cmd(args)
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def _run_tool(name: str, argv: list[str]) -> int:
    module = TOOLS[name][0]
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            print(f"querylint: error: the `{name}` command is not available in this installation ({module} is missing)", file=sys.stderr)
            return EXIT_ERROR
        raise
    code: int = mod.main(argv)
    return code


# -- querylint rule ---------------------------------------------------------------------------
def rule_cmd(args: argparse.Namespace) -> int:
    from querylint import docs, registry

    if args.all:
        sys.stdout.write("\n\n".join(docs.render_rule(r) for r in registry.all_rules()))
        return EXIT_CLEAN
    if not args.rule:
        raise _UsageError("give a rule name or code (e.g. `querylint rule select-star`), or --all")
    cls = registry.find_rule(args.rule)
    if cls is None:
        raise _UsageError(f"unknown rule `{args.rule}` (see `querylint rule --all`)")
    sys.stdout.write(docs.render_rule(cls))
    return EXIT_CLEAN


# -- querylint check --------------------------------------------------------------------------
def config_from_args(args: argparse.Namespace, paths: Sequence[str]) -> Config:
    """The config file's settings with the command-line flags on top."""
    cfg = load_config(paths, config_file=args.config, isolated=args.isolated)
    from querylint import registry

    changes: dict[str, Any] = {}
    select = _selectors(args.select, "--select")
    if select is not None:
        changes["select"] = select
        changes["extend_select"] = ()
    extend = _selectors(args.extend_select, "--extend-select")
    if extend is not None:
        changes["extend_select"] = changes.get("extend_select", cfg.extend_select) + extend
        # a rule named on the command line beats an ignore from the config file
        changes["ignore"] = tuple(s for s in cfg.ignore if not (registry.expand([s]) <= registry.expand(extend)))
    ignore = _selectors(args.ignore, "--ignore")
    if ignore is not None:
        changes["ignore"] = changes.get("ignore", cfg.ignore) + ignore
    if args.exclude:
        check_exclude(args.exclude, "--exclude")
        changes["exclude"] = tuple(args.exclude)
    if args.extend_exclude:
        check_exclude(args.extend_exclude, "--extend-exclude")
        changes["extend_exclude"] = cfg.extend_exclude + tuple(args.extend_exclude)
    if args.force_exclude:
        changes["force_exclude"] = True
    if args.postgres_version is not None:
        check_postgres_version(args.postgres_version, "--postgres-version")
        changes["postgres_version"] = args.postgres_version
    if args.output_format is not None:
        changes["output_format"] = args.output_format
    if args.no_cache:
        changes["cache"] = False
    return dataclasses.replace(cfg, **changes)


def _use_color(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def check(args: argparse.Namespace) -> int:
    from querylint.engine import Engine
    from querylint.reporters import ReportContext, get

    paths = list(args.paths) or ["."]
    stdin_mode = paths == ["-"] or (args.stdin_filename is not None and not args.paths)
    if "-" in paths and paths != ["-"]:
        raise _UsageError("`-` (stdin) cannot be combined with other paths")
    if args.stdin_filename is not None and not stdin_mode:
        raise _UsageError("--stdin-filename needs `-` (or no path) to read stdin")
    config_paths = [args.stdin_filename] if stdin_mode and args.stdin_filename else paths
    if args.write_baseline and (args.baseline or args.fix or args.diff):
        raise _UsageError("--write-baseline cannot be combined with --baseline, --fix or --diff")
    cfg = config_from_args(args, config_paths)
    render = get(cfg.output_format)

    def warn(message: str) -> None:
        if not args.quiet:
            print(f"querylint: warning: {visible(message)}", file=sys.stderr)

    engine = Engine(cfg, verbose=args.verbose)
    engine.warn = warn
    engine.keep = _KEPT
    fixed = 0
    diff_text = ""
    if stdin_mode:
        text = sys.stdin.read()
        name = args.stdin_filename or "stdin.py"
        if args.fix or args.diff:
            from querylint import fix as fixmod

            new_text, fixed = fixmod.fix_text(engine, name, text, unsafe=args.unsafe_fixes)
            if args.diff:
                diff_text = fixmod.unified_diff(name, text, new_text)
            else:
                # like ruff: with --fix on stdin, the fixed text is the output
                sys.stdout.write(new_text)
                result = engine.run([], stdin=(name, new_text))
                _report_stderr(result, args)
                return _exit(result, args)
        result = engine.run([], stdin=(name, text))
    elif args.fix or args.diff:
        from querylint import fix as fixmod

        outcome = fixmod.fix_paths(engine, paths, unsafe=args.unsafe_fixes, write=not args.diff)
        result, fixed = outcome.result, outcome.fixed
        for msg in outcome.messages:
            warn(msg)
        if args.diff:
            diff_text = "".join(fixmod.unified_diff(p, old, new) for p, (old, new) in sorted(outcome.changes.items()))
    else:
        result = engine.run(paths)

    if args.write_baseline:
        from querylint import baseline

        n = baseline.write(args.write_baseline, result.diagnostics, result.sources)
        if not args.quiet:
            print(f"Recorded {n} finding{'s' if n != 1 else ''} in {args.write_baseline}.", file=sys.stderr)
        return EXIT_CLEAN
    if args.baseline:
        from querylint import baseline

        applied = baseline.apply(baseline.load(args.baseline), result.diagnostics, result.sources)
        result.diagnostics = applied.kept
        if applied.matched and not args.quiet:
            gone = f"; {applied.unmatched} recorded finding{'s are' if applied.unmatched != 1 else ' is'} gone" if applied.unmatched else ""
            print(f"querylint: {applied.matched} finding{'s' if applied.matched != 1 else ''} hidden by the baseline {args.baseline}{gone}", file=sys.stderr)
    if args.diff_base:
        from querylint import diffscope

        changes = diffscope.changed_lines(args.diff_base, cfg.root)
        result.diagnostics = diffscope.filter_diagnostics(result.diagnostics, result.sources, changes)

    if args.verbose:
        for d in result.diagnostics:
            if d.details:
                details = "\n".join(visible(line) for line in d.details.splitlines())
                print(f"{visible(d.span.path)}: {d.code} [{d.name}] {visible(d.message)}\n{details}", file=sys.stderr)

    if args.diff:
        sys.stdout.write(diff_text)
        if not args.quiet:
            n = fixed
            print(f"Would fix {n} problem{'s' if n != 1 else ''}." if n else "No fixes available.", file=sys.stderr)
        if args.exit_zero:
            return EXIT_CLEAN
        return EXIT_FINDINGS if diff_text else EXIT_CLEAN

    out_stream: Any = sys.stdout
    fh = None
    if args.output_file:
        try:
            fh = open(args.output_file, "w", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.output_file}: {exc.strerror or exc}") from None
        out_stream = fh
    try:
        if args.statistics:
            out_stream.write(statistics(result))
        else:
            ctx = ReportContext(
                color=_use_color(out_stream) and fh is None,
                show_fixes=args.show_fixes,
                verbose=args.verbose,
                root=cfg.root,
            )
            report = render(result, ctx)
            if cfg.output_format == "full":
                report = _strip_summary(report) if args.quiet else report
            out_stream.write(report)
        if fixed and not args.quiet:
            print(f"Fixed {fixed} problem{'s' if fixed != 1 else ''}.", file=sys.stderr)
    finally:
        if fh is not None:
            fh.close()
    return _exit(result, args)


def _strip_summary(report: str) -> str:
    from querylint.reporters import full

    text: str = full.without_summary(report)
    return text


def _report_stderr(result: Any, args: argparse.Namespace) -> None:
    from querylint.reporters import ReportContext, get

    if result.diagnostics and not args.quiet:
        sys.stderr.write(get("concise")(result, ReportContext()))


def _exit(result: Any, args: argparse.Namespace) -> int:
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if result.diagnostics else EXIT_CLEAN


def statistics(result: Any) -> str:
    """Counts by rule, most frequent first, like ``ruff --statistics``."""
    counts = Counter((d.code, d.name) for d in result.diagnostics)

    def kind(d: Any) -> str:
        return d.fix.applicability.value if d.fix is not None and d.fix.edits else "none"

    safe = Counter((d.code, d.name) for d in result.diagnostics if kind(d) == "safe")
    unsafe = Counter((d.code, d.name) for d in result.diagnostics if kind(d) == "unsafe")
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))
    if not rows:
        return ""
    width = max(len(str(n)) for _k, n in rows)
    lines = []
    for (code, name), n in rows:
        # like ruff: [*] fixable with --fix, [-] only with --unsafe-fixes
        mark = "[*]" if safe[(code, name)] else "[-]" if unsafe[(code, name)] else "[ ]"
        lines.append(f"{n:>{width}}\t{code}\t{mark} {name}")
    return "\n".join(lines) + "\n"
