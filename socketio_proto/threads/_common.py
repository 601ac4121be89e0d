"""Threads plumbing shared by the threaded server and client.

* :class:`Link`: one TCP connection, a reader thread (blocking ``recv``) and a writer
  thread draining the connection's outgoing buffer, so the lock holder only ever
  appends bytes.  TLS runs in memory (:class:`Tls`): OpenSSL forbids using one
  connection from two threads at once, so its calls are made under the link's lock.
* :class:`Workers`: daemon threads running handler jobs, started on demand.
* :class:`Runner`: the one ``RLock`` around every driver call, the flush made when the
  outermost holder leaves, the one timer thread and the job runner::

      runner = Runner(driver, write_outputs, name="socketio_proto", max_workers=32)
      runner.start()
      with runner.section:                      # lock, then flush on the way out
          driver.receive_data(conn_id, data, time.monotonic())
      runner.stop(deadline)
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Generic, Protocol, TypeVar

from ..app.jobs import Call, Job
from ..errors import LocalProtocolError

logger = logging.getLogger("socketio_proto.threads")

READ_SIZE = 65536
CONNECT_TIMEOUT = 10.0
#: How long a closing connection's last bytes may take to leave before it is cut.
CLOSE_TIMEOUT = 10.0


class Tls:
    """A TLS session on memory buffers; the caller serialises every call (the link's lock)."""

    def __init__(
        self, context: ssl.SSLContext, *, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._ready = False
        # application bytes written before the handshake finished
        self.backlog = bytearray()

    def start(self) -> bytes:
        """Begin the handshake; returns the bytes to send (the client's hello)."""
        self._handshake()
        return self._outgoing.read()

    def receive(self, raw: bytes) -> tuple[bytes, bytes, bool]:
        """Feed bytes from the peer (``b""``: EOF): (plaintext, bytes to send, EOF seen)."""
        if raw:
            self._incoming.write(raw)
        else:
            self._incoming.write_eof()
        plain = bytearray()
        eof = False
        if not self._ready:
            self._handshake()
        if self._ready:
            while True:
                try:
                    chunk = self._tls.read(READ_SIZE)
                except ssl.SSLWantReadError:
                    break
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    eof = True
                    break
                if not chunk:
                    eof = True
                    break
                plain += chunk
        return bytes(plain), self._outgoing.read(), eof or not raw

    def send(self, plain: bytes) -> bytes:
        """Encrypt ``plain``; returns the bytes to send (none before the handshake ends)."""
        if not self._ready:
            self.backlog += plain
            return b""
        self._tls.write(plain)
        return self._outgoing.read()

    def _handshake(self) -> None:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return
        self._ready = True
        if self.backlog:
            self._tls.write(bytes(self.backlog))
            self.backlog.clear()


class LinkOwner(Protocol):
    """Where a :class:`Link` reports (called without the link's lock held)."""

    def link_received(self, link: Link, data: bytes) -> None: ...
    def link_finished(self, link: Link) -> None: ...


class Link:
    """One TCP connection: a reader thread, a writer thread and the bytes waiting to leave.

    Give ``sock`` (accepted) or ``address`` (the reader connects first; writes made
    meanwhile wait in the buffer).  The owner hears of every chunk read (``b""`` at
    the peer's EOF) and, once both threads ended and the socket is closed, of the end.
    """

    def __init__(
        self,
        owner: LinkOwner,
        conn_id: int,
        *,
        sock: socket.socket | None = None,
        address: tuple[str, int] | None = None,
        tls: Tls | None = None,
        name: str = "socketio_proto",
    ) -> None:
        self.owner = owner
        self.conn_id = conn_id
        self._sock = sock
        self._address = address
        #: The peer's address as ``accept`` gave it (None for a client's link).
        self.peer: Any = None
        self._tls = tls
        self._cond = threading.Condition()  # guards everything below, and the TLS session
        self._buffer = bytearray()
        self._in_flight = 0
        self._closing = False  # close once everything is written
        self._dead = False  # cut off or failed: drop everything
        self._threads = 1  # running threads: the reader, then the writer it starts
        name = f"{name}-conn{conn_id}"
        self._reader = threading.Thread(target=self._read, name=f"{name}-read", daemon=True)
        self._writer = threading.Thread(target=self._write, name=f"{name}-write", daemon=True)

    def start(self) -> None:
        self._reader.start()

    @property
    def unwritten(self) -> int:
        """Bytes accepted by :meth:`write` and not yet handed to the kernel."""
        with self._cond:
            return self._unwritten()

    def _unwritten(self) -> int:
        if self._dead:  # what a failed sendall left behind will never be written
            return 0
        backlog = len(self._tls.backlog) if self._tls is not None else 0
        return len(self._buffer) + self._in_flight + backlog

    def write(self, data: bytes) -> int:
        """Queue ``data`` for the writer (never blocks); returns the bytes now unwritten."""
        with self._cond:
            if self._dead or self._closing:
                return 0
            if self._tls is not None:
                data = self._tls.send(data)
            self._buffer += data
            self._cond.notify_all()
            return self._unwritten()

    def close(self) -> None:
        """Close once everything queued is written."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Cut the connection now, dropping what is unwritten (wakes both threads)."""
        with self._cond:
            self._dead = True
            self._buffer.clear()
            self._cond.notify_all()
            sock = self._sock
            # Under the lock: the socket is closed under it too, so its fd is never reused here.
            if sock is not None and sock.fileno() != -1:
                with contextlib.suppress(OSError):  # not connected (any more)
                    sock.shutdown(socket.SHUT_RDWR)

    def join(self, timeout: float) -> None:
        for thread in (self._reader, self._writer):
            if thread.ident is not None and thread is not threading.current_thread():
                thread.join(max(0.0, timeout))

    @property
    def alive(self) -> bool:
        return self._reader.is_alive() or self._writer.is_alive()

    # -- the threads ---------------------------------------------------------------------

    def _read(self) -> None:
        clean = False
        try:
            sock = self._connect()
            if sock is None:
                return
            while True:
                raw = sock.recv(READ_SIZE)
                data, eof = raw, not raw
                if self._tls is not None:
                    with self._cond:
                        data, out, eof = self._tls.receive(raw)
                        if out and not self._dead:
                            self._buffer += out
                            self._cond.notify_all()
                if data:
                    self.owner.link_received(self, data)
                if eof:
                    clean = True
                    with self._cond:
                        ours = self._closing or self._dead  # we hung up: nothing to report
                    if not ours:
                        self.owner.link_received(self, b"")
                    return
        except OSError as exc:  # ssl.SSLError included
            logger.debug("connection %d: %s", self.conn_id, exc)
        except Exception:
            logger.exception("connection %d failed", self.conn_id)
        finally:
            if not clean:
                self.abort()
            self._thread_done()

    def _connect(self) -> socket.socket | None:
        """The socket (connecting it first for a client); starts the writer."""
        sock = self._sock
        if sock is None:
            assert self._address is not None
            sock = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT)
            sock.settimeout(None)
        else:
            sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._cond:
            if self._dead:  # given up while connecting
                sock.close()
                return None
            self._sock = sock
            if self._tls is not None:
                self._buffer += self._tls.start()
            self._threads += 1
        self._writer.start()
        return sock

    def _write(self) -> None:
        try:
            while True:
                with self._cond:
                    while not (self._buffer or self._closing or self._dead):
                        self._cond.wait()
                    if self._dead or not self._buffer:
                        return
                    data = bytes(self._buffer)
                    self._buffer.clear()
                    self._in_flight = len(data)
                assert self._sock is not None
                self._sock.sendall(data)
                with self._cond:
                    self._in_flight = 0
        except OSError as exc:
            logger.debug("connection %d: %s", self.conn_id, exc)
        finally:
            self.abort()  # written and closing, or failed: hang up (wakes the reader)
            self._thread_done()

    def _thread_done(self) -> None:
        with self._cond:
            self._threads -= 1
            if self._threads:
                return
            self._dead = True
            if self._sock is not None:
                self._sock.close()
        self.owner.link_finished(self)


W = TypeVar("W")


class Workers(Generic[W]):
    """Daemon threads running jobs from one queue, started when none is idle (at most ``size``)."""

    def __init__(self, run: Callable[[W], None], size: int, name: str) -> None:
        if size < 1:
            raise ValueError("max_workers must be positive")
        self._run = run
        self._size = size
        self._name = name
        self._queue: SimpleQueue[W | None] = SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def submit(self, job: W) -> None:
        self._queue.put(job)
        if self._idle.acquire(blocking=False):
            return  # an idle worker takes it
        with self._lock:
            if len(self.threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-worker{len(self.threads)}", daemon=True
                )
                self.threads.append(thread)
                thread.start()

    def close(self, deadline: float) -> None:
        """Stop every worker after the jobs queued so far; join them until ``deadline``."""
        with self._lock:
            threads = list(self.threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception:  # the runner logs handler errors; this is a bug of ours
                logger.exception("worker failed")
            self._idle.release()


class Driven(Protocol):
    """What :class:`Runner` needs of a driver (server or client)."""

    def receive_data(self, conn_id: int, data: bytes, now: float) -> None: ...
    def connection_lost(self, conn_id: int, now: float) -> None: ...
    def take_jobs(self) -> list[Job]: ...
    def job_finished(self, job: Job, now: float) -> None: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...


D = TypeVar("D", bound=Driven)


class Section:
    """The lock around driver calls (also the app's guard): reentrant, flushes on the way out.

    The outermost exit writes what the calls inside queued, starts the released
    jobs and re-arms the timer, so any thread may call in.
    """

    __slots__ = ("_runner",)

    def __init__(self, runner: Runner[Any]) -> None:
        self._runner = runner

    def __call__(self) -> Section:
        return self

    def __enter__(self) -> None:
        runner = self._runner
        runner.lock.acquire()
        runner._depth += 1
        if runner._depth == 1:
            runner._owner = threading.get_ident()
        if runner._on_enter is not None:
            runner._on_enter()

    def __exit__(self, *exc_info: object) -> None:
        runner = self._runner
        try:
            if runner._depth == 1:
                runner._flush()
        finally:
            runner._depth -= 1
            if runner._depth == 0:
                runner._owner = 0
            runner.lock.release()


class Runner(Generic[D]):
    """One driver behind one lock: links, the timer thread and the handler workers.

    ``write(now)`` turns the driver's output into :meth:`Link.write` calls (it runs
    in the flush, lock held).  ``on_enter`` runs whenever the lock is taken (the
    server refreshes the application's clock there).
    """

    def __init__(
        self,
        driver: D,
        write: Callable[[float], None],
        *,
        name: str,
        max_workers: int,
        on_enter: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.lock = threading.RLock()
        self.section = Section(self)
        self.links: dict[int, Link] = {}
        self.running = False
        self.active_jobs = 0
        self._write = write
        self._on_enter = on_enter
        self.name = name
        self._depth = 0
        self._owner = 0
        self._changed = threading.Condition(self.lock)
        self._timer_wake = threading.Condition(self.lock)
        self._timer_at: float | None = None
        # closing links -> when to cut them if their last bytes have not left
        self._lingering: dict[Link, float] = {}
        self._timer = threading.Thread(target=self._run_timer, name=f"{name}-timer", daemon=True)
        self._workers: Workers[Job] = Workers(self._run_job, max_workers, name)

    def start(self) -> None:
        self.running = True
        self._timer.start()

    def stop(self, deadline: float) -> None:
        """Hang up every link, stop the timer and the workers, join them until ``deadline``."""
        with self.lock:
            self.running = False
            self._timer_wake.notify_all()
            self._changed.notify_all()  # blocked callers see the end
        seen: set[Link] = set()
        while True:  # again for links opened meanwhile (a flush may still open one)
            with self.lock:
                links = [link for link in self.links.values() if link not in seen]
            if not links:
                break
            seen.update(links)
            for link in links:
                link.close()
            for link in links:
                link.join(deadline - time.monotonic())
                if link.alive:  # a peer that does not read: cut it
                    link.abort()
                    link.join(0.5)
        if self._timer.ident is not None and self._timer is not threading.current_thread():
            self._timer.join(max(0.0, deadline - time.monotonic()))
        self._workers.close(deadline)
        current = threading.current_thread()  # a handler stopping its own client or server
        leftovers = [
            thread.name for thread in self.threads() if thread.is_alive() and thread is not current
        ]
        if leftovers:
            logger.warning("threads still running after close: %s", ", ".join(leftovers))

    def threads(self) -> list[threading.Thread]:
        """Every thread this runner started (for joining and tests)."""
        threads = [self._timer, *self._workers.threads]
        with self.lock:
            links = list(self.links.values())
        for link in links:
            threads += [link._reader, link._writer]
        return [thread for thread in threads if thread.ident is not None]

    def in_worker(self) -> bool:
        """Whether the calling thread is one of the handler workers."""
        return threading.current_thread() in self._workers.threads

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until ``predicate()`` (checked under the lock after every flush) or timeout."""
        if self._owner == threading.get_ident():
            raise LocalProtocolError(
                "cannot block while holding the adapter's lock (inside a guarded call or a "
                "callback); block from a handler or another thread instead"
            )
        with self.lock:
            return self._changed.wait_for(predicate, timeout)

    # -- link reports --------------------------------------------------------------------

    def link_received(self, link: Link, data: bytes) -> None:
        with self.section:
            self.driver.receive_data(link.conn_id, data, time.monotonic())

    def link_finished(self, link: Link) -> None:
        with self.section:
            self._lingering.pop(link, None)
            if self.links.get(link.conn_id) is link:
                del self.links[link.conn_id]
                self.driver.connection_lost(link.conn_id, time.monotonic())

    def close_link(self, link: Link) -> None:
        """Close ``link`` once written, cutting it if that takes over ``CLOSE_TIMEOUT`` (lock held).

        A peer that stops reading must not keep the connection's threads forever.
        """
        link.close()
        if link.unwritten:
            self._lingering[link] = time.monotonic() + CLOSE_TIMEOUT
            self._timer_wake.notify()

    # -- internals -----------------------------------------------------------------------

    def _flush(self) -> None:
        self._write(time.monotonic())
        if self.running:
            for job in self.driver.take_jobs():
                self.active_jobs += 1
                self._workers.submit(job)
        deadline = self.driver.next_deadline()
        if deadline != self._timer_at:
            self._timer_at = deadline
            self._timer_wake.notify()
        self._changed.notify_all()

    def _run_timer(self) -> None:
        with self.lock:
            while self.running:
                deadline = self._timer_at
                candidates = [*self._lingering.values(), *([] if deadline is None else [deadline])]
                due = min(candidates, default=None)
                now = time.monotonic()
                if due is None or now < due:
                    # Woken early when a deadline moves; never fire before it.
                    self._timer_wake.wait(None if due is None else due - now)
                    continue
                for link, cut_at in list(self._lingering.items()):
                    if cut_at <= now:
                        del self._lingering[link]
                        logger.warning("connection %d: closing took too long: cut", link.conn_id)
                        link.abort()
                if deadline is not None and deadline <= now:
                    self._timer_at = None
                    try:
                        with self.section:
                            self.driver.handle_timeout(now)
                    except Exception:
                        logger.exception("error handling a timeout")

    def _run_job(self, job: Job) -> None:
        """Advance the job's steps under the lock; call each handler without it (they may block)."""
        steps = job.steps
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                with self.section:
                    try:
                        call = steps.throw(error) if error is not None else steps.send(value)
                    except StopIteration:
                        return
                value, error = _call(job, call)
        except Exception:
            logger.exception("error in %s", job.description)
        finally:
            with self.section:
                self.active_jobs -= 1
                self.driver.job_finished(job, time.monotonic())


def _call(job: Job, call: Call) -> tuple[Any, BaseException | None]:
    """Call one handler: (its result, None) or (None, what it raised)."""
    try:
        result = call.function(*call.args)
    except Exception as exc:
        return None, exc
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it quietly
        return None, LocalProtocolError(
            f"a handler of {job.description} is async; use an async adapter"
        )
    return result, None
