"""Configuration: ``[tool.querylint]`` in pyproject.toml (or ``querylint.toml``) plus flags.

``load_config`` finds the nearest config file walking up from the first path (or the working
directory), validates every key (unknown keys, rules, options and wrong types are
:class:`ConfigError`, exit code 2) and returns a :class:`Config`; the CLI then applies its flags
on top with ``dataclasses.replace``. ``Config.root`` is the config file's folder (or the cwd):
the project index walks only that folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    #: the Python the project targets (``requires-python`` / ruff's ``target-version`` above the
    #: root), as a cache key only: a file that does not parse names it in its message, so a run
    #: cached before it changed must not be reused (each file's own is found as it is parsed)
    python_target: str = ""


# -- loading ---------------------------------------------------------------------------------
#
# Every Config field (except the ones below) is a config key: ``snake_case`` -> ``kebab-case``,
# type-checked against the field's default. Fields added later by other parts of querylint
# become keys automatically.
_NOT_KEYS = {"root", "config_path", "rule_options", "cache", "python_target"}
_SELECTOR_KEYS = ("select", "ignore", "extend_select")


#: the PostgreSQL majors querylint can advise for: 9 stands for 9.x (the rules tell "before 11",
#: "12 and later", "before 14" apart), up to the newest major
POSTGRES_MAJORS = range(9, 20)


def _suggest(word: str, known: Sequence[str]) -> str:
    """``; did you mean `select`?`` for the known name closest to a typo, or nothing."""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def shown_value(value: str) -> str:
    """A user's string in a message: in backticks, or as a Python literal when it holds a
    backtick or a control character (a line break must not start a line of its own), or is empty."""
    return f"`{value}`" if value and value.isprintable() and "`" not in value else repr(value)


def check_selectors(selectors: Sequence[str], where: str, what: str = "rule selector") -> None:
    """Every selector non-empty and known (a typo gets the closest rule name)."""
    from querylint import registry

    prefix = f"{where}: " if where else ""
    for sel in selectors:
        if not sel.strip():
            raise ConfigError(f"{prefix}empty {what} (name a rule code like QL101, a prefix like QL1, a rule name like select-star, or ALL)")
        try:
            registry.expand([sel], what=what)
        except ConfigError as exc:
            # names only: a close code (QL429 for QL99) is a different rule, not a typo's fix
            names = [r.name for r in registry.all_rules()]
            raise ConfigError(f"{prefix}{exc}{_suggest(sel.strip().lower(), names)}") from None


def check_exclude(patterns: Sequence[str], what: str) -> None:
    """Every exclude pattern valid as a gitignore-style pattern."""
    from querylint.discovery import exclude_pattern_error

    for pattern in patterns:
        problem = exclude_pattern_error(pattern)
        if problem is not None:
            raise ConfigError(f"{what}: invalid pattern {shown_value(pattern)}: {problem}")


def check_postgres_version(version: int, what: str) -> None:
    """A PostgreSQL major querylint can advise for (not 0, not 99, not 9.6's 96)."""
    if version not in POSTGRES_MAJORS:
        raise ConfigError(
            f"{what}: unsupported PostgreSQL major version {version} "
            f"(expected {POSTGRES_MAJORS[0]} to {POSTGRES_MAJORS[-1]}, e.g. 15 for PostgreSQL 15.4)"
        )


def _check_dialect(dialect: str, what: str) -> None:
    """``postgres`` (read with pglast) or a dialect sqlglot reads (transpiled to PostgreSQL)."""
    from querylint.sql.parse import POSTGRES

    if dialect.lower() in POSTGRES:
        return
    from sqlglot.dialects import Dialects

    known = [d.value for d in Dialects if d.value and d.value not in POSTGRES]
    if dialect.lower() not in known:
        raise ConfigError(
            f"{what}: unknown SQL dialect {shown_value(dialect)}{_suggest(dialect.lower(), [*POSTGRES, *known])} "
            f"(expected postgres, or one of sqlglot's: {', '.join(sorted(known))})"
        )


def _fields() -> dict[str, Any]:
    import dataclasses

    out: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        if f.name in _NOT_KEYS:
            continue
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _toml_loads(text: str) -> dict[str, Any]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    data: dict[str, Any] = tomllib.loads(text)
    return data


def _shown(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _read_toml(path: str) -> dict[str, Any]:
    try:
        # utf-8-sig: TOML files saved by Windows editors start with a BOM, which TOML forbids
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {_shown(path)}: {exc}") from None
    try:
        return _toml_loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{_shown(path)}: invalid TOML: {exc}") from None


def _section(path: str) -> dict[str, Any] | None:
    """The querylint table of a config file, or None when a pyproject.toml has none."""
    data = _read_toml(path)
    if os.path.basename(path) == "pyproject.toml":
        tool = data.get("tool")
        if not isinstance(tool, dict) or "querylint" not in tool:
            return None
        sec = tool["querylint"]
        if not isinstance(sec, dict):
            raise ConfigError(f"{_shown(path)}: [tool.querylint] must be a table")
        return sec
    return data


def find_config(start: str) -> str | None:
    """The nearest ``querylint.toml`` or ``pyproject.toml`` with ``[tool.querylint]``, walking up."""
    d = os.path.abspath(start)
    if not os.path.isdir(d):
        d = os.path.dirname(d)
    while True:
        for name in ("querylint.toml", "pyproject.toml"):
            cand = os.path.join(d, name)
            if os.path.isfile(cand) and (name == "querylint.toml" or _section(cand) is not None):
                return cand
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "a boolean"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, (tuple, list)):
        return "a list of strings"
    if isinstance(default, dict):
        return "a table"
    return "a string"  # None defaults: optional strings


def _check_type(value: Any, default: Any) -> Any | None:
    """The value converted to the default's type, or None when it does not fit."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(default, float):
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(default, str) or default is None:
        return value if isinstance(value, str) else None
    if isinstance(default, (tuple, list)):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value) if isinstance(default, tuple) else list(value)
        if isinstance(value, list) and default and not isinstance(default[0], str):
            return tuple(value) if isinstance(default, tuple) else list(value)
        return None
    if isinstance(default, dict):
        return value if isinstance(value, dict) else None
    return value


def _rule_options(table: Any, where: str) -> dict[str, dict[str, Any]]:
    from querylint import registry

    if not isinstance(table, dict):
        raise ConfigError(f"{where}: `rules` must be a table of [rules.<rule-name>] tables")
    out: dict[str, dict[str, Any]] = {}
    for key, opts in table.items():
        rule = registry.find_rule(key)
        if rule is None:
            names = [r.name for r in registry.all_rules()]
            raise ConfigError(f"{where}: unknown rule {shown_value(key)} in [rules.{key}]{_suggest(key, names)}")
        if not isinstance(opts, dict):
            raise ConfigError(f"{where}: [rules.{key}] must be a table of options")
        checked: dict[str, Any] = {}
        for oname, value in opts.items():
            if oname not in rule.options:
                known = ", ".join(sorted(rule.options)) or "none"
                hint = _suggest(oname, list(rule.options))
                raise ConfigError(f"{where}: unknown option {shown_value(oname)} for rule {rule.name}{hint} (known options: {known})")
            default = rule.options[oname]
            conv = _check_type(value, default)
            if conv is None:
                raise ConfigError(f"{where}: option `{oname}` of rule {rule.name} must be {_kind(default)}, got {value!r}")
            # counts, depths and thresholds: a negative one has no meaning, unless the rule
            # declares the option signed
            if isinstance(default, int) and not isinstance(default, bool) and default >= 0 and conv < 0 and oname not in rule.signed_options:
                raise ConfigError(f"{where}: option `{oname}` of rule {rule.name} must be a non-negative integer, got {conv}")
            checked[oname] = conv
        out.setdefault(rule.name, {}).update(checked)
    return out


def config_from_table(table: dict[str, Any], *, where: str, root: str, config_path: str | None = None) -> Config:
    """Validate one ``[tool.querylint]`` table into a :class:`Config`."""
    from querylint.reporters import FORMATS

    fields = _fields()
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "rules":
            values["rule_options"] = _rule_options(value, where)
            continue
        name = key.replace("-", "_")
        if name not in fields or "_" in key:
            known = [k.replace("_", "-") for k in fields] + ["rules"]
            raise ConfigError(f"{where}: unknown key {shown_value(key)}{_suggest(key.replace('_', '-'), known)}")
        default = fields[name]
        if name == "per_file_ignores":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in value.values()
            ):
                raise ConfigError(f"{where}: `per-file-ignores` must be a table of glob = [rule selectors]")
            for glob, sels in value.items():
                _check_file_glob(glob, f"{where}: `per-file-ignores`")
                check_selectors(sels, f"{where}: per-file-ignores[{glob!r}]")
            values[name] = tuple((g, tuple(s)) for g, s in value.items())
            continue
        conv = _check_type(value, default)
        if conv is None:
            raise ConfigError(f"{where}: `{key}` must be {_kind(default)}, got {value!r}")
        values[name] = conv
    for name in _SELECTOR_KEYS:
        if name in values:
            check_selectors(values[name], f"{where}: `{name.replace('_', '-')}`")
    for name in ("exclude", "extend_exclude"):
        if name in values:
            check_exclude(values[name], f"{where}: `{name.replace('_', '-')}`")
    fmt = values.get("output_format")
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"{where}: unknown output-format {shown_value(fmt)}{_suggest(fmt, FORMATS)} (expected one of: {', '.join(FORMATS)})")
    if "postgres_version" in values:
        check_postgres_version(values["postgres_version"], f"{where}: `postgres-version`")
    if values.get("max_file_size", 0) < 0:
        raise ConfigError(f"{where}: `max-file-size` must be a non-negative number of bytes, got {values['max_file_size']}")
    if "sql_dialect" in values:
        _check_dialect(values["sql_dialect"], f"{where}: `sql-dialect`")
    return Config(root=root, config_path=config_path, **values)


def _check_file_glob(glob: str, what: str) -> None:
    """A ``per-file-ignores`` glob (fnmatch-style, matched against the file's path)."""
    from querylint.discovery import glob_error

    problem = "it is empty" if not glob.strip() else glob_error(glob)
    if problem is not None:
        raise ConfigError(f"{what}: invalid glob {shown_value(glob)}: {problem}")


def load_config(
    paths: Sequence[str] = (),
    *,
    config_file: str | None = None,
    isolated: bool = False,
    cwd: str | None = None,
) -> Config:
    """The run's configuration: ``--config`` or the nearest config file above the first path.

    With ``isolated`` no file is read and the root is the working directory.
    """
    from querylint.pyversion import project_target

    cfg = _load_config(paths, config_file=config_file, isolated=isolated, cwd=cwd)
    target = project_target(cfg.root)
    return replace(cfg, python_target=f"{target.version} {target.where}") if target is not None else cfg


def _load_config(
    paths: Sequence[str] = (),
    *,
    config_file: str | None = None,
    isolated: bool = False,
    cwd: str | None = None,
) -> Config:
    cwd = os.path.abspath(cwd or os.getcwd())
    if isolated and config_file is not None:
        # as ruff does: --isolated means "read no configuration file", so naming one is a mistake
        raise ConfigError(f"--config {config_file} cannot be used with --isolated (which ignores every configuration file)")
    if isolated:
        return Config(root=cwd)
    if config_file is not None:
        path = os.path.abspath(config_file)
        if not os.path.isfile(path):
            raise ConfigError(f"config file not found: {config_file}")
        section = _section(path)
        if section is None:
            raise ConfigError(f"{config_file}: no [tool.querylint] table")
    else:
        start = paths[0] if paths and paths[0] != "-" else cwd
        start = os.path.normpath(os.path.join(cwd, start))
        while not os.path.exists(start) and os.path.dirname(start) != start:
            start = os.path.dirname(start)  # a new file (editor buffer): its nearest folder
        found = find_config(start)
        if found is None:
            # No config: the project is the working directory, unless the path lies outside
            # it (then its own folder, so the index never walks unrelated trees).
            inside = os.path.commonpath([cwd, os.path.abspath(start)]) == cwd
            root = cwd if inside else (start if os.path.isdir(start) else os.path.dirname(start))
            return Config(root=os.path.abspath(root))
        path, section = found, _section(found)
        assert section is not None
    shown = os.path.relpath(path, cwd) if not os.path.relpath(path, cwd).startswith("..") else path
    where = f"{shown} [tool.querylint]" if os.path.basename(path) == "pyproject.toml" else shown
    return config_from_table(section, where=where, root=os.path.dirname(path), config_path=path)
