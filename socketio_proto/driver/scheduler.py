"""Which handler jobs may run now: in order per connection, or all at once."""

from __future__ import annotations

from collections import deque

from ..app.jobs import Job

__all__ = ["JobScheduler"]


class JobScheduler:
    """Releases jobs to the adapter.

    Sequential (the default): a connection's jobs run one after the other in
    the order the protocol produced them, so a handler sees the events of its
    client in order and a slow handler delays only its own client.
    ``concurrent``: every job is released at once.
    """

    __slots__ = ("_queues", "concurrent")

    def __init__(self, *, concurrent: bool = False) -> None:
        self.concurrent = concurrent
        # connection -> jobs waiting behind the one running (present while one runs)
        self._queues: dict[str, deque[Job]] = {}

    def add(self, jobs: list[Job]) -> list[Job]:
        """Queue ``jobs``; returns those that may start now."""
        if self.concurrent:
            return jobs
        ready = []
        for job in jobs:
            waiting = self._queues.get(job.connection)
            if waiting is None:
                self._queues[job.connection] = deque()
                ready.append(job)
            else:
                waiting.append(job)
        return ready

    def finished(self, job: Job) -> Job | None:
        """``job`` is done; returns the next job of its connection, if any."""
        if self.concurrent:
            return None
        waiting = self._queues.get(job.connection)
        if waiting is None:
            return None
        if waiting:
            return waiting.popleft()
        del self._queues[job.connection]
        return None

    @property
    def busy(self) -> int:
        """Connections with a job running (sequential mode)."""
        return len(self._queues)
