"""The per-file facts cache: keys, atomic writes, corrupt entries, and the model gatherers using it."""

from __future__ import annotations

import ast
import os
from typing import Any

from querylint import __version__
from querylint.cache import Cache
from querylint.config import Config
from querylint.project import ParsedFile, ProjectIndex
from querylint.python import index_models
from querylint.source import Language, SourceFile

MODELS = (
    "from django.db import models\n"
    "class Author(models.Model):\n    name = models.CharField(max_length=10)\n"
    "class Book(models.Model):\n    author = models.ForeignKey(Author, models.CASCADE)\n"
)


def test_get_put_roundtrip_and_layout(tmp_path: Any) -> None:
    folder = os.path.join(str(tmp_path), ".querylint_cache")
    cache = Cache(folder)
    assert cache.get("models", "a.py", "d1") is None
    cache.put("models", "a.py", "d1", {"x": (1, 2)})
    assert cache.get("models", "a.py", "d1") == {"x": (1, 2)}
    assert cache.get("models", "a.py", "d2") is None  # another digest
    assert cache.get("other", "a.py", "d1") is None  # another kind
    assert cache.get("models", "b.py", "d1") is None  # another path
    assert (cache.hits, cache.misses) == (1, 4)
    with open(os.path.join(folder, "CACHEDIR.TAG"), encoding="utf-8") as fh:
        assert fh.read().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    with open(os.path.join(folder, ".gitignore"), encoding="utf-8") as fh:
        assert fh.read() == "*\n"
    entries = [os.path.join(dp, f) for dp, _, fs in os.walk(folder) for f in fs if f.endswith(".pickle")]
    assert len(entries) == 1 and f"{os.sep}v{__version__}{os.sep}models{os.sep}" in entries[0]
    assert not [f for _, _, fs in os.walk(folder) for f in fs if f.startswith(".tmp-")]


def test_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path: Any) -> None:
    cache = Cache(str(tmp_path))
    cache.put("k", "p.py", "d", [1, 2, 3])
    (entry,) = [os.path.join(dp, f) for dp, _, fs in os.walk(str(tmp_path)) for f in fs if f.endswith(".pickle")]
    with open(entry, "wb") as fh:
        fh.write(b"\x80\x05not a pickle")
    assert cache.get("k", "p.py", "d") is None
    cache.put("k", "p.py", "d", [4])
    assert cache.get("k", "p.py", "d") == [4]


def test_disabled_cache_writes_nothing(tmp_path: Any) -> None:
    cfg = Config(root=str(tmp_path), cache=False)
    cache = Cache.for_config(cfg)
    cache.put("k", "p.py", "d", 1)
    assert cache.get("k", "p.py", "d") is None
    assert os.listdir(str(tmp_path)) == []
    on = Cache.for_config(Config(root=str(tmp_path), cache_dir="cc"))
    on.put("k", "p.py", "d", 1)
    assert os.listdir(str(tmp_path)) == ["cc"]


def test_unwritable_folder_is_not_an_error(tmp_path: Any) -> None:
    blocker = os.path.join(str(tmp_path), "file")
    with open(blocker, "w", encoding="utf-8") as fh:
        fh.write("")
    cache = Cache(os.path.join(blocker, "sub"))  # a folder below a regular file cannot exist
    cache.put("k", "p.py", "d", 1)
    assert cache.get("k", "p.py", "d") is None


def _project(root: str, *, with_tree: bool) -> ProjectIndex:
    files = {}
    for rel, text in (("lib/__init__.py", ""), ("lib/models.py", MODELS)):
        src = SourceFile(rel, text, Language.PYTHON, os.path.join(root, rel))
        files[rel] = ParsedFile(src, ast.parse(text) if with_tree else None)
    return ProjectIndex(root=root, files=files, config=Config(root=root))


