"""asyncio helpers shared by the server and the client."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from ..app.jobs import Job, advance
from ..app.server import PendingCall

logger = logging.getLogger("socketio_proto.asyncio")


async def call_in_loop(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call ``function`` in the loop, awaiting its result if it is awaitable."""
    result = function(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


async def wrap_pending(pending: PendingCall) -> list[Any]:
    """Await a :class:`PendingCall` (its callbacks run in the loop thread)."""
    if pending.done:
        return pending.result()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def settled(_: PendingCall) -> None:
        if not future.done():
            future.set_result(None)

    pending.add_done_callback(settled)
    await future
    return pending.result()


class Driven(Protocol):
    """What :class:`LoopRunner` needs of a driver (server or client)."""

    def pending_jobs(self) -> bool: ...
    def take_jobs(self) -> list[Job]: ...
    def job_finished(self, job: Job, now: float, *, pump: bool = True) -> None: ...
    def next_deadline(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...


D = TypeVar("D", bound=Driven)


class LoopRunner(Generic[D]):
    """Jobs, one flush callback and one timer on an asyncio loop, around a driver.

    Subclasses set :attr:`_driver` and :attr:`_loop` and write outputs in
    :meth:`_write`.
    """

    _driver: D
    _loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flush_scheduled = False
        self._flushing = False
        self._changed: asyncio.Event | None = None

    def start_background_task(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` as a task that is cancelled on close."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _cancel_tasks(self, timeout: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def _write(self, now: float) -> None:
        raise NotImplementedError

    def _request_flush(self) -> None:
        if not self._flush_scheduled and not self._flushing:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Start released jobs, write every output, re-arm the timer, wake waiters."""
        self._flush_scheduled = False
        if self._flushing:
            return
        self._flushing = True
        try:
            driver = self._driver
            while True:
                while driver.pending_jobs():
                    for job in driver.take_jobs():
                        self._continue_job(job, None, None)
                # Jobs finished here left their effects unpumped: transmit pumps them,
                # and may release more jobs.
                self._write(self._loop.time())
                if not driver.pending_jobs():
                    break
            self._arm_timer(driver.next_deadline())
        finally:
            self._flushing = False
        if self._changed is not None:
            self._changed.set()

    def _continue_job(self, job: Job, result: Any, error: BaseException | None) -> None:
        try:
            pending = advance(job, result, error)
        except Exception:
            logger.exception("error in %s", job.description)
            pending = None
        if pending is None:
            # Inside a flush, its write pumps once for the whole batch of jobs.
            self._driver.job_finished(job, self._loop.time(), pump=not self._flushing)
            self._request_flush()
        else:
            self.start_background_task(self._await_step(job, pending))

    async def _await_step(self, job: Job, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except Exception as exc:
            self._continue_job(job, None, exc)
        else:
            self._continue_job(job, result, None)
        self._flush()

    def _arm_timer(self, deadline: float | None) -> None:
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer, deadline)

    def _on_timer(self, deadline: float) -> None:
        self._timer = self._timer_at = None
        # asyncio may fire a little early (clock resolution): never hand the machines a
        # time before the deadline they asked for, or they would ask again at once.
        self._driver.handle_timeout(max(self._loop.time(), deadline))
        self._flush()

    async def _wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds (checked after every flush)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        while not predicate():
            self._changed.clear()
            await self._changed.wait()
