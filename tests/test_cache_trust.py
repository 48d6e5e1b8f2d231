"""The cache can neither run code nor change findings unless this user wrote it on this machine.

Issue 13, items 1, 5 and 6: every cache file carries a MAC keyed by a per-user secret kept
outside the project (and bound to the entry's name), verified before anything is unpickled;
the key file is refused when it is not this user's private regular file; and a ``cache-dir``
that is the project root, or a folder holding other files, is refused with exit code 2.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from querylint import cache as cache_mod
from querylint import engine as engine_mod
from querylint.cache import Cache, cache_key
from querylint.cli import main
from querylint.engine import RunResult
from querylint.testing import finding_lines, run_in

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(autouse=True)
def _key_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test here has a key folder of its own (not the user's)."""
    folder = tmp_path_factory.mktemp("keys") / "querylint"
    monkeypatch.setenv(cache_mod.KEY_DIR_ENV, str(folder))
    return folder


def _copy(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    # not a cache other runs left in the fixture (gitignored there)
    shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns(".querylint_cache"))
    return root


def _run(root: Path, **changes: Any) -> RunResult:
    return run_in(root, **changes)


def _findings(result: RunResult) -> list[tuple[str, int, str, str]]:
    return sorted(finding_lines(result))


def _cache_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".querylint_cache").rglob("*.pickle") if p.is_file())


class _Exploit:
    """Unpickling this creates ``marker`` (what a crafted, committed cache file would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


# -- (a) a crafted cache file runs no code --------------------------------------------------

def test_crafted_pickles_in_every_cache_file_run_no_code(tmp_path: Path) -> None:
    root = _copy("django_shop", tmp_path)
    expected = _findings(_run(root, cache=False))
    assert expected, "the fixture has findings to compare"
    _run(root)  # writes every kind of entry: run, index, models and SQL packs
    files = _cache_files(root)
    kinds = {p.relative_to(root / ".querylint_cache").parts[1].split("-")[0] for p in files}
    assert {"run", "index", "models"} <= kinds
    marker = tmp_path / "pwned"
    raw = pickle.dumps(_Exploit(str(marker)), protocol=pickle.HIGHEST_PROTOCOL)
    for i, path in enumerate(files):
        # half the files a bare pickle, half with this format's header and a forged MAC
        path.write_bytes(raw if i % 2 else cache_mod.MAGIC + bytes(cache_mod.MAC_SIZE) + raw)
    again = _run(root)
    assert not marker.exists()
    assert _findings(again) == expected
    assert not [d for d in again.diagnostics if d.code == "QL000"]


def test_crafted_entry_is_a_miss_through_the_api(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path / "c"))
    cache.put("models", "a.py", "d1", {"x": 1})
    (entry,) = _cache_files_of(tmp_path / "c")
    marker = tmp_path / "pwned"
    entry.write_bytes(pickle.dumps(_Exploit(str(marker))))
    assert cache.get("models", "a.py", "d1") is None
    cache.put_pack("sql", {("a.py", "d"): 1})
    pack = next(p for p in _cache_files_of(tmp_path / "c") if p.name == "pack.pickle")
    pack.write_bytes(pickle.dumps(_Exploit(str(marker))))
    assert cache.get_pack("sql") == {}
    assert not marker.exists()
    assert (cache.hits, cache.misses) == (0, 1)


def _cache_files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.pickle") if p.is_file())


# -- (b) random byte changes never change the findings ---------------------------------------

def test_random_byte_changes_are_misses_never_other_findings(tmp_path: Path) -> None:
    root = _copy("django_shop", tmp_path)
    expected = _findings(_run(root, cache=False))
    _run(root)
    pristine = tmp_path / "pristine"
    shutil.copytree(root / ".querylint_cache", pristine)
    rng = random.Random(13)
    changed_runs = 0
    for _trial in range(40):
        shutil.rmtree(root / ".querylint_cache")
        shutil.copytree(pristine, root / ".querylint_cache")
        for path in _cache_files(root):
            if rng.random() < 0.5:
                continue
            data = bytearray(path.read_bytes())
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] ^= rng.randint(1, 255)
            path.write_bytes(bytes(data))
            changed_runs += 1
        got = _run(root)
        assert _findings(got) == expected
        assert not [d for d in got.diagnostics if d.code == "QL000"]
    assert changed_runs > 40


def test_one_changed_byte_anywhere_in_an_entry_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path / "c"))
    value = {"message": "select-star at line 12", "lines": list(range(20))}
    cache.put("models", "a.py", "d1", value)
    (entry,) = _cache_files_of(tmp_path / "c")
    good = entry.read_bytes()
    for i in range(len(good)):  # the header, the MAC and every byte of the payload
        data = bytearray(good)
        data[i] ^= 0x01
        entry.write_bytes(bytes(data))
        assert cache.get("models", "a.py", "d1") is None, i
    entry.write_bytes(good[:-1])  # truncated
    assert cache.get("models", "a.py", "d1") is None
    entry.write_bytes(good)
    assert cache.get("models", "a.py", "d1") == value



def test_entry_that_is_a_link_is_a_miss(tmp_path: Path) -> None:
    """Only the regular files the cache wrote are read: a committed link could name an endless
    device (``/dev/zero``) or a file of the user's; here it names an authentic entry moved away."""
    cache = Cache(str(tmp_path / "c"))
    cache.put("models", "a.py", "d1", "facts")
    entry = Path(cache._file("models", "a.py", "d1"))
    moved = tmp_path / "elsewhere.pickle"
    entry.rename(moved)
    entry.symlink_to(moved)
    assert cache.get("models", "a.py", "d1") is None
    entry.unlink()
    entry.mkdir()
    assert cache.get("models", "a.py", "d1") is None
    assert (cache.hits, cache.misses) == (0, 2)


