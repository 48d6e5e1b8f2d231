"""A small on-disk cache: per-file facts by digest, and whole runs by a manifest of the project.

Phase one extracts facts (models, ...) from every file as pure functions of the file's text;
their results are pickled under ``<root>/.querylint_cache/v<version>/<kind>/``. A whole run's
findings are kept too (:class:`RunCache`): keyed by the code, the configuration and the
command, and valid while every project file has the size, mtime and content it had when the
run read it. Entries are written atomically (a temporary file then ``os.replace``), so two runs
at once never read a half-written entry; an entry that cannot be read is ignored and
rewritten.

A cache file may come from anywhere (a pull request can commit one), and unpickling runs code,
so nothing is unpickled that this user did not write on this machine: every file is
``MAGIC`` + a MAC + the pickle, the MAC keyed by a per-user secret kept outside the project
(:func:`cache_key`: ``$QUERYLINT_CACHE_KEY_DIR``, else ``$XDG_CACHE_HOME/querylint``, else
``~/.cache/querylint``; 32 random bytes, created 0600 in a 0700 folder) and computed over the
entry's name (kind, path, digest) and the whole content; it is checked with
``hmac.compare_digest`` before ``pickle.loads``. A file written with another key, for another
name, changed by one bit or truncated is a miss, never an error; a key file that is not this
user's private regular file (or none can be made: a read-only home) turns the cache off with
one note on stderr.

``cache-dir`` must be a folder of its own (:func:`check_cache_dir`): not the project root nor
a folder above it, and either absent, empty or holding only querylint's cache (its
``CACHEDIR.TAG``); anything else is a configuration error. A folder querylint creates gets a
``CACHEDIR.TAG`` and a ``.gitignore`` of ``*`` at once, so backups and git leave it alone; an
empty folder that was already there gets the tag only (it marks the folder querylint's), never
a ``.gitignore``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import re
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from querylint import __version__
from querylint.slotstate import fast_pickle

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by querylint.\n"

#: what every cache file starts with: this format (a MAC, then a pickle), version 1
MAGIC = b"QLC\x01"
#: HMAC-SHA256 (with the CPU's SHA instructions a little faster here than keyed BLAKE2b:
#: ~18 ms for the 21 MB index entry of mlflow-skinny)
MAC_SIZE = 32
KEY_DIR_ENV = "QUERYLINT_CACHE_KEY_DIR"
_KEY_FILE = "cache.key"
_KEY_SIZE = 32


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
    return (sys.version, *(f"{dist} {dist_version(dist)}" for dist in ("pglast", "sqlglot")))


def bytes_digest(data: bytes) -> str:
    """The digest a run manifest records for a file's content."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# -- the key -------------------------------------------------------------------------------

class _NoKey(Exception):
    """Why this process has no cache key (the cache is then off)."""


#: key folder -> its key, or None when refused (a run of this process asks once per folder)
_KEYS: dict[str, bytes | None] = {}
#: key folders found inside a project (noted once)
_INSIDE_NOTED: set[str] = set()


def key_dir() -> str:
    """The folder of the cache key: the user's, outside every project."""
    override = os.environ.get(KEY_DIR_ENV)
    if override:
        return os.path.abspath(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "querylint")


def cache_key() -> bytes | None:
    """This user's cache key, created on first use; None (and one note on stderr) when there is
    none to trust: the cache is then off."""
    folder = key_dir()
    if folder not in _KEYS:
        try:
            _KEYS[folder] = _read_key(folder)
        except _NoKey as exc:
            _KEYS[folder] = None
            _note(f"the cache is off: {exc}")
    return _KEYS[folder]


def _note(message: str) -> None:
    from querylint.reporters._escape import visible

    print(f"querylint: warning: {visible(message)}", file=sys.stderr)


def _read_key(folder: str) -> bytes:
    path = os.path.join(folder, _KEY_FILE)
    try:
        return _open_key(path)
    except FileNotFoundError:
        pass
    try:
        _create_key(folder, path)
    except OSError as exc:
        raise _NoKey(f"cannot create its key {path}: {exc.strerror or exc}") from None
    try:
        return _open_key(path)
    except OSError as exc:
        raise _NoKey(f"cannot read its key {path}: {exc.strerror or exc}") from None


