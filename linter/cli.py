"""The command line: ``querylint check``, ``querylint rule`` (minimal; extended by the CLI work)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from querylint.config import Config, ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="querylint")
    sub = parser.add_subparsers(dest="command")
    chk = sub.add_parser("check")
    chk.add_argument("paths", nargs="*", default=["."])
    chk.add_argument("--output-format", default="full")
    args = parser.parse_args(argv)
    try:
        from querylint.engine import Engine
        from querylint.reporters import ReportContext, get

        cfg = Config()
        result = Engine(cfg).run(args.paths)
        fmt = "concise" if args.output_format == "full" else args.output_format
        sys.stdout.write(get(fmt)(result, ReportContext()))
    except ConfigError as exc:
        print(f"querylint: error: {exc}", file=sys.stderr)
        return 2
    return 1 if result.diagnostics else 0