def test_writes_do_not_follow_a_link_out_of_the_cache(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path / "c"))
    cache.put("models", "a.py", "d1", "facts")
    kind_folder = Path(cache._file("models", "a.py", "d1")).parent.parent
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(kind_folder)
    kind_folder.symlink_to(outside)
    cache.put("models", "b.py", "d2", "facts")
    cache.put_pack("models", {("b.py", "d2"): 1})
    assert list(outside.iterdir()) == []


# -- (c) an entry written with another key, or for another name, is a miss -------------------

def test_cache_written_with_another_key_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _copy("django_shop", tmp_path)
    expected = _findings(_run(root))
    calls: list[int] = []
    real = engine_mod.index_project

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_mod, "index_project", counting)
    assert _findings(_run(root)) == expected
    assert calls == []  # the same key: answered from the cache
    monkeypatch.setenv(cache_mod.KEY_DIR_ENV, str(tmp_path / "other-user" / "querylint"))
    assert _findings(_run(root)) == expected
    assert calls == [1]  # another key (another user, or a committed cache): every entry a miss


def test_entry_copied_to_another_name_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path / "c"))
    cache.put("models", "a.py", "d1", "facts of a.py")
    cache.put("models", "b.py", "d2", "facts of b.py")
    a, b = (Path(cache._file("models", p, d)) for p, d in (("a.py", "d1"), ("b.py", "d2")))
    b.write_bytes(a.read_bytes())
    assert cache.get("models", "b.py", "d2") is None
    cache.put_pack("sql-x", {("a.py", "d1"): 1})
    cache.put_pack("sql-y", {("a.py", "d1"): 2})
    Path(cache._pack_file("sql-y")).write_bytes(Path(cache._pack_file("sql-x")).read_bytes())
    assert cache.get_pack("sql-y") == {}
    assert cache.get_pack("sql-x") == {("a.py", "d1"): 1}


# -- (d) the key file ------------------------------------------------------------------------

def test_key_is_created_private_and_reused(_key_dir: Path, tmp_path: Path) -> None:
    key = cache_key()
    assert key is not None and len(key) == 32
    path = _key_dir / "cache.key"
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert stat.S_IMODE(os.stat(_key_dir).st_mode) == 0o700
    assert path.read_bytes() == key
    cache_mod._KEYS.clear()
    assert cache_key() == key  # read again, not replaced
    assert [p.name for p in _key_dir.iterdir()] == ["cache.key"]  # no temporary file left