def _open_key(path: str) -> bytes:
    """The key in ``path``, which must be this user's regular file that nobody else can read
    (not a link: ``O_NOFOLLOW``); FileNotFoundError when absent."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: a symbolic link; EACCES...
        raise _NoKey(f"its key {path} cannot be opened: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NoKey(f"its key {path} is not a regular file")
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            raise _NoKey(f"its key {path} belongs to another user")
        if st.st_mode & 0o077:
            raise _NoKey(f"its key {path} can be read by others (mode {stat.S_IMODE(st.st_mode):o}; it must be 600)")
        data = os.read(fd, _KEY_SIZE + 1)
    except OSError as exc:
        raise _NoKey(f"its key {path} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) != _KEY_SIZE:
        raise _NoKey(f"its key {path} is not {_KEY_SIZE} bytes long")
    return data


def _create_key(folder: str, path: str) -> None:
    """32 random bytes in ``path``, complete or not there at all: written to a temporary file
    (0600) and linked to ``path``, which fails if another process made it first (then both use
    that one)."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # O_CREAT | O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(_KEY_SIZE))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another run made it meanwhile
        except OSError:  # no hard links here: create it exclusively
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as fh:
                with open(tmp, "rb") as src:
                    fh.write(src.read())
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _open_no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))


def _mac(key: bytes, name: bytes, payload: bytes | memoryview) -> bytes:
    """The MAC of an entry: its name, this format's header and its content."""
    h = hmac.new(key, len(name).to_bytes(4, "big") + name + MAGIC, "sha256")
    h.update(payload)
    return h.digest()


# -- the cache folder ----------------------------------------------------------------------

#: the folders of querylint's cache inside a cache folder (one per version)
_VERSION_FOLDER = re.compile(r"v\d[\w.+!-]*")


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_cache_dir(folder: str, root: str, setting: str) -> None:
    """Refuse (:class:`~querylint.config.ConfigError`, exit 2) a cache folder querylint would
    hide from git and from itself: the project root or a folder above it, a path that is not a
    folder, or a folder holding anything but querylint's cache (its ``CACHEDIR.TAG``, its
    ``.gitignore`` and its version folders)."""
    from querylint.config import ConfigError
    from querylint.reporters._escape import visible

    real, real_root = os.path.realpath(folder), os.path.realpath(root)
    rel = os.path.relpath(real, real_root)
    # inside the project or above it: as the setting names it from the root; elsewhere: absolute
    parts = rel.split(os.sep)
    shown = visible(rel if os.pardir not in parts or set(parts) == {os.pardir} else real)
    head = f"`cache-dir` = {visible(repr(setting))}: {shown} is"
    if _is_within(real_root, real):
        raise ConfigError(f"{head} the project root or a folder holding it: querylint would write its cache among "
                          "the project's files; set `cache-dir` to a folder of its own (the default is \".querylint_cache\")")
    if not os.path.lexists(folder):
        return
    if not os.path.isdir(folder):
        raise ConfigError(f"{head} not a folder: set `cache-dir` to a folder of its own")
    try:
        entries = sorted(os.listdir(folder))
    except OSError as exc:
        raise ConfigError(f"{head} a folder that cannot be read: {exc.strerror or exc}") from None
    foreign = _foreign_entries(folder, entries)
    if foreign:
        raise ConfigError(f"{head} a folder that holds files that are not querylint's cache "
                          f"(e.g. {visible(repr(foreign[0]))}): querylint would write its cache among them; set "
                          "`cache-dir` to a folder of its own (the default is \".querylint_cache\")")


def _foreign_entries(folder: str, entries: Sequence[str]) -> list[str]:
    """What in ``folder`` is not querylint's cache: everything unless its ``CACHEDIR.TAG`` is
    querylint's, then anything but the tag, ``.gitignore``, version folders (not links) and
    temporary files."""
    rest = [e for e in entries if not e.startswith(".tmp-")]
    if not rest:
        return []
    try:
        with open(os.path.join(folder, "CACHEDIR.TAG"), encoding="utf-8", opener=_open_no_follow) as fh:
            ours = fh.read(len(_TAG) + 1) == _TAG
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        return rest
    return [e for e in rest if e not in ("CACHEDIR.TAG", ".gitignore")
            and not (_VERSION_FOLDER.fullmatch(e) and _is_real_folder(os.path.join(folder, e)))]


def _is_real_folder(path: str) -> bool:
    """A folder, not a link to one (a committed link would send the cache's writes elsewhere)."""
    return os.path.isdir(path) and not os.path.islink(path)


