"""The rule list is complete, codes and names are unique and well-formed, docs have sections."""

from __future__ import annotations

import os
import pkgutil
import re

from querylint.registry import all_rules

RULES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rules")


def test_every_rule_module_is_listed() -> None:
    listed = {r.__module__.rsplit(".", 1)[-1] for r in all_rules()}
    modules = {m.name for m in pkgutil.iter_modules([RULES_DIR]) if not m.name.startswith("_")}
    assert modules - listed == set()


def test_codes_and_names_unique_and_well_formed() -> None:
    rules = all_rules()
    codes = [r.code for r in rules]
    names = [r.name for r in rules]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    for r in rules:
        assert re.fullmatch(r"QL\d{3}", r.code), r.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), r.name
        # module in snake_case of the name
        assert r.__module__.rsplit(".", 1)[-1] == r.name.replace("-", "_"), r.name


def test_docstrings_have_the_sections() -> None:
    for r in all_rules():
        doc = r.doc()
        assert doc.split("\n", 1)[0].strip(), f"{r.name}: no summary line"
        for section in ("## Why is this bad?", "## Example", "## Use instead", "## References"):
            assert section in doc, f"{r.name}: missing {section}"
