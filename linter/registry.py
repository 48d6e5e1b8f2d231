"""The rule registry: every rule class from ``querylint.rules.ALL``, and selection by config.

Selectors are a rule code (``QL101``), a kebab name (``select-star``), a code prefix (``QL1``,
``QL``) or ``ALL``. Unknown selectors are configuration errors.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from querylint.config import Config, ConfigError
from querylint.rule import Rule


def all_rules() -> list[type[Rule]]:
    from querylint.rules import ALL

    return list(ALL)


def find_rule(key: str) -> type[Rule] | None:
    k = key.strip()
    for r in all_rules():
        if r.code.lower() == k.lower() or r.name == k.lower():
            return r
    return None


def expand(selectors: Iterable[str], *, what: str = "rule selector") -> set[str]:
    """Selectors -> set of rule codes; unknown selectors raise ConfigError naming them."""
    rules = all_rules()
    out: set[str] = set()
    for sel in selectors:
        s = sel.strip()
        if not s:
            continue
        if s.upper() == "ALL":
            out.update(r.code for r in rules)
            continue
        matched = [
            r.code
            for r in rules
            if r.code.upper() == s.upper() or r.name == s.lower() or r.code.upper().startswith(s.upper())
        ]
        if not matched or not (s.upper().startswith("QL") or any(r.name == s.lower() for r in rules)):
            raise ConfigError(f"unknown {what} `{s}` (expected a rule code like QL101, a prefix like QL1, or a rule name like select-star)")
        out.update(matched)
    return out


def selected_codes(config: Config) -> set[str]:
    rules = all_rules()
    if config.select:
        codes = expand(config.select)
    else:
        codes = {r.code for r in rules if r.default_enabled}
    codes |= expand(config.extend_select)
    codes -= expand(config.ignore)
    return codes


def instantiate(config: Config, codes: set[str] | None = None) -> list[Rule]:
    codes = selected_codes(config) if codes is None else codes
    out: list[Rule] = []
    for cls in all_rules():
        if cls.code in codes:
            out.append(cls(config.rule_options.get(cls.name)))
    return out


def ignored_for_path(config: Config, path: str) -> set[str]:
    """Codes ignored for ``path`` by ``per-file-ignores``."""
    out: set[str] = set()
    for pattern, sels in config.per_file_ignores:
        if _match(path, pattern):
            out |= expand(sels)
    return out


def _match(path: str, pattern: str) -> bool:
    if fnmatch.fnmatch(path, pattern):
        return True
    if "/" not in pattern and fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern):
        return True
    return (pattern.endswith("/") and path.startswith(pattern)) or fnmatch.fnmatch(path, pattern.rstrip("/") + "/*")


def codes_of(rules: Sequence[Rule]) -> set[str]:
    return {r.code for r in rules}