class Cache:
    """``get(kind, path, digest)`` / ``put(kind, path, digest, value)``; disabled: always misses.

    Enabled only with this user's key (:func:`cache_key`).
    """

    def __init__(self, folder: str | None, *, enabled: bool = True) -> None:
        self.key = cache_key() if enabled and folder is not None else None
        self.enabled = self.key is not None
        self.folder = folder or ""
        self.base = os.path.join(self.folder, "v" + __version__)
        self.hits = 0
        self.misses = 0
        self._ready = False

    @classmethod
    def for_config(cls, config: Any, root: str | None = None) -> Cache:
        """The cache of a run: ``<root>/<config.cache_dir>``, off when ``config.cache`` is false.

        A ``cache-dir`` that :func:`check_cache_dir` refuses raises
        :class:`~querylint.config.ConfigError`; a key folder inside the project turns the cache off.
        """
        if config is None or not getattr(config, "cache", True):
            return cls(None, enabled=False)
        base = root if root is not None else getattr(config, "root", ".")
        setting = getattr(config, "cache_dir", ".querylint_cache")
        folder = os.path.join(base, setting)
        check_cache_dir(folder, base, setting)
        keys = key_dir()
        if _is_within(os.path.realpath(keys), os.path.realpath(base)):  # a key the project could hold
            if keys not in _INSIDE_NOTED:
                _INSIDE_NOTED.add(keys)
                _note(f"the cache is off: its key folder {keys} is inside the project "
                      f"(set {KEY_DIR_ENV} or XDG_CACHE_HOME to a folder outside it)")
            return cls(None, enabled=False)
        return cls(folder)

    def _name(self, kind: str, path: str, digest: str) -> bytes:
        return f"{kind}\0{path}\0{digest}".encode("utf-8", "surrogatepass")

    def _file(self, kind: str, path: str, digest: str) -> str:
        key = hashlib.blake2b(self._name(kind, path, digest), digest_size=16).hexdigest()
        safe_kind = "".join(c if c.isalnum() or c in "-_" else "_" for c in kind)
        return os.path.join(self.base, safe_kind, key[:2], key + ".pickle")

    def get(self, kind: str, path: str, digest: str) -> Any:
        """The cached value, or ``None`` when absent, unreadable, not authentic or disabled."""
        if not self.enabled:
            return None
        value = self._read(self._file(kind, path, digest), self._name(kind, path, digest))
        if value is _MISS:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, path: str, digest: str, value: Any) -> None:
        if not self.enabled:
            return
        self._write(self._file(kind, path, digest), self._name(kind, path, digest), value)

    def _read(self, target: str, name: bytes) -> Any:
        """The value in ``target`` if it is this format and its MAC is right (checked before
        anything is unpickled), else ``_MISS``."""
        assert self.key is not None
        try:  # not through a link, not a device or a FIFO: a regular file, as long as it says
            with open(target, "rb", opener=_open_no_follow) as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    return _MISS
                data = fh.read(st.st_size)
        except OSError:
            return _MISS
        head = len(MAGIC) + MAC_SIZE
        if len(data) <= head or not data.startswith(MAGIC):
            return _MISS  # absent, truncated, another format (an older querylint's plain pickle)
        view = memoryview(data)
        if not hmac.compare_digest(view[len(MAGIC):head], _mac(self.key, name, view[head:])):
            return _MISS  # written with another key or for another entry, or changed since
        try:
            return pickle.loads(view[head:])
        except Exception:  # authentic but not loadable here (a class gone since): a miss
            return _MISS

    def _write(self, target: str, name: bytes, value: Any) -> None:
        """Pickle ``value`` to ``target`` atomically (a temporary file, then ``os.replace``)."""
        assert self.key is not None
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._prepare()
            if not self.enabled:
                return
            folder = os.path.dirname(target)
            if not _is_within(os.path.realpath(folder), os.path.realpath(self.base)):
                return  # a link in the cache (committed?) would take the write elsewhere
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(MAGIC + _mac(self.key, name, payload))
                    fh.write(payload)
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

    @staticmethod
    def _pack_name(kind: str) -> bytes:
        return b"pack\0" + kind.encode("utf-8", "surrogatepass")

    def get_pack(self, kind: str) -> dict[tuple[str, str], Any]:
        """Every ``(path, digest) -> value`` of ``kind``; empty when absent, corrupt, not authentic
        or disabled."""
        if not self.enabled:
            return {}
        pack = self._read(self._pack_file(kind), self._pack_name(kind))
        return pack if isinstance(pack, dict) else {}

    def put_pack(self, kind: str, pack: dict[tuple[str, str], Any]) -> None:
        """Replace the pack of ``kind`` (atomically: a reader sees the old one or the new one)."""
        if not self.enabled:
            return
        self._write(self._pack_file(kind), self._pack_name(kind), pack)

    def _prepare(self) -> None:
        """Make the cache folder before the first write. A folder made here gets the tag and a
        ``.gitignore``; one that was there, if empty, the tag only; one holding anything else
        (made meanwhile, or a folder never checked by :func:`check_cache_dir`) turns the cache off."""
        if self._ready:
            return
        parent = os.path.dirname(os.path.abspath(self.folder))
        os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(self.folder)
            created = True
        except FileExistsError:
            created = False
            if _foreign_entries(self.folder, os.listdir(self.folder)):
                self.enabled = False
                return
        names = [("CACHEDIR.TAG", _TAG), (".gitignore", "*\n")] if created else [("CACHEDIR.TAG", _TAG)]
        for name, text in names:
            path = os.path.join(self.folder, name)
            if not os.path.exists(path):
                fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, path)
        os.makedirs(self.base, exist_ok=True)
        self._ready = True


_MISS = object()


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
