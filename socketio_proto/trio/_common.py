"""trio helpers shared by the server and the client.

:class:`Connection` is one TCP stream: a reader feeds the driver, and writes
queue in an outgoing buffer that a writer sends in order (so a peer that stops
reading stalls only its own writer).  On plain TCP a write with nothing queued
goes straight to the socket, so a broadcast wakes no writer task per client.
:class:`TrioRunner` runs a driver's jobs, its flushes and its one timer in a nursery.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import logging
import math
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import trio

from ..app.jobs import Job, advance
from ..app.server import PendingCall
from ..errors import LocalProtocolError

logger = logging.getLogger("socketio_proto.trio")

_READ_SIZE = 65536
# What ends a stream from the other side (resets, TLS failures, closed under us).
_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError)


async def wait_pending(pending: PendingCall) -> list[Any]:
    """Await a :class:`PendingCall` (its callbacks run in the trio thread)."""
    if not pending.done:
        settled = trio.Event()
        pending.add_done_callback(lambda _: settled.set())
        await settled.wait()
    return pending.result()


class Connection:
    """One TCP connection: a reader task, and a writer task sending the outgoing buffer.

    :attr:`unwritten` counts the bytes queued or being sent, the measure of a
    slow consumer.  :meth:`close` hangs up once the queue is sent; :meth:`abort`
    at once.
    """

    __slots__ = ("_fd", "_wake", "closing", "conn_id", "in_flight", "outgoing", "scope")

    def __init__(self, conn_id: int) -> None:
        self.conn_id = conn_id
        self.outgoing = bytearray()
        self.in_flight = 0
        self.closing = False
        self.scope = trio.CancelScope()
        self._wake = trio.Event()
        # The socket's descriptor while a plain TCP stream is open, else -1.
        self._fd = -1

    @property
    def unwritten(self) -> int:
        return len(self.outgoing) + self.in_flight

    def write(self, data: bytes) -> None:
        if self.scope.cancel_called:  # aborted: nothing more is sent
            return
        if self._fd >= 0 and not self.outgoing and not self.in_flight:
            # Nothing queued, so nothing can be overtaken: try the (non-blocking)
            # socket now, and leave only what it did not take to the writer task.
            try:
                sent = os.write(self._fd, data)
            except BlockingIOError:
                sent = 0
            except OSError:  # reset or broken: the reader sees it too
                self.abort()
                return
            if sent == len(data):
                return
            data = data[sent:]
        self.outgoing += data
        self._wake.set()

    def close(self) -> None:
        """Hang up after the queued bytes are sent."""
        self.closing = True
        self._wake.set()

    def abort(self) -> None:
        """Hang up now, dropping the queue."""
        self.outgoing = bytearray()
        self.scope.cancel()

    async def run(
        self,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        received: Callable[[int, bytes], None],
        written: Callable[[], None],
        *,
        close_on_eof: bool,
    ) -> None:
        """Open the stream, then read and write until closed, aborted or broken.

        ``received(conn_id, data)`` gets every chunk (``b""``: EOF) and
        ``written()`` runs after each send.  Failing to open counts as broken.
        """
        stream: trio.abc.Stream | None = None
        try:
            with self.scope:
                try:
                    stream = await open_stream()
                except OSError:
                    return
                if isinstance(stream, trio.SocketStream):  # not TLS: bytes go as they are
                    self._fd = stream.socket.fileno()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read, stream, received, close_on_eof)
                    await self._send(stream, written)
                    nursery.cancel_scope.cancel()
        finally:
            self._fd = -1  # before the descriptor closes and its number can be reused
            if stream is not None:
                await trio.aclose_forcefully(stream)

    async def _read(
        self, stream: trio.abc.Stream, received: Callable[[int, bytes], None], close_on_eof: bool
    ) -> None:
        try:
            while True:
                data = bytes(await stream.receive_some(_READ_SIZE))  # no copy if bytes already
                received(self.conn_id, data)
                if not data:
                    break
        except _BROKEN:
            self.abort()
            return
        if close_on_eof:
            self.close()
        # Otherwise the writer goes on: a reply may still be owed after a half-close.

    async def _send(self, stream: trio.abc.Stream, written: Callable[[], None]) -> None:
        while True:
            if self.outgoing:
                # Swap the buffer out: new writes queue while this one is sent.
                data, self.outgoing = self.outgoing, bytearray()
                self.in_flight = len(data)
                try:
                    await stream.send_all(data)
                except _BROKEN:
                    self.abort()
                    return
                finally:
                    self.in_flight = 0
                written()
            elif self.closing:
                return
            else:
                self._wake = trio.Event()
                await self._wake.wait()


class Driven(Protocol):
    """What :class:`TrioRunner` needs of a driver (server or client)."""

    def receive_data(self, conn_id: int, data: bytes, now: float) -> None: ...
    def connection_lost(self, conn_id: int, now: float) -> None: ...
    def pending_jobs(self) -> bool: ...
    def take_jobs(self) -> list[Job]: ...
    def job_finished(self, job: Job, now: float) -> None: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...


D = TypeVar("D", bound=Driven)


class TrioRunner(Generic[D]):
    """Jobs, flushes and one timer in a nursery, around a driver.

    Subclasses set :attr:`_driver`, set :attr:`_tasks` to the nursery handler
    tasks run in, start :meth:`_clock` there, and write outputs in :meth:`_write`.
    """

    _driver: D
    #: Hang up when the peer sends EOF (a client) or keep writing what is owed (a server).
    _close_on_eof = False

    def __init__(self) -> None:
        self._tasks: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._thread_id = 0
        self._conns: dict[int, Connection] = {}
        self._deadline: float | None = None
        self._timer: trio.CancelScope | None = None
        self._wakeup = trio.Event()
        self._flush_requested = False
        self._flushing = False
        self._changed = trio.Event()

    def _enter_trio(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._thread_id = threading.get_ident()

    # -- calling in ----------------------------------------------------------------------

    def _call_threadsafe(
        self, function: Callable[..., Any], args: tuple[Any, ...]
    ) -> concurrent.futures.Future[Any]:
        """``call_threadsafe`` of the public classes: run in the trio thread, awaiting if async."""
        if self._token is None:
            raise LocalProtocolError("not running yet: nothing to call into")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            # Runs outside any task: an exception escaping here would crash the trio run.
            if not future.set_running_or_notify_cancel():
                return
            result = None
            try:
                result = function(*args)
                if inspect.isawaitable(result):
                    nursery = self._caller_nursery()
                    if nursery is None:
                        raise LocalProtocolError("not running: cannot await the call")
                    nursery.start_soon(_settle, future, result)
                    return
            except BaseException as exc:
                if inspect.iscoroutine(result):
                    result.close()
                future.set_exception(exc)
                return
            future.set_result(result)

        try:
            self._token.run_sync_soon(run)
        except trio.RunFinishedError:
            raise LocalProtocolError("the trio run has finished") from None
        return future

    def _caller_nursery(self) -> trio.Nursery | None:
        """Where coroutine functions given to ``call_threadsafe`` are awaited."""
        return self._tasks

    # -- internals -----------------------------------------------------------------------

    def _write(self, now: float) -> None:
        raise NotImplementedError

    def _start_task(self, function: Callable[..., Awaitable[Any]], *args: Any) -> None:
        if self._tasks is None:
            raise LocalProtocolError("not running: cannot start a task")
        self._tasks.start_soon(function, *args)

    def _received(self, conn_id: int, data: bytes) -> None:
        self._driver.receive_data(conn_id, data, trio.current_time())
        self._flush()

    async def _run_connection(
        self, conn: Connection, open_stream: Callable[[], Awaitable[trio.abc.Stream]]
    ) -> None:
        """Serve ``conn`` until it ends, then report it lost (whoever closed it)."""
        self._conns[conn.conn_id] = conn
        try:
            await conn.run(
                open_stream, self._received, self._notify, close_on_eof=self._close_on_eof
            )
        except Exception:  # a bug below us: lose this connection, not the whole runner
            logger.exception("connection %d failed", conn.conn_id)
        finally:
            self._conns.pop(conn.conn_id, None)
            self._driver.connection_lost(conn.conn_id, trio.current_time())
            self._flush()

    def _notify(self) -> None:
        """Wake :meth:`_wait_for` waiters."""
        self._changed.set()
        self._changed = trio.Event()

    def _request_flush(self) -> None:
        """Flush soon, from the clock task (after application calls made outside a flush)."""
        if not self._flush_requested and not self._flushing:
            self._flush_requested = True
            self._wakeup.set()

    def _flush(self) -> None:
        """Start released jobs, queue every output, re-arm the timer, wake waiters."""
        self._flush_requested = False
        if self._flushing:
            return
        self._flushing = True
        try:
            driver = self._driver
            while driver.pending_jobs():
                for job in driver.take_jobs():
                    self._continue_job(job, None, None)
            self._write(trio.current_time())
            self._arm_timer(driver.next_deadline())
        finally:
            self._flushing = False
        self._notify()

    def _continue_job(self, job: Job, result: Any, error: BaseException | None) -> None:
        try:
            pending = advance(job, result, error)
        except Exception:
            logger.exception("error in %s", job.description)
            pending = None
        if pending is None:
            self._driver.job_finished(job, trio.current_time())
            self._request_flush()
            return
        try:
            self._start_task(self._await_step, job, pending)
        except (RuntimeError, LocalProtocolError):  # the nursery is gone: shutting down
            if inspect.iscoroutine(pending):
                pending.close()

    async def _await_step(self, job: Job, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except Exception as exc:
            self._continue_job(job, None, exc)
        else:
            self._continue_job(job, result, None)
        self._flush()

    def _arm_timer(self, deadline: float | None) -> None:
        self._deadline = deadline
        if self._timer is not None:
            self._timer.deadline = math.inf if deadline is None else deadline

    async def _clock(self) -> None:
        """The one timer (a cancel scope whose deadline follows the driver's), and flushes."""
        while True:
            deadline = math.inf if self._deadline is None else self._deadline
            with trio.CancelScope(deadline=deadline) as self._timer:
                await self._wakeup.wait()
            self._timer = None
            self._wakeup = trio.Event()
            now, due = trio.current_time(), self._deadline
            if due is not None and now >= due:
                self._deadline = None
                # Never hand the machines a time before the deadline they asked for.
                self._driver.handle_timeout(max(now, due))
            self._flush()

    def _unwritten(self) -> int:
        return sum(conn.unwritten for conn in self._conns.values())

    async def _wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds (checked after every flush and send)."""
        while not predicate():
            await self._changed.wait()


async def _settle(future: concurrent.futures.Future[Any], awaitable: Awaitable[Any]) -> None:
    try:
        result = await awaitable
    except BaseException as exc:
        future.set_exception(exc)
        if not isinstance(exc, Exception):
            raise
    else:
        future.set_result(result)