@pytest.mark.parametrize("why", ["group-readable", "world-readable", "symlink", "folder", "short", "other-owner"])
def test_refused_key_file_turns_the_cache_off_with_one_note(
        why: str, _key_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if why == "other-owner" and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    _key_dir.mkdir(mode=0o700)
    path = _key_dir / "cache.key"
    if why == "symlink":
        target = tmp_path / "elsewhere.key"
        target.write_bytes(os.urandom(32))
        os.chmod(target, 0o600)
        path.symlink_to(target)
    elif why == "folder":
        path.mkdir()
    else:
        path.write_bytes(os.urandom(16 if why == "short" else 32))
        os.chmod(path, {"group-readable": 0o640, "world-readable": 0o604}.get(why, 0o600))
        if why == "other-owner":
            os.chown(path, 1, 1)
    capsys.readouterr()
    root = _copy("django_shop", tmp_path)
    expected = _findings(_run(root, cache=False))
    assert _findings(_run(root)) == expected
    assert _findings(_run(root)) == expected
    assert not (root / ".querylint_cache").exists()  # the cache is off: nothing written
    err = capsys.readouterr().err
    assert err.count("querylint: warning:") == 1
    assert "the cache is off" in err and str(path) in err


def test_unwritable_key_folder_turns_the_cache_off(_key_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        blocker = _key_dir.parent / "file"  # root writes anywhere: a folder below a file cannot exist
        blocker.write_text("", encoding="utf-8")
        monkeypatch.setenv(cache_mod.KEY_DIR_ENV, str(blocker / "querylint"))
    else:
        _key_dir.parent.chmod(0o500)
    capsys.readouterr()
    assert cache_key() is None
    cache = Cache(str(tmp_path / "c"))
    assert not cache.enabled
    cache.put("k", "p", "d", 1)
    assert cache.get("k", "p", "d") is None and not (tmp_path / "c").exists()
    err = capsys.readouterr().err
    assert err.count("querylint: warning:") == 1 and "the cache is off" in err


def test_key_folder_inside_the_project_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy("django_shop", tmp_path)
    monkeypatch.setenv(cache_mod.KEY_DIR_ENV, str(root / "keys"))
    capsys.readouterr()
    expected = _findings(_run(root, cache=False))
    assert _findings(_run(root)) == expected
    assert not (root / ".querylint_cache").exists() and not (root / "keys").exists()
    err = capsys.readouterr().err
    assert err.count("querylint: warning:") == 1 and "inside the project" in err


# -- (e) cache-dir ---------------------------------------------------------------------------

def _cli_project(tmp_path: Path, cache_dir: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "views.sql").write_text("SELECT * FROM orders;\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(f'[tool.querylint]\ncache-dir = "{cache_dir}"\n', encoding="utf-8")
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize(("cache_dir", "shown", "why"), [
    ("", ".", "the project root"),
    (".", ".", "the project root"),
    ("app", "app", "holds files that are not querylint's cache"),
    ("app/", "app", "holds files that are not querylint's cache"),
    ("..", "..", "the project root"),
])
def test_cache_dir_that_is_the_project_or_holds_its_files_is_refused(
        cache_dir: str, shown: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = _cli_project(tmp_path, cache_dir, monkeypatch)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert main(["check", "--output-format", "concise", "."]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"querylint: error: `cache-dir` = {cache_dir!r}: {shown} is ")
    assert why in err and err.count("\n") == 1
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before  # nothing written
    assert not (root / ".gitignore").exists() and not (root / "app" / ".gitignore").exists()
    assert main(["check", "--no-cache", "--output-format", "concise", "."]) == 1  # the cache off: nothing to refuse
    assert "QL101" in capsys.readouterr().out


def test_fresh_cache_dir_gets_gitignore_and_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = _cli_project(tmp_path, ".cache/ql", monkeypatch)
    assert main(["check", "--output-format", "concise", "."]) == 1
    assert (root / ".cache" / "ql" / ".gitignore").read_text(encoding="utf-8") == "*\n"
    assert (root / ".cache" / "ql" / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: ")
    assert not (root / ".cache" / ".gitignore").exists()  # only in the folder it is the cache of
    assert main(["check", "--output-format", "concise", "."]) == 1  # its own folder: accepted again
    assert capsys.readouterr().out.count("QL101") == 2


def test_existing_empty_folder_is_used_without_gitignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = _cli_project(tmp_path, "build-cache", monkeypatch)
    (root / "build-cache").mkdir()
    assert main(["check", "--output-format", "concise", "."]) == 1
    assert not (root / "build-cache" / ".gitignore").exists()  # not created by querylint
    assert (root / "build-cache" / "CACHEDIR.TAG").exists()  # marks it querylint's from now on
    assert _cache_files_of(root / "build-cache")
    assert main(["check", "--output-format", "concise", "."]) == 1
    assert not (root / "build-cache" / ".gitignore").exists()
    assert capsys.readouterr().out.count("QL101") == 2
    (root / "build-cache" / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main(["check", "--output-format", "concise", "."]) == 2  # it holds a file of the user's now
    assert "holds files that are not querylint's cache" in capsys.readouterr().err


def test_committed_tag_does_not_make_a_project_folder_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = _cli_project(tmp_path, "app", monkeypatch)
    (root / "app" / "CACHEDIR.TAG").write_text(cache_mod._TAG, encoding="utf-8")
    assert main(["check", "--output-format", "concise", "."]) == 2
    assert "`cache-dir` = 'app': app is " in capsys.readouterr().err
    assert not (root / "app" / ".gitignore").exists()



def test_cache_dir_outside_the_project_is_named_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (elsewhere / "data.csv").write_text("1\n", encoding="utf-8")
    _cli_project(tmp_path, str(elsewhere), monkeypatch)
    assert main(["check", "--output-format", "concise", "."]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"querylint: error: `cache-dir` = {str(elsewhere)!r}: {elsewhere} is a folder that holds")
    assert "'data.csv'" in err


def test_committed_link_in_the_cache_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A committed ``.querylint_cache`` with querylint's tag and a version folder that is a link
    (to a folder of the project, or anywhere): the cache's writes would follow it."""
    root = _cli_project(tmp_path, ".querylint_cache", monkeypatch)
    (root / ".querylint_cache").mkdir()
    (root / ".querylint_cache" / "CACHEDIR.TAG").write_text(cache_mod._TAG, encoding="utf-8")
    (root / ".querylint_cache" / "v0.1.0").symlink_to(root / "app")
    assert main(["check", "--output-format", "concise", "."]) == 2
    assert "`cache-dir` = '.querylint_cache': .querylint_cache is a folder that holds files that are not " \
           "querylint's cache (e.g. 'v0.1.0')" in capsys.readouterr().err
    assert sorted(p.name for p in (root / "app").iterdir()) == ["views.sql"]


def test_folder_of_the_project_named_with_dots_is_named_as_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = _cli_project(tmp_path, "..data", monkeypatch)
    (root / "..data").mkdir()
    (root / "..data" / "rows.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert main(["check", "--output-format", "concise", "."]) == 2
    assert "`cache-dir` = '..data': ..data is a folder that holds files that are not querylint's cache " \
           "(e.g. 'rows.sql')" in capsys.readouterr().err


def test_tag_that_is_a_link_does_not_make_a_folder_querylints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The tag is read without following a link (a link to a device or a FIFO would not end)."""
    root = _cli_project(tmp_path, "cache", monkeypatch)
    real_tag = tmp_path / "tag"
    real_tag.write_text(cache_mod._TAG, encoding="utf-8")
    (root / "cache").mkdir()
    (root / "cache" / "CACHEDIR.TAG").symlink_to(real_tag)
    assert main(["check", "--output-format", "concise", "."]) == 2
    assert "`cache-dir` = 'cache': cache is a folder that holds files that are not querylint's cache " \
           "(e.g. 'CACHEDIR.TAG')" in capsys.readouterr().err
