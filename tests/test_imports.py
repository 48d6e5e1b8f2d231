"""Nothing imports a top-level `rules` or `linter` module (django-rules owns `rules`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_top_level_rules_or_linter_module_is_imported(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT id FROM users WHERE email LIKE '%x';\n", encoding="utf-8")
    (tmp_path / "m.py").write_text("def f(cur):\n    cur.execute('SELECT * FROM t')\n", encoding="utf-8")
    code = (
        "import sys, io, contextlib\n"
        "import querylint, querylint.rules, querylint.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    querylint.cli.main(['check', '--isolated', '--select', 'ALL', '.'])\n"
        "bad = sorted(m for m in sys.modules if m in ('rules', 'linter') or m.startswith(('rules.', 'linter.')))\n"
        "print(bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_source_tree_never_names_them() -> None:
    pattern = re.compile(r"^\s*(?:import|from)\s+(?:rules|linter)(?:\.|\s|$)", re.MULTILINE)
    offenders = []
    for folder in ("linter", "rules", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "bench" / "corpus"):
                continue  # third-party code the benchmarks unpack (gitignored), not ours
            for m in pattern.finditer(path.read_text(encoding="utf-8")):
                line = path.read_text(encoding="utf-8")[: m.start()].count("\n") + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0).strip()}")
    assert offenders == []


def test_wheel_maps_folders_to_querylint() -> None:
    import querylint
    import querylint.rules

    assert Path(querylint.__file__).resolve().parent == ROOT / "linter"
    assert Path(querylint.rules.__file__).resolve().parent == ROOT / "rules"
