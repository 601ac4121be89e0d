"""The IO-free part of the ASGI adapter: an engine driven without a wire layer."""

from __future__ import annotations

from ..app.jobs import Job
from ..app.server import Server
from ..driver.scheduler import JobScheduler


class EngineDriver:
    """What :class:`~socketio_proto.driver.ServerDriver` does, minus the wire layer.

    The engine is fed directly (the ASGI server parsed HTTP and WebSocket); this moves
    its events into the application and the application's work into the scheduler.
    """

    def __init__(self, app: Server, *, concurrent: bool) -> None:
        self.app = app
        self.engine = app.engine
        self.scheduler = JobScheduler(concurrent=concurrent)
        self._ready: list[Job] = []

    def pending_jobs(self) -> bool:
        return bool(self._ready)

    def take_jobs(self) -> list[Job]:
        ready, self._ready = self._ready, []
        return ready

    def job_finished(self, job: Job, now: float) -> None:
        following = self.scheduler.finished(job)
        if following is not None:
            self._ready.append(following)
        self.pump(now)

    def next_deadline(self) -> float | None:
        engine, app = self.engine.next_deadline(), self.app.next_deadline()
        if engine is None:
            return app
        return engine if app is None else min(engine, app)

    def handle_timeout(self, now: float) -> None:
        self.engine.handle_timeout(now)
        self.app.handle_timeout(now)
        self.pump(now)

    def pump(self, now: float) -> None:
        """Engine events into the application, its jobs into the scheduler, until quiet."""
        app = self.app
        while True:
            events = self.engine.events()
            for event in events:
                app.handle_engine_event(event, now)
            jobs = app.process()
            if jobs:
                self._ready += self.scheduler.add(jobs)
            elif not events:
                return
