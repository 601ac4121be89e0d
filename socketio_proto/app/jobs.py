"""Handler work handed to IO adapters, runnable with or without an event loop.

Dispatching an event may call several application functions in a row (connect
middlewares, then the connect handler, then accept or refuse).  Each such
piece of work is a :class:`Job`: a generator that *yields* the calls it needs
and receives their results.  The generator is written once; :func:`run_sync`
drives it in plain code (threads, tests) and :func:`run_async` awaits the
handlers that are coroutine functions (asyncio, trio).  Scheduling -- one job at
a time per connection, or concurrently -- is the adapter's choice, keyed by
:attr:`Job.connection`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ..errors import LocalProtocolError

__all__ = ["Call", "Job", "run_async", "run_sync"]


@dataclass(frozen=True, slots=True)
class Call:
    """One application function to call with ``args``; its result goes back to the job."""

    function: Callable[..., Any]
    args: tuple[Any, ...]


#: The body of a job: yields calls, receives their results (or their exceptions).
Steps = Generator[Call, Any, None]


@dataclass(frozen=True, slots=True)
class Job:
    """Application work caused by one Socket.IO event."""

    #: The Engine.IO session it belongs to (the key for per-connection ordering).
    connection: str
    #: What the job is about, for logs and errors (e.g. ``"event 'chat' on /"``).
    description: str
    steps: Steps


def run_sync(job: Job) -> None:
    """Run ``job`` to completion in the calling thread.

    A handler that returns an awaitable is an error here: it needs an async adapter.
    """
    steps = job.steps
    try:
        call = next(steps)
        while True:
            try:
                result = call.function(*call.args)
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()  # never awaited: close it quietly
                    raise LocalProtocolError(
                        f"{call.function!r} is async; run {job.description} with an async adapter"
                    )
            except Exception as exc:
                call = steps.throw(exc)
            else:
                call = steps.send(result)
    except StopIteration:
        return


async def run_async(job: Job) -> None:
    """Run ``job`` to completion, awaiting the handlers that return awaitables."""
    steps = job.steps
    try:
        call = next(steps)
        while True:
            try:
                result = call.function(*call.args)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                call = steps.throw(exc)
            else:
                call = steps.send(result)
    except StopIteration:
        return
