"""A small on-disk cache: per-file facts by digest, and whole runs by a manifest of the project.

Phase one extracts facts (models, ...) from every file as pure functions of the file's text;
their results are pickled under ``<root>/.querylint_cache/v<version>/<kind>/``. A whole run's
findings are kept too (:class:`RunCache`): keyed by the code, the configuration and the
command, and valid while every project file has the size, mtime and content it had when the
run read it. Entries are written atomically (a temporary file then ``os.replace``), so two runs
at once never read a half-written entry; an entry that cannot be read is ignored and
rewritten. The folder carries a ``CACHEDIR.TAG`` and a ``.gitignore`` of ``*`` so backups and
git leave it alone.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from querylint import __version__
from querylint.slotstate import fast_pickle

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by querylint.\n"
_MISS = object()


_PACKAGE_DIGEST: str | None = None


def package_digest() -> str:
    """A digest of every module of querylint and its rules: a new build never reads old runs."""
    global _PACKAGE_DIGEST
    if _PACKAGE_DIGEST is None:
        import querylint
        import querylint.rules

        h = hashlib.blake2b(__version__.encode(), digest_size=16)
        for pkg in (querylint, querylint.rules):
            top = os.path.dirname(os.path.abspath(pkg.__file__ or "."))
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for name in sorted(filenames):
                    if name.endswith(".py"):
                        path = os.path.join(dirpath, name)
                        h.update(os.path.relpath(path, top).encode("utf-8", "surrogatepass") + b"\0")
                        try:
                            with open(path, "rb") as fh:
                                h.update(fh.read())
                        except OSError:
                            h.update(b"\1unreadable")
        _PACKAGE_DIGEST = h.hexdigest()
    return _PACKAGE_DIGEST


def dist_version(dist: str) -> str:
    """The installed version of distribution ``dist``, ``-`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "-"


def _parsers() -> tuple[str, ...]:
    """The Python and the SQL parsers' versions: their trees are what the findings come from."""
    import sys

    return (sys.version, *(f"{dist} {dist_version(dist)}" for dist in ("pglast", "sqlglot")))


def bytes_digest(data: bytes) -> str:
    """The digest a run manifest records for a file's content."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


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
        self._write(self._file(kind, path, digest), value)

    def _write(self, target: str, value: Any) -> None:
        """Pickle ``value`` to ``target`` atomically (a temporary file, then ``os.replace``)."""
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

    # -- packs: one entry holding many files' facts (one read and one write per run) ---------
    def _pack_file(self, kind: str) -> str:
        safe_kind = "".join(c if c.isalnum() or c in "-_" else "_" for c in kind)
        return os.path.join(self.base, safe_kind, "pack.pickle")

    def get_pack(self, kind: str) -> dict[tuple[str, str], Any]:
        """Every ``(path, digest) -> value`` of ``kind``; empty when absent, corrupt or disabled."""
        if not self.enabled:
            return {}
        try:
            with open(self._pack_file(kind), "rb") as fh:
                pack = pickle.load(fh)
        except Exception:
            return {}
        return pack if isinstance(pack, dict) else {}

    def put_pack(self, kind: str, pack: dict[tuple[str, str], Any]) -> None:
        """Replace the pack of ``kind`` (atomically: a reader sees the old one or the new one)."""
        if not self.enabled:
            return
        self._write(self._pack_file(kind), pack)

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


#: a file changed this close (ns) before the manifest's snapshot may change again within the
#: same mtime tick: its content is compared, not its stat (git's "racy clean" rule)
_RACY_NS = 2_000_000_000


@fast_pickle
@dataclass(frozen=True, slots=True)
class FileStamp:
    """What a run knew of one project file: stat (None: missing) and the digest of what it read."""

    size: int | None
    mtime_ns: int | None
    digest: str | None
    #: (ctime_ns, inode): a file replaced by another of the same size and mtime differs here
    ident: tuple[int, int] | None = None


Stat = tuple[int | None, int | None, tuple[int, int] | None]


def stat_of(abspath: str) -> Stat:
    try:
        st = os.stat(abspath)
    except OSError:
        return None, None, None
    return st.st_size, st.st_mtime_ns, (st.st_ctime_ns, st.st_ino)


def content_digest(abspath: str) -> str | None:
    try:
        with open(abspath, "rb") as fh:
            return bytes_digest(fh.read())
    except OSError:
        return None


class RunCache:
    """The results of whole runs: ``lookup(key, files)`` / ``store(key, files, stamps, value)``.

    ``key`` names the run (code, configuration, command); ``files`` are the ``(display path,
    absolute path)`` pairs of every file the run reads. An entry is used only when it lists the
    same files in the same order, each with the same size, mtime, ctime and inode (and none
    changed in the two seconds before the entry was written), or else the same content digest:
    a file touched but not changed is still a hit (and the entry's stat is refreshed).
    """

    KIND = "run"

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.snapshot_ns = 0
        self.stats: dict[str, Stat] = {}

    @staticmethod
    def key(*parts: Any) -> str:
        h = hashlib.blake2b(digest_size=16)
        for part in (__version__, package_digest(), _parsers(), *parts):
            h.update(repr(part).encode("utf-8", "surrogatepass") + b"\0")
        return h.hexdigest()

    def take_stats(self, files: Sequence[tuple[str, str]]) -> None:
        """Stat every file before the run reads anything (the manifest describes that moment)."""
        self.snapshot_ns = time.time_ns()
        self.stats = {path: stat_of(abspath) for path, abspath in files}

    def lookup(self, key: str, files: Sequence[tuple[str, str]], kind: str = KIND) -> Any:
        """The stored value, or None (absent, corrupt, or any file changed)."""
        if not self.cache.enabled:
            return None
        entry = self.cache.get(kind, "", key)
        if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], dict) and isinstance(entry[1], int)):
            return None
        manifest, snapshot_ns, value = entry
        if len(manifest) != len(files) or list(manifest) != [path for path, _ in files]:
            return None  # another set of files, or another order
        refreshed = False
        for path, abspath in files:
            stamp = manifest.get(path)
            if not isinstance(stamp, FileStamp):
                return None
            size, mtime_ns, ident = self.stats.get(path) or stat_of(abspath)
            recent = ident is not None and max(mtime_ns or 0, ident[0]) >= snapshot_ns - _RACY_NS
            if (size, mtime_ns, ident) == (stamp.size, stamp.mtime_ns, stamp.ident) and not recent:
                continue
            if size != stamp.size or content_digest(abspath) != stamp.digest:
                return None
            manifest[path] = FileStamp(size, mtime_ns, stamp.digest, ident)
            refreshed = True
        if refreshed:  # touched, not changed: next time the stat alone answers
            self.cache.put(kind, "", key, (manifest, self.snapshot_ns, value))
        return value

    def store(self, key: str, files: Sequence[tuple[str, str]], digests: dict[str, str | None], value: Any,
              kind: str = KIND) -> None:
        """Record ``value`` with the stats taken before the run and the digests of what it read."""
        if not self.cache.enabled:
            return
        manifest: dict[str, FileStamp] = {}
        for path, _abspath in files:
            size, mtime_ns, ident = self.stats.get(path, (None, None, None))
            manifest[path] = FileStamp(size, mtime_ns, digests.get(path), ident)
        self.cache.put(kind, "", key, (manifest, self.snapshot_ns, value))
