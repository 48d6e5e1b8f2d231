"""A small on-disk cache of per-file facts, keyed by querylint version, kind, path and digest.

Phase one extracts facts (models, ...) from every file as pure functions of the file's text;
their results are pickled under ``<root>/.querylint_cache/v<version>/<kind>/``. Entries are
written atomically (a temporary file then ``os.replace``), so two runs at once never read a
half-written entry; an entry that cannot be read is ignored and rewritten. The folder carries
a ``CACHEDIR.TAG`` and a ``.gitignore`` of ``*`` so backups and git leave it alone.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any

from querylint import __version__

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by querylint.\n"
_MISS = object()


def code_digest(*modules: Any) -> str:
    """A short digest of the modules' source: facts cached by older code are never read back."""
    h = hashlib.blake2b(digest_size=6)
    for mod in modules:
        try:
            with open(mod.__file__, "rb") as fh:
                h.update(fh.read())
        except (OSError, TypeError, AttributeError):
            h.update(repr(mod).encode())
    return h.hexdigest()


class Cache:
    """``get(kind, path, digest)`` / ``put(kind, path, digest, value)``; disabled: always misses."""

    def __init__(self, folder: str | None, *, enabled: bool = True) -> None:
        self.enabled = enabled and folder is not None
        self.folder = folder or ""
        self.base = os.path.join(self.folder, "v" + __version__)
        self.hits = 0
        self.misses = 0
        self._ready = False

    @classmethod
    def for_config(cls, config: Any, root: str | None = None) -> Cache:
        """The cache of a run: ``<root>/<config.cache_dir>``, off when ``config.cache`` is false."""
        if config is None:
            return cls(None, enabled=False)
        base = root if root is not None else getattr(config, "root", ".")
        folder = os.path.join(base, getattr(config, "cache_dir", ".querylint_cache"))
        return cls(folder, enabled=bool(getattr(config, "cache", True)))

    def _file(self, kind: str, path: str, digest: str) -> str:
        key = hashlib.blake2b(f"{kind}\0{path}\0{digest}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        safe_kind = "".join(c if c.isalnum() or c in "-_" else "_" for c in kind)
        return os.path.join(self.base, safe_kind, key[:2], key + ".pickle")

    def get(self, kind: str, path: str, digest: str) -> Any:
        """The cached value, or ``None`` when absent, unreadable or disabled."""
        if not self.enabled:
            return None
        try:
            with open(self._file(kind, path, digest), "rb") as fh:
                value = pickle.load(fh)
        except Exception:  # absent, truncated, written by an incompatible version: a miss
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, path: str, digest: str, value: Any) -> None:
        if not self.enabled:
            return
        target = self._file(kind, path, digest)
        try:
            self._prepare()
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except (OSError, pickle.PickleError, TypeError, AttributeError, RecursionError):
            return  # a read-only checkout or an unpicklable value: run without the cache

    def _prepare(self) -> None:
        if self._ready:
            return
        os.makedirs(self.base, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "*\n")):
            path = os.path.join(self.folder, name)
            if not os.path.exists(path):
                fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, path)
        self._ready = True
