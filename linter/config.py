"""Configuration: ``[tool.querylint]`` in pyproject.toml (or ``querylint.toml``) plus flags.

The loader (``load_config``) lives here too; see the module functions below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """A configuration or usage error: reported with exit code 2."""


@dataclass(frozen=True)
class Config:
    root: str = "."  # the project root (folder of the config file, or the cwd)
    config_path: str | None = None
    select: tuple[str, ...] = ()  # empty: the default set
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, selectors)
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    respect_gitignore: bool = True
    output_format: str = "full"
    postgres_version: int = 15
    max_file_size: int = 5 * 1024 * 1024  # bytes; larger files are reported, not read
    sql_dialect: str = "postgres"
    # Migration runners wrap each SQL file in a transaction (Flyway, sqitch): assume so.
    sql_migrations_in_transaction: bool = False
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # by rule name
    cache: bool = True
    cache_dir: str = ".querylint_cache"
