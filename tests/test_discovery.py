"""Discovery: .py/.sql files, default excludes, .gitignore, exclude patterns, --force-exclude."""

from __future__ import annotations

from pathlib import Path

from querylint.config import Config
from querylint.discovery import discover, project_files


def tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def found(root: Path, paths: list[str] | None = None, **cfg: object) -> list[tuple[str, bool]]:
    config = Config(root=str(root), **cfg)  # type: ignore[arg-type]
    return [(c.path, c.explicit) for c in discover([str(root / p) for p in (paths or ["."])], config)]


def test_py_and_sql_only_and_default_excludes(tmp_path: Path) -> None:
    tree(tmp_path, {
        "app/views.py": "", "db/q.sql": "", "README.md": "", "app/stub.pyi": "",
        ".venv/lib/x.py": "", "venv/x.py": "", "node_modules/x.sql": "", ".git/hooks/x.py": "",
        "app/__pycache__/x.py": "", "build/lib/x.py": "", "dist/x.py": "", ".tox/x.py": "",
        "lib/site-packages/x.py": "", ".querylint_cache/x.sql": "",
    })
    assert found(tmp_path) == [("app/stub.pyi", False), ("app/views.py", False), ("db/q.sql", False)]


def test_gitignore_nested_and_negated(tmp_path: Path) -> None:
    tree(tmp_path, {
        ".gitignore": "generated/\n*.tmp.sql\n",
        "generated/x.py": "",
        "a.tmp.sql": "",
        "keep.sql": "",
        "sub/.gitignore": "*.sql\n!wanted.sql\n",
        "sub/unwanted.sql": "",
        "sub/wanted.sql": "",
        "sub/code.py": "",
    })
    assert found(tmp_path) == [("keep.sql", False), ("sub/code.py", False), ("sub/wanted.sql", False)]
    # respect-gitignore = false
    assert sorted(p for p, _ in found(tmp_path, respect_gitignore=False)) == [
        "a.tmp.sql", "generated/x.py", "keep.sql", "sub/code.py", "sub/unwanted.sql", "sub/wanted.sql",
    ]


def test_exclude_replaces_defaults_extend_exclude_adds(tmp_path: Path) -> None:
    tree(tmp_path, {"legacy/old.sql": "", "app/gen_models.py": "", "app/views.py": "", "build/x.py": ""})
    assert [p for p, _ in found(tmp_path, extend_exclude=("legacy/", "gen_*.py"))] == ["app/views.py"]
    # `exclude` replaces the default list, so build/ is walked again
    assert [p for p, _ in found(tmp_path, exclude=("legacy",))] == ["app/gen_models.py", "app/views.py", "build/x.py"]
    # anchored pattern: only at the root
    assert [p for p, _ in found(tmp_path, extend_exclude=("/app/views.py",))] == ["app/gen_models.py", "legacy/old.sql"]


def test_explicit_paths_are_checked_unless_force_exclude(tmp_path: Path) -> None:
    tree(tmp_path, {"legacy/old.sql": "", "legacy/sub/x.sql": "", ".gitignore": "ignored.sql\n", "ignored.sql": ""})
    ex = ("legacy/",)
    assert found(tmp_path, ["legacy/old.sql", "ignored.sql"], extend_exclude=ex) == [
        ("legacy/old.sql", True), ("ignored.sql", True),
    ]
    assert found(tmp_path, ["legacy/old.sql", "legacy/sub/x.sql", "legacy"], extend_exclude=ex, force_exclude=True) == []
    # a folder named explicitly is walked even though it is excluded (without force-exclude)
    assert found(tmp_path, ["legacy"], extend_exclude=ex) == [("legacy/old.sql", False), ("legacy/sub/x.sql", False)]


def test_missing_explicit_path_is_yielded_for_the_engine_to_report(tmp_path: Path) -> None:
    assert found(tmp_path, ["nope.sql"]) == [("nope.sql", True)]


