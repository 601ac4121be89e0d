"""The glue between sockets and an application :class:`~socketio_proto.app.Server`, minus the IO.

Every server adapter (asyncio, trio, threads) does the same dance around the
sans-IO machines; :class:`ServerDriver` is that dance, so an adapter is left
with sockets, one timer and running jobs::

    driver = ServerDriver(app)
    conn = driver.connection_made()
    driver.receive_data(conn, data, now)      # b"" on EOF
    for job in driver.take_jobs():            # handler work released by the scheduler
        run(job) ... driver.job_finished(job, now)
    for out in driver.transmit(now):          # bytes per connection
        write(out.conn_id, out.data); if out.close: close(out.conn_id)
    sleep until driver.next_deadline(), then driver.handle_timeout(now)

It owns no socket, thread or clock; adapters call it from one thread at a time.
"""

from __future__ import annotations

from typing import Protocol

from ..app.jobs import Job
from ..app.server import Server
from ..engineio.events import ServerEvent as EngineEvent
from ..wire.server import Fallback, Transmit, WireServer
from .scheduler import JobScheduler

__all__ = ["DEFAULT_MAX_OUTGOING_BYTES", "AppDriver", "EventSource", "ServerDriver"]

#: Bytes a connection may leave unwritten before it is treated as a slow consumer.
DEFAULT_MAX_OUTGOING_BYTES = 4 * 1024 * 1024


class EventSource(Protocol):
    """Where Engine.IO events come from: an engine or a :class:`WireServer`."""

    def events(self) -> list[EngineEvent]: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...


class AppDriver:
    """An application over an Engine.IO event source: events in, handler jobs out.

    :class:`ServerDriver` adds the wire layer for raw TCP; an adapter whose
    server already speaks HTTP and WebSocket (ASGI) feeds the engine itself and
    uses this class with ``app.engine`` as the source.  ``concurrent``: release
    every handler job at once instead of one at a time per Engine.IO connection.
    """

    def __init__(self, app: Server, source: EventSource, *, concurrent: bool = False) -> None:
        self.app = app
        self.source = source
        self.scheduler = JobScheduler(concurrent=concurrent)
        self._ready: list[Job] = []

    # -- time ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest of the source's and the application's deadlines."""
        source, app = self.source.next_deadline(), self.app.next_deadline()
        if source is None:
            return app
        return source if app is None else min(source, app)

    def handle_timeout(self, now: float) -> None:
        self.source.handle_timeout(now)
        self.app.handle_timeout(now)
        self.pump(now)

    # -- handler jobs --------------------------------------------------------------------

    def take_jobs(self) -> list[Job]:
        """Jobs that may start now; run each, then report it to :meth:`job_finished`."""
        ready, self._ready = self._ready, []
        return ready

    def job_finished(self, job: Job, now: float, *, pump: bool = True) -> None:
        """``job`` ran to its end (or failed); the next job of its connection may start.

        ``pump=False`` leaves what the job caused for the caller's next
        :meth:`pump` (``ServerDriver.transmit`` pumps), saving a pass after every
        job of a batch.
        """
        following = self.scheduler.finished(job)
        if following is not None:
            self._ready.append(following)
        if pump:
            self.pump(now)

    def pending_jobs(self) -> bool:
        """Whether jobs are released and not yet taken."""
        return bool(self._ready)

    def pump(self, now: float) -> None:
        """Move the source's events into the application and its work into the scheduler."""
        app = self.app
        while True:
            events = self.source.events()
            for event in events:
                app.handle_engine_event(event, now)
            jobs = app.process()
            if jobs:
                self._ready += self.scheduler.add(jobs)
            elif not events:
                return


class ServerDriver(AppDriver):
    """One application served on any number of TCP connections.

    ``park_fallback``: requests outside the Socket.IO path wait in
    ``wire.parked`` for ``wire.answer`` (see :class:`WireServer`).
    ``concurrent``: release every handler job at once instead of one at a time
    per Engine.IO connection.  ``max_outgoing_bytes``: the slow-consumer bound an
    adapter enforces with :meth:`too_slow` (a peer that stops reading is cut off
    rather than let the server's memory grow).
    """

    def __init__(
        self,
        app: Server,
        *,
        fallback: Fallback | None = None,
        park_fallback: bool = False,
        concurrent: bool = False,
        max_outgoing_bytes: int = DEFAULT_MAX_OUTGOING_BYTES,
        max_header_bytes: int = 16 * 1024,
    ) -> None:
        if max_outgoing_bytes < 1:
            raise ValueError("max_outgoing_bytes must be positive")
        self.wire = WireServer(
            engine=app.engine,
            fallback=fallback,
            park_fallback=park_fallback,
            max_header_bytes=max_header_bytes,
        )
        super().__init__(app, self.wire, concurrent=concurrent)
        self.max_outgoing_bytes = max_outgoing_bytes
        self.closed = False

    # -- connections ---------------------------------------------------------------------

    def connection_made(self, *, secure: bool = False) -> int:
        """A new TCP connection; returns its id."""
        return self.wire.connection_made(secure=secure)

    def receive_data(self, conn_id: int, data: bytes, now: float) -> None:
        """Bytes from ``conn_id`` (``b""``: EOF)."""
        self.wire.receive_data(conn_id, data, now)
        self.pump(now)

    def connection_lost(self, conn_id: int, now: float) -> None:
        """``conn_id`` is gone (reset, closed, or cut off as too slow)."""
        self.wire.connection_lost(conn_id, now)
        self.pump(now)

    def too_slow(self, unwritten: int) -> bool:
        """Whether a connection with ``unwritten`` bytes pending must be cut off."""
        return unwritten > self.max_outgoing_bytes

    # -- output --------------------------------------------------------------------------

    def transmit(self, now: float) -> list[Transmit]:
        """Bytes to write, per connection (also after application calls made outside handlers)."""
        self.pump(now)
        return self.wire.transmit(now)

    def shutdown(self, now: float) -> None:
        """Graceful shutdown: every socket leaves (``server shutting down``), every session closes.

        Write what :meth:`transmit` returns afterwards, then close the connections.
        """
        self.closed = True
        self.app.sio.close(now)
        self.app.engine.close_all(now)
        self.pump(now)
