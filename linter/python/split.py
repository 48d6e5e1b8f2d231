"""Half of the project parsed and walked by a forked partner process.

A parse tree cannot travel between processes cheaply (unpickling one costs more than parsing
it), and every later step of the Python front end reads trees: so on a large project the
Python files are shared out between two processes, and each walks the files it parsed. They
share them as they go, from one queue sorted by :func:`cost`, costliest first: each process
takes the next file when it is done with the last (this process after the files only it may
parse), so both finish parsing together however fast each one runs; and as each gets a like mix
of files, and walking costs about what parsing does, they finish walking near together too.
What crosses between them holds no tree:

1. partner -> here, in chunks as it parses (:class:`_Spool`, read here between this process's
   own files), then the spool's offset once the queue is empty: per file it took, a
   :class:`~querylint.python.analyzer.ModuleStub` (imports, top-level functions and classes),
   the file's model facts (``extract_models``) and the SQL found in it (fragments, pglast
   statements, problems), or nothing when the file does not parse (this process parses it
   again for the message);
2. here -> partner, spooled in chunks as this process parses, then (once the queue is empty)
   the spool's offset with the order of the project's files: the stubs of this process's
   modules (it computed their ``ModuleInfo`` as it parsed them);
3. here -> partner, once the model registry exists: the registry (the partner indexes the
   project and walks its half);
4. here -> partner, once the migrations are read: the schema (received by a thread of the
   partner while it walks, and waited for only when the walk asks the schema something);
5. partner -> here, spooled in chunks as it walks (read here between this process's own
   jobs), then the spool's offset: the records of the functions of its half (by job number).

Both processes then hold the same index and walk each function where its tree is, module by
module; the one done first takes over the other's last modules, parsing them again, while that
pays (:class:`_Claims`: a process can run slower than the other for a while, and the walk,
unlike the parse, is not shared out as it goes). The records are applied in one order: the
facts are the same as one process walking everything (tests/test_split.py). The queue holds the
files nothing else reads the trees of (no migrations, no settings); the partner's files'
``ParsedFile`` here parses its tree on demand, so anything that asks for one anyway, and every
failure of the partner, costs time, never facts.
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, cast

from querylint.config import Config
from querylint.source import SourceFile

if TYPE_CHECKING:
    from querylint.schema import Schema

#: ``project.facts`` key of the running :class:`Partner` (taken by the analysis)
PARTNER = "python_partner"

#: below this many bytes of Python the split costs more than it saves (a fork, two messages)
MIN_BYTES = 4_000_000
#: the files at the head of the queue the partner takes whatever the other process does
RESERVED = 1

#: the partner writes its stubs and records to the spool in chunks of this many files / jobs
STUB_CHUNK = 64
RECORD_CHUNK = 512
#: a process done with its own modules takes over one of the other's (parsing it again, about
#: twice what walking it costs) when that module's jobs are at most this share of the other's
#: jobs not started yet: it finishes sooner than the other would have
STEAL_SHARE = 0.25

#: one file of the partner's first message: (path, stub or None when it does not parse,
#: (key, model facts) or None, (fragments, statements, problems) or None, whether its text may
#: hold a suppression comment (``suppressions.may_hold_suppressions``))
StubRecord = tuple[str, Any, "tuple[str, Any] | None", "tuple[Any, Any, Any] | None", bool]


def available() -> bool:
    """A partner can be forked here (POSIX ``fork``, no other thread running)."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def cost(src: SourceFile, walked: bool) -> int:
    """What parsing and walking a file costs, roughly: both grow with its calls and
    definitions far more closely than with its bytes (a generated ``*_pb2.py`` is mostly one
    string), and walking it costs about what parsing does (nothing for a test module the walk
    leaves out)."""
    return (src.text.count("(") + 1) * (2 if walked else 1)