def test_explicit_non_sql_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    tree(tmp_path, {"notes.txt": ""})
    warnings: list[str] = []
    config = Config(root=str(tmp_path))
    assert list(discover([str(tmp_path / "notes.txt")], config, warn=warnings.append)) == []
    assert warnings == [f"{tmp_path / 'notes.txt'}: not a .py or .sql file; skipped"]


def test_project_files_walk_only_the_root(tmp_path: Path) -> None:
    tree(tmp_path, {"outside.sql": "", "proj/a.sql": "", "proj/b/c.py": "", "proj/.venv/x.py": ""})
    config = Config(root=str(tmp_path / "proj"))
    assert [c.path for c in project_files(config, exclude={"a.sql"})] == ["b/c.py"]


def test_paths_outside_root_are_shown_absolute(tmp_path: Path) -> None:
    tree(tmp_path, {"other/q.sql": "", "proj/x.sql": ""})
    config = Config(root=str(tmp_path / "proj"))
    assert [c.path for c in discover([str(tmp_path / "other")], config)] == [str(tmp_path / "other" / "q.sql")]


def test_gitignore_above_the_project_root_inside_the_git_repo(tmp_path: Path) -> None:
    tree(tmp_path, {".gitignore": "generated/\n", "svc/generated/x.sql": "", "svc/q.sql": ""})
    (tmp_path / ".git").mkdir()
    assert found(tmp_path / "svc") == [("q.sql", False)]
    # without a git repository, a .gitignore above the root is not read
    (tmp_path / ".git").rmdir()
    assert found(tmp_path / "svc") == [("q.sql", False), ("generated/x.sql", False)]


def test_special_files_are_skipped(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.sql")
    tree(tmp_path, {"q.sql": ""})
    assert found(tmp_path) == [("q.sql", False)]
    warnings: list[str] = []
    assert list(discover([str(tmp_path / "pipe.sql")], Config(root=str(tmp_path)), warn=warnings.append)) == []
    assert warnings == [f"{tmp_path / 'pipe.sql'}: not a regular file; skipped"]


def test_plain_name_patterns_answer_like_gitignore_matching(tmp_path: Path) -> None:
    import random

    from querylint.discovery import Matcher

    cfg = Config(root=str(tmp_path), extend_exclude=("generated.py", "fixtures_big"))
    fast = Matcher(cfg)
    assert fast._names is not None and "node_modules" in fast._names and "generated.py" in fast._names
    slow = Matcher(cfg)
    slow._names = None  # the general gitignore matching
    rng = random.Random(5)
    names = ["a", "build", "dist", "node_modules", "x.py", "generated.py", "fixtures_big", "venv", ".git", "b.sql", "buildx"]
    for _ in range(2000):
        parts = [rng.choice(names) for _ in range(rng.randint(1, 4))]
        path = str(tmp_path.joinpath(*parts))
        for is_dir in (False, True):
            # walked: the parents were admitted, so only paths whose parents pass are asked
            if any(slow.is_excluded(str(tmp_path.joinpath(*parts[:i])), True) for i in range(1, len(parts))):
                continue
            assert fast.is_excluded(path, is_dir, walked=True) == slow.is_excluded(path, is_dir, walked=True), (parts, is_dir)
    for _ in range(1000):  # a path named on the command line: any of its folders counts too
        parts = [rng.choice(names) for _ in range(rng.randint(1, 4))]
        for is_dir in (False, True):
            for path in (str(tmp_path.joinpath(*parts)), "/elsewhere/" + "/".join(parts)):
                assert fast.is_excluded(path, is_dir) == slow.is_excluded(path, is_dir), (path, is_dir)
    assert Matcher(Config(root=str(tmp_path), extend_exclude=("*.gen.py",)))._names is None  # a wildcard
    assert Matcher(Config(root=str(tmp_path), exclude=("build/",)))._names is None  # folders only
    assert Matcher(Config(root=str(tmp_path), extend_exclude=("!keep",)))._names is None  # a negation
