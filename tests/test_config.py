"""Config loading: where the file is found, every key validated, errors that name the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from querylint.config import Config, ConfigError, load_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_file_gives_defaults_rooted_at_cwd(tmp_path: Path) -> None:
    cfg = load_config([], cwd=str(tmp_path))
    assert cfg == Config(root=str(tmp_path))


def test_nearest_pyproject_with_section_walking_up_from_first_path(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.querylint]\nselect = ['QL0']\npostgres-version = 14\n")
    # a nearer pyproject.toml without [tool.querylint] is skipped, like ruff does
    write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path / "pkg" / "app" / "q.sql", "SELECT 1;\n")
    cfg = load_config(["pkg/app/q.sql"], cwd=str(tmp_path))
    assert (cfg.root, cfg.config_path) == (str(tmp_path), str(tmp_path / "pyproject.toml"))
    assert (cfg.select, cfg.postgres_version) == (("QL0",), 14)


def test_querylint_toml_has_top_level_keys_and_wins_in_same_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.querylint]\nselect = ['QL0']\n")
    write(tmp_path / "querylint.toml", "ignore = ['QL002']\n")
    cfg = load_config(["."], cwd=str(tmp_path))
    assert (cfg.config_path, cfg.select, cfg.ignore) == (str(tmp_path / "querylint.toml"), (), ("QL002",))


def test_all_keys(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """
[tool.querylint]
select = ["QL0"]
ignore = ["unused-suppression"]
extend-select = ["QL001"]
exclude = ["legacy/"]
extend-exclude = ["generated/*.sql"]
output-format = "concise"
postgres-version = 13
max-file-size = 1000
sql-dialect = "postgres"
sql-migrations-in-transaction = true
cache-dir = ".cache/ql"
respect-gitignore = false
force-exclude = true

[tool.querylint.per-file-ignores]
"migrations/*.sql" = ["QL001", "unused-suppression"]
""")
    cfg = load_config([], cwd=str(tmp_path))
    assert cfg == Config(
        root=str(tmp_path),
        config_path=str(tmp_path / "pyproject.toml"),
        select=("QL0",),
        ignore=("unused-suppression",),
        extend_select=("QL001",),
        exclude=("legacy/",),
        extend_exclude=("generated/*.sql",),
        output_format="concise",
        postgres_version=13,
        max_file_size=1000,
        sql_migrations_in_transaction=True,
        cache_dir=".cache/ql",
        respect_gitignore=False,
        force_exclude=True,
        per_file_ignores=(("migrations/*.sql", ("QL001", "unused-suppression")),),
    )


def _rule_with_options() -> tuple[str, str, object]:
    from querylint.registry import all_rules

    for r in all_rules():
        for k, v in r.options.items():
            if isinstance(v, int) and not isinstance(v, bool):
                return r.name, k, v
    pytest.skip("no rule with an integer option is registered")


def test_rule_options_validated_against_defaults(tmp_path: Path) -> None:
    name, opt, _default = _rule_with_options()
    write(tmp_path / "pyproject.toml", f"[tool.querylint.rules.{name}]\n{opt} = 7\n")
    assert load_config([], cwd=str(tmp_path)).rule_options == {name: {opt: 7}}
    write(tmp_path / "pyproject.toml", f"[tool.querylint.rules.{name}]\n{opt} = 'seven'\n")
    with pytest.raises(ConfigError, match=rf"option `{opt}` of rule {name} must be an integer, got 'seven'"):
        load_config([], cwd=str(tmp_path))
    write(tmp_path / "pyproject.toml", f"[tool.querylint.rules.{name}]\nno-such-option = 1\n")
    with pytest.raises(ConfigError, match=rf"unknown option `no-such-option` for rule {name}"):
        load_config([], cwd=str(tmp_path))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[tool.querylint]\nselct = ['QL1']\n", "pyproject.toml [tool.querylint]: unknown key `selct`"),
        ("[tool.querylint]\nextend_select = ['QL1']\n", "unknown key `extend_select`"),
        ("[tool.querylint]\nselect = ['QL999']\n", "[tool.querylint]: `select`: unknown rule selector `QL999` (expected a rule code"),
        ("[tool.querylint]\nignore = ['no-such-rule']\n", "`ignore`: unknown rule selector `no-such-rule`"),
        ("[tool.querylint]\nselect = 'QL1'\n", "`select` must be a list of strings, got 'QL1'"),
        ("[tool.querylint]\npostgres-version = '15'\n", "`postgres-version` must be an integer, got '15'"),
        ("[tool.querylint]\nrespect-gitignore = 1\n", "`respect-gitignore` must be a boolean, got 1"),
        ("[tool.querylint]\noutput-format = 'xml'\n", "unknown output-format `xml`"),
        ("[tool.querylint.per-file-ignores]\n'a.sql' = ['QL77']\n", "[tool.querylint]: per-file-ignores['a.sql']: unknown rule selector `QL77`"),
        ("[tool.querylint.per-file-ignores]\n'a.sql' = 'QL001'\n", "`per-file-ignores` must be a table of glob = [rule selectors]"),
        ("[tool.querylint.rules.no-such-rule]\nx = 1\n", "unknown rule `no-such-rule` in [rules.no-such-rule]"),
        ("[tool.querylint\nselect = []\n", "pyproject.toml: invalid TOML: "),
    ],
)
def test_errors_name_the_problem(tmp_path: Path, toml: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", toml)
    with pytest.raises(ConfigError) as exc:
        load_config([], cwd=str(tmp_path))
    assert message in str(exc.value)


def test_broken_toml_in_unrelated_pyproject_is_still_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config([], cwd=str(tmp_path))


def test_explicit_config_and_isolated(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.querylint]\nselect = ['QL0']\n")
    other = write(tmp_path / "conf" / "querylint.toml", "select = ['QL001']\n")
    cfg = load_config([], config_file=str(other), cwd=str(tmp_path))
    assert (cfg.select, cfg.root) == (("QL001",), str(tmp_path / "conf"))
    assert load_config([], isolated=True, cwd=str(tmp_path)) == Config(root=str(tmp_path))
    with pytest.raises(ConfigError, match=r"config file not found: nope\.toml"):
        load_config([], config_file="nope.toml", cwd=str(tmp_path))


def test_no_config_and_path_outside_cwd_roots_at_the_path(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "q.sql", "SELECT 1;\n")
    (tmp_path / "here").mkdir()
    cfg = load_config([str(tmp_path / "elsewhere" / "q.sql")], cwd=str(tmp_path / "here"))
    assert cfg.root == str(tmp_path / "elsewhere")
    assert load_config(["../elsewhere"], cwd=str(tmp_path / "here")).root == str(tmp_path / "elsewhere")
    assert load_config(["."], cwd=str(tmp_path / "here")).root == str(tmp_path / "here")


def test_config_found_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    write(tmp_path / "svc" / "querylint.toml", "select = ['QL001']\n")
    (tmp_path / "other").mkdir()
    cfg = load_config([str(tmp_path / "svc" / "app" / "new_views.py")], cwd=str(tmp_path / "other"))
    assert (cfg.root, cfg.select) == (str(tmp_path / "svc"), ("QL001",))