class Partner:
    """The forked process walking the other half. Every failure (it died, it could not start,
    it answered nonsense) makes a method return None: the caller does the work itself."""

    def __init__(self, queue: Sequence[SourceFile], module_of: Callable[[SourceFile], str | None], sql_cached: Set[str],
                 sources: Mapping[str, SourceFile], config: Config, root: str, *, pickled: bool = False) -> None:
        """``queue``: the files the partner may parse, costliest first; it and this process
        (:meth:`take`) take the next one until none is left. ``module_of``: a file's module path
        when it may define models; ``sql_cached``: the files whose SQL the cache has (of the
        others, what may hold SQL is searched: :attr:`sql` has what was found).
        ``sources``: every source of the project (inherited, by fork). ``pickled``: the records
        are wanted pickled (:attr:`record_chunks`, for the index cache)."""
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.queue = list(queue)
        self.queued = frozenset(src.path for src in self.queue)
        #: the queue's next file (the partner's first files are its own: it has some even when
        #: this process, which starts first, could take the whole queue of a small project)
        self.reserved = min(RESERVED, len(self.queue))
        self._next: Any = ctx.Value("q", self.reserved)
        self.claims = _Claims(ctx)
        self.stubs: dict[str, Any] = {}
        self.models: dict[str, tuple[str, Any]] = {}
        self.sql: dict[str, tuple[Any, Any, Any]] = {}
        self.unparsed: list[str] = []
        #: whether each of its files may hold a suppression comment
        self.suppressible: dict[str, bool] = {}
        #: ``ModuleInfo`` and stubs of this process's modules, computed while the partner parses
        self.infos: dict[str, Any] = {}
        #: this process's stubs not spooled to the partner yet (:attr:`out`, in chunks as made)
        self._own_stubs: dict[str, Any] = {}
        self._sent = self._complete = False
        self.spool = _Spool()  # partner -> here
        self.out = _Spool()  # here -> partner
        self._got_stubs: list[StubRecord] = []
        self._got_records: dict[int, Any] = {}
        #: with ``pickled``, every record of the walk in chunks, pickled: the partner's as it
        #: pickled them for its spool, this process's as it walks (the index cache keeps them so)
        self.record_chunks: list[bytes] | None = [] if pickled else None
        self._conn, child = ctx.Pipe()
        self._proc: Any = ctx.Process(target=_partner_main, args=(child, self._conn, os.getpid(), self, module_of, sql_cached, sources, config, root),
                                      daemon=True)
        self._proc.start()
        child.close()
        self._alive = True

    def take(self) -> SourceFile | None:
        """The queue's next file; None once every file is taken."""
        return _take(self._next, self.queue, alive=self._proc.is_alive)

    def poll(self) -> None:
        """Read what the partner has spooled so far (between this process's own files and jobs:
        what is read here is not read while the other process waits)."""
        if self._alive:
            self._absorb(self.spool.frames())

    def _absorb(self, frames: list[tuple[bytes, Any]] | None) -> bool:
        if frames is None:
            return False
        for data, frame in frames:
            if isinstance(frame, list) and not self._got_records:
                self._got_stubs.extend(frame)
            elif isinstance(frame, dict):
                self._got_records.update(frame)
                if self.record_chunks is not None:
                    self.record_chunks.append(data)
            else:
                return False
        return True

    def _spooled_to(self) -> bool:
        """Everything the partner spooled up to the offset of its next message (False: it failed)."""
        end = self._recv()
        if not isinstance(end, int) or isinstance(end, bool) or not self._absorb(self.spool.frames(end)) or self.spool.read != end:
            self.close()
            return False
        return True

    def collect_stubs(self) -> bool:
        """Phase 1: the stubs and model facts of the partner's half (False: it failed)."""
        if not self._spooled_to():
            return False
        for path, stub, models, sql, suppressible in self._got_stubs:
            self.suppressible[path] = suppressible
            if stub is None:
                self.unparsed.append(path)
                continue
            self.stubs[path] = stub
            if models is not None:
                self.models[path] = models
            if sql is not None:
                self.sql[path] = sql
        return True

    def index_own(self, pf: Any) -> None:
        """The ``ModuleInfo`` and the stub of a module of this process (``pf``: its parsed file)."""
        from querylint.python.analyzer import module_info, stub_of

        info = self.infos[pf.source.path] = module_info(pf.source, pf.tree)
        self._own_stubs[pf.source.path] = stub_of(info)
        if len(self._own_stubs) >= STUB_CHUNK:
            self._put_own()

    def _put_own(self) -> bool:
        if not self._alive:
            return False
        try:
            self.out.put(self._own_stubs)
        except Exception:  # a full disk...: the partner's files are parsed here
            self.close()
            return False
        self._own_stubs = {}
        return True

    def send_stubs(self, files: Mapping[str, Any]) -> None:
        """Phase 2: the order of ``files`` (the project's files, by path) and the stubs of this
        process's modules (:meth:`index_own` spooled them in chunks as they were made)."""
        self._sent = self._put_own() and self._send((list(files), self.out.written))

    def send_registry(self, registry: Any) -> None:
        """Phase 3: the model registry; the partner indexes the project and walks its half."""
        self._sent = self._sent and self._send(registry)

    def send_schema(self, schema: Any) -> None:
        """Phase 4: the schema, which the partner's walk may ask about."""
        self._sent = self._sent and self._send(schema)
        self._complete = self._sent

    def _send(self, message: Any) -> bool:
        if not self._alive:
            return False
        try:
            self._conn.send(message)
            return True
        except Exception:
            self.close()
            return False

    def walk(self, analysis: Any, jobs: list[Any]) -> dict[int, Any]:
        """This process's share of the walk: its modules, then any of the partner's it takes
        over (their records here, by job number)."""
        records: dict[int, Any] = {}
        chunk: dict[int, Any] = {}
        chunks = self.record_chunks

        def emit(i: int, record: Any) -> None:
            nonlocal chunk
            records[i] = record
            if len(records) % 256 == 0:
                self.poll()  # the partner's records so far
            if chunks is not None:  # pickled while walking, not in the tail of the run
                chunk[i] = record
                if len(chunk) >= RECORD_CHUNK:
                    chunks.append(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
                    chunk = {}

        _walk_shared(analysis, jobs, self.claims, HERE, emit, self._proc.is_alive)
        if chunks is not None and chunk:
            chunks.append(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        return records

    def records(self) -> dict[int, Any] | None:
        """Phase 5: the partner's walk records, by job number (None when it failed, or was
        not sent all it waits for)."""
        done = self._complete and self._spooled_to()
        self.close()
        return self._got_records if done else None

    def _recv(self) -> Any:
        if not self._alive:
            return None
        try:
            got = self._conn.recv()
        except Exception:  # EOF: the partner died
            self.close()
            return None
        if isinstance(got, BaseException):
            self.close()
            return None
        return got

    def close(self) -> None:
        if not self._alive:
            return
        self._alive = False
        self.spool.close()
        self.out.close()
        try:
            self._conn.close()
        except Exception:
            pass
        proc = self._proc
        proc.join(timeout=0.5)
        if proc.is_alive():
            proc.kill()
            proc.join()


#: the two sides of :class:`_Claims`
PARTNER_SIDE, HERE = 0, 1


class _Claims:
    """Who walks which module. Each process walks its own modules (:meth:`Analysis.units`) from
    the first; once done it takes over the other's from the last, parsing them again, while the
    module is small against what the other has not started (``STEAL_SHARE``): so both end
    their walk near together even when one runs slower than the other for a while.

    Shared: per side, the next module of its owner and the end of what is left to it."""

    def __init__(self, ctx: Any) -> None:
        self._slots: Any = ctx.Array("q", [-1, -1, -1, -1])

    def take(self, side: int, count: int, alive: Callable[[], bool] | None) -> int | None:
        """The next of ``side``'s own ``count`` modules, for its owner; None when none is left."""
        return cast("int | None", _locked(self._slots, lambda raw: _own(raw, side, count), alive))

    def steal(self, side: int, upto: list[int], alive: Callable[[], bool] | None) -> int | None:
        """The last of ``side``'s modules, for the other process, when it pays to take it over;
        None otherwise. ``upto[k]``: the jobs of its first ``k`` modules."""
        return cast("int | None", _locked(self._slots, lambda raw: _last(raw, side, upto), alive))


def _started(raw: Any, side: int, count: int) -> tuple[int, int]:
    if raw[2 * side + 1] < 0:  # the first to look sets it (both count the same modules)
        raw[2 * side], raw[2 * side + 1] = 0, count
    return raw[2 * side], raw[2 * side + 1]


def _own(raw: Any, side: int, count: int) -> int | None:
    first, end = _started(raw, side, count)
    if first >= end:
        return None
    raw[2 * side] = first + 1
    return first


def _last(raw: Any, side: int, upto: list[int]) -> int | None:
    first, end = _started(raw, side, len(upto) - 1)
    if first >= end or upto[end] - upto[end - 1] > STEAL_SHARE * (upto[end] - upto[first]):
        return None
    raw[2 * side + 1] = end - 1
    return end - 1


def _locked(shared: Any, op: Callable[[Any], Any], alive: Callable[[], bool] | None) -> Any:
    """``op`` of a shared array's raw values under its lock. ``alive``: whether the other
    process still runs (a process killed while it held the lock never frees it)."""
    lock = shared.get_lock()
    while not lock.acquire(timeout=0.5):
        if alive is not None and not alive():
            return op(shared.get_obj())  # no one else uses it now
    try:
        return op(shared.get_obj())  # the raw values: their item access would take the lock again
    finally:
        lock.release()


def _walk_shared(analysis: Any, jobs: list[Any], claims: _Claims, side: int, emit: Callable[[int, Any], None],
                 alive: Callable[[], bool] | None) -> None:
    """Walk ``side``'s modules, then take over the other side's while it pays (see
    :class:`_Claims`); ``emit`` gets each record with its job number."""
    import ast

    own = analysis.units(jobs, True)
    while (k := claims.take(side, len(own), alive)) is not None:
        for i in own[k]:
            emit(i, analysis.walk(jobs[i]))
    theirs = analysis.units(jobs, False)
    upto = [0]
    for unit in theirs:
        upto.append(upto[-1] + len(unit))
    while (k := claims.steal(1 - side, upto, alive)) is not None:
        path = jobs[theirs[k][0]][2].path
        try:  # the other process parsed it: it parses (else its records are missing, and the
            # analysis runs again in one process)
            tree = ast.parse(analysis.modules[path].source.text, filename=path)
            taken = analysis.adopt(path, tree, jobs, theirs[k])
        except Exception:
            return
        for i, job in zip(theirs[k], taken, strict=True):
            emit(i, analysis.walk(job))


def _take(next_: Any, queue: list[SourceFile], *, alive: Callable[[], bool] | None = None) -> SourceFile | None:
    """The next file of the shared queue (``next_``: its shared index)."""
    return cast("SourceFile | None", _locked(next_, lambda raw: _next(raw, queue), alive))


def _next(raw: Any, queue: list[SourceFile]) -> SourceFile | None:
    i: int = raw.value
    if i >= len(queue):
        return None
    raw.value = i + 1
    return queue[i]


def _partner_main(conn: Any, parent_end: Any, parent: int, partner: Partner, module_of: Callable[[SourceFile], str | None],
                  sql_cached: Set[str], sources: Mapping[str, SourceFile], config: Config, root: str) -> None:
    """The partner process: parse, send stubs, wait for the index, walk, send records, exit."""
    # the parent's end of the pipe, inherited by the fork: closed, or the partner would keep it
    # open and never see the end of the pipe when the parent dies
    parent_end.close()
    try:
        # ``_alive`` holds the partner's index and trees until it exits: freed one by one when
        # _serve returned, they cost ~0.15 s on mlflow-skinny before the records could go
        end, _alive = _serve(conn, parent, partner, module_of, sql_cached, sources, config, root)
        conn.send(end)
    except BaseException as exc:  # the parent does the work; tell it now rather than at EOF
        try:
            conn.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
        except Exception:
            pass
    finally:
        try:
            conn.close()
        finally:
            os._exit(0)  # no atexit handlers, no teardown of the inherited heap


def _parent_alive(parent: int) -> Callable[[], bool]:
    return lambda: os.getppid() == parent


def _wait(conn: Any, parent: int) -> Any:
    """The parent's next message; EOFError when the parent is gone (processes it forked later,
    the SQL workers, hold its end of the pipe too: the end of the pipe alone does not tell)."""
    while not conn.poll(0.5):
        if os.getppid() != parent:
            raise EOFError("the parent process is gone")
    return conn.recv()


def _serve(conn: Any, parent: int, partner: Partner, module_of: Callable[[SourceFile], str | None], sql_cached: Set[str],
           sources: Mapping[str, SourceFile], config: Config, root: str) -> tuple[int, Any]:
    """The partner's work: stubs and records spooled (the spool's end after the records), and
    what must outlive them (its index, its trees)."""
    from querylint.engine import parse_file
    from querylint.project import ProjectIndex
    from querylint.python import premade_models
    from querylint.python.analyzer import Analysis, ModuleInfo, module_info, stub_of
    from querylint.sql.embedded import may_hold_sql
    from querylint.suppressions import may_hold_suppressions

    gc.disable()  # everything here lives until the process exits (see engine._LongLivedTrees)
    infos: dict[str, ModuleInfo] = {}
    spool = partner.spool
    first: list[StubRecord] = []
    reserved = partner.queue[: partner.reserved]
    while True:
        if reserved:
            src = reserved.pop(0)
        elif (got := _take(partner._next, partner.queue)) is not None:
            src = got
        else:
            break
        sql = src.path not in sql_cached and may_hold_sql(src.text)
        module = module_of(src)
        pf = parse_file(src, config.sql_dialect, sql=sql)
        if pf.tree is None:
            first.append((src.path, None, None, None, may_hold_suppressions(src.text)))
            continue
        info = infos[src.path] = module_info(src, pf.tree)  # indexed later as it is
        models = premade_models(src, pf.tree, module) if module is not None else None
        found = (pf.fragments, pf.statements, pf.problems) if sql else None
        first.append((src.path, stub_of(info), models, found, may_hold_suppressions(src.text)))
        if len(first) >= STUB_CHUNK:
            spool.put(first)
            first = []
    spool.put(first)
    conn.send(spool.written)
    order, end = _wait(conn, parent)
    stubs: dict[str, Any] = {}
    for _data, chunk in partner.out.frames(end) or ():
        stubs.update(chunk)
    if partner.out.read != end:
        raise RuntimeError("the stubs of the other process did not read back")
    registry = _wait(conn, parent)
    schema = _Later(conn, parent)  # the parent reads the migrations meanwhile
    project = ProjectIndex(root=root, config=config)
    project.models = registry
    project.schema = cast("Schema", _SchemaLater(schema))
    analysis = Analysis(project)
    analysis.index(stubs=stubs, order=order, sources=sources, infos=infos)
    records: dict[int, Any] = {}

    def emit(i: int, record: Any) -> None:
        nonlocal records
        records[i] = record
        if len(records) >= RECORD_CHUNK:
            spool.put(records)
            records = {}

    _walk_shared(analysis, analysis.jobs(), partner.claims, PARTNER_SIDE, emit, _parent_alive(parent))
    spool.put(records)
    schema.get()  # received: the parent's send is over before the records go
    return spool.written, (analysis, infos)


class _Spool:
    """Pickled chunks from one process to the other, through an unlinked temporary file both
    hold (made before the fork): the writer writes each chunk as it is ready and goes on (a pipe
    would stop it until the other reads), the reader reads the chunks that are complete whenever
    it has a moment, and up to the offset the writer's next message names. One spool for each
    direction: :attr:`Partner.spool` (partner -> here), :attr:`Partner.out` (here -> partner).

    A frame is an 8-byte length and the pickle. Only the writer writes (it alone moves the
    file's offset, which both share); the reader reads at its own offsets (``pread``), and a
    frame not yet written whole reads short: it is left for the next time."""

    _HEAD = struct.Struct("<Q")

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="querylint-")
        self.written = 0  #: bytes written (by the writer)
        self.read = 0  #: bytes read (by the reader)

    def put(self, value: Any) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(self._HEAD.pack(len(data)) + data)
        fd = self._file.fileno()
        while view:
            view = view[os.write(fd, view):]
        self.written += self._HEAD.size + len(data)

    def frames(self, end: int | None = None) -> list[tuple[bytes, Any]] | None:
        """The chunks complete since the last read (up to ``end``), pickled and unpickled; None
        when the file holds no frame where one should be."""
        fd = self._file.fileno()
        out: list[tuple[bytes, Any]] = []
        try:
            while end is None or self.read < end:
                head = os.pread(fd, self._HEAD.size, self.read)
                if len(head) < self._HEAD.size:
                    break
                (size,) = self._HEAD.unpack(head)
                start = self.read + self._HEAD.size
                if end is not None and start + size > end:
                    return None
                data = os.pread(fd, size, start)
                if len(data) < size:
                    break
                out.append((data, pickle.loads(data)))
                self.read = start + size
        except Exception:  # a chunk that does not unpickle: the partner failed
            return None
        return out

    def close(self) -> None:
        self._file.close()


class _Later:
    """The parent's next message, received by a thread while this process goes on."""

    def __init__(self, conn: Any, parent: int) -> None:
        self._got: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._receive, args=(conn, parent), daemon=True)
        self._thread.start()

    def _receive(self, conn: Any, parent: int) -> None:
        try:
            self._got = _wait(conn, parent)
        except BaseException as exc:
            self._error = exc

    def get(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._got


class _SchemaLater:
    """The partner's ``project.schema``: the parent's schema, waited for on first use."""

    def __init__(self, later: _Later) -> None:
        self._later = later

    def __getattr__(self, name: str) -> Any:
        return getattr(self._later.get(), name)