def test_model_gatherer_uses_the_cache_and_needs_no_tree_on_a_hit(tmp_path: Any) -> None:
    root = str(tmp_path)
    first = _project(root, with_tree=True)
    index_models(first)
    assert first.facts["models_cache"] == {"hits": 0, "misses": 1}  # lib/__init__.py has no class: skipped
    second = _project(root, with_tree=False)
    index_models(second)
    assert second.facts["models_cache"] == {"hits": 1, "misses": 0}
    assert sorted(second.models.models) == sorted(first.models.models) == ["lib.Author", "lib.Book"]
    assert second.models.models["lib.Author"].relations["book_set"].target == "lib.Book"


def test_changed_text_misses(tmp_path: Any) -> None:
    root = str(tmp_path)
    index_models(_project(root, with_tree=True))
    changed = _project(root, with_tree=True)
    text = MODELS + "class Shelf(models.Model):\n    pass\n"
    src = SourceFile("lib/models.py", text, Language.PYTHON)
    changed.files["lib/models.py"] = ParsedFile(src, ast.parse(text))
    index_models(changed)
    assert changed.facts["models_cache"] == {"hits": 0, "misses": 1}
    assert "lib.Shelf" in changed.models.models


def _writer(folder: str, n: int) -> None:
    cache = Cache(folder)
    for i in range(n):
        cache.put("k", "p.py", "d", ["x" * 1000] * 200 + [i])


def test_two_processes_writing_at_once_never_expose_a_partial_entry(tmp_path: Any) -> None:
    import multiprocessing

    folder = str(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(folder, 40)) for _ in range(2)]
    for p in procs:
        p.start()
    reader = Cache(folder)
    seen = 0
    while any(p.is_alive() for p in procs):
        value = reader.get("k", "p.py", "d")
        if value is not None:
            assert len(value) == 201 and value[0] == "x" * 1000
            seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    final = reader.get("k", "p.py", "d")
    assert final is not None and final[-1] == 39
    assert not [f for _, _, fs in os.walk(folder) for f in fs if f.startswith(".tmp-")]


def test_entries_of_other_extractor_code_or_shape_are_not_used(tmp_path: Any) -> None:
    from querylint.cache import package_digest
    from querylint.python import models_cache_kind

    root = str(tmp_path)
    kind = models_cache_kind()
    cache = Cache.for_config(Config(root=root))
    src = SourceFile("lib/models.py", MODELS, Language.PYTHON)
    cache.put_pack(kind, {("lib/models.py", f"{src.digest}:lib.models"): ("not", "facts")})  # a stale shape
    project = _project(root, with_tree=True)
    index_models(project)
    assert sorted(project.models.models) == ["lib.Author", "lib.Book"]
    # entries are named by the digest of all of querylint's code (helpers like textspans too)
    assert kind == "models-" + package_digest()[:12]


def test_pack_roundtrip_corrupt_and_disabled(tmp_path: Any) -> None:
    cache = Cache(str(tmp_path))
    assert cache.get_pack("k") == {}
    cache.put_pack("k", {("a.py", "d1"): [1], ("b.py", "d2"): None})
    assert cache.get_pack("k") == {("a.py", "d1"): [1], ("b.py", "d2"): None}
    assert cache.get_pack("other") == {}
    (pack,) = [os.path.join(dp, f) for dp, _, fs in os.walk(str(tmp_path)) for f in fs if f == "pack.pickle"]
    with open(pack, "wb") as fh:
        fh.write(b"\x80\x05truncated")
    assert cache.get_pack("k") == {}
    with open(pack, "wb") as fh:
        import pickle

        pickle.dump(["not", "a", "dict"], fh)
    assert cache.get_pack("k") == {}
    off = Cache(str(tmp_path), enabled=False)
    off.put_pack("z", {("a", "b"): 1})
    assert off.get_pack("z") == {} and not os.path.exists(os.path.join(str(tmp_path), f"v{__version__}", "z"))
