"""Reporters: one small module per output format. ``REPORTERS`` maps format name -> module.

Every reporter module exposes ``render(result: RunResult, ctx: ReportContext) -> str``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from querylint.engine import RunResult

FORMATS = ("full", "concise", "json", "github", "sarif", "gitlab", "markdown")


@dataclass(frozen=True)
class ReportContext:
    color: bool = False
    show_fixes: bool = False
    verbose: bool = False
    root: str = "."


def get(name: str) -> Callable[[RunResult, ReportContext], str]:
    if name not in FORMATS:
        raise KeyError(name)
    mod = importlib.import_module(f"querylint.reporters.{name}")
    render: Callable[[RunResult, ReportContext], str] = mod.render
    return render
