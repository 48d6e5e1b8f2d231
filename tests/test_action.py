"""The composite GitHub Action (action.yml): valid YAML, real CLI flags, and its scripts work.

The scripts are run with bash the way the runner would (inputs passed through ``env``), against
a scratch project with a broken SQL file, skipping only the pip install step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from querylint.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"


def _action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def _check_options() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices["check"]._option_string_actions)


def test_action_shape() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"args", "paths", "version", "output-format", "sarif-file", "summary"}
    assert action["inputs"]["output-format"]["default"] == "github"
    assert all(step.get("shell") == "bash" for step in action["runs"]["steps"])
    install = action["runs"]["steps"][0]
    assert install["env"]["QUERYLINT_ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --disable-pip-version-check "$QUERYLINT_ACTION_PATH"' in install["run"]


def test_scripts_use_only_real_flags_and_no_inline_expressions() -> None:
    options = _check_options()
    for step in _action()["runs"]["steps"]:
        script = step["run"]
        # inputs go through env: pasting ${{ }} into a script is a shell-injection hole
        assert "${{" not in script, step["name"]
        for line in script.splitlines():
            if "querylint check" not in line:
                continue
            flags = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line.split("querylint check", 1)[1]))
            assert flags, line
            assert flags <= options, f"unknown flags {flags - options} in: {line}"


def _run_step(step: dict[str, Any], env: dict[str, str], inputs: dict[str, str], outputs: dict[str, str], cwd: Path) -> int:
    def value(expr: str) -> str:
        m = re.fullmatch(r"\$\{\{\s*(.+?)\s*\}\}", expr)
        if m is None:
            return expr
        key = m.group(1)
        if key.startswith("inputs."):
            return inputs[key[len("inputs."):]]
        if key.startswith("steps.check.outputs."):
            return outputs.get(key.rsplit(".", 1)[1], "")
        raise AssertionError(f"unexpected expression {key}")

    step_env = {**env, **{k: value(str(v)) for k, v in step.get("env", {}).items()}}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=step_env, capture_output=True, text=True)
    step["stdout"] = proc.stdout
    return proc.returncode


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("querylint") is None, reason="needs bash and the querylint script")
def test_action_steps_end_to_end(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "db").mkdir(parents=True)
    (project / "db" / "broken.sql").write_text("SELEC 1;\n", encoding="utf-8")
    (project / "db" / "ok.sql").write_text("SELECT 1;\n", encoding="utf-8")
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    output = tmp_path / "output.txt"
    output.write_text("", encoding="utf-8")
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
        "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
    }
    inputs = {d: str(v.get("default", "")) for d, v in _action()["inputs"].items()}
    inputs.update({"paths": "db", "args": "--select QL001", "sarif-file": "out dir.sarif"})
    steps = {s.get("id", s["name"]): s for s in _action()["runs"]["steps"]}
    outputs: dict[str, str] = {}

    assert _run_step(steps["check"], env, inputs, outputs, project) == 0
    assert steps["check"]["stdout"] == (
        "::error file=db/broken.sql,line=1,endLine=1,col=1,endColumn=2,title=QL001 parse-error::"
        'QL001 [parse-error] SQL syntax error: syntax error at or near "SELEC"\n'
    )
    outputs.update(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    assert outputs == {"exit-code": "1"}

    assert _run_step(steps["Write SARIF"], env, inputs, outputs, project) == 0
    log = json.loads((project / "out dir.sarif").read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["QL001"]

    assert _run_step(steps["Job summary"], env, inputs, outputs, project) == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n### querylint: 1 finding in 1 file\n")
    assert "- `db/broken.sql:1` QL001 SQL syntax error" in text

    assert _run_step(steps["Result"], env, inputs, outputs, project) == 1
