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
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

from .._fastinit import fast_init
from ..errors import LocalProtocolError

__all__ = ["Call", "Job", "ack_arguments", "advance", "run_async", "run_sync", "single"]


@fast_init
@dataclass(frozen=True, slots=True)
class Call:
    """One application function to call with ``args``; its result goes back to the job."""

    function: Callable[..., Any]
    args: tuple[Any, ...]


#: The body of a job: yields calls, receives their results (or their exceptions).
Steps = Generator[Call, Any, None]


@fast_init
@dataclass(frozen=True, slots=True)
class Job:
    """Application work caused by one Socket.IO event."""

    #: The Engine.IO session it belongs to (the key for per-connection ordering).
    connection: str
    #: What the job is about, for logs and errors (e.g. ``"event 'chat' on /"``).
    description: str
    steps: Steps


def single(call: Call) -> Steps:
    """The steps of a job that makes one call and ignores its result."""
    yield call


def ack_arguments(result: Any) -> tuple[Any, ...]:
    """A handler's return value as ack arguments.

    python-socketio's rule: None -> no arguments, a tuple -> several, anything else -> one.
    """
    if result is None:
        return ()
    if isinstance(result, tuple):
        return result
    return (result,)


def advance(
    job: Job, result: Any = None, error: BaseException | None = None
) -> Awaitable[Any] | None:
    """Run ``job`` until a handler returns an awaitable (returned) or the job ends (None).

    Start a job with ``advance(job)``; after awaiting what it returned, go on
    with ``advance(job, result)`` or ``advance(job, error=exc)``.  Plain
    handlers run inline, so a job of synchronous handlers never needs a task.
    An exception no step handles propagates to the caller.
    """
    steps = job.steps
    try:
        call = steps.throw(error) if error is not None else steps.send(result)
        while True:
            try:
                value = call.function(*call.args)
            except Exception as exc:
                call = steps.throw(exc)
                continue
            if value is not None and inspect.isawaitable(value):
                return value
            call = steps.send(value)
    except StopIteration:
        return None


def run_sync(job: Job) -> None:
    """Run ``job`` to completion in the calling thread.

    A handler that returns an awaitable is an error here: it needs an async adapter.
    """
    pending = advance(job)
    while pending is not None:
        if inspect.iscoroutine(pending):
            pending.close()  # never awaited: close it quietly
        error = LocalProtocolError(f"a handler of {job.description} is async; use an async adapter")
        pending = advance(job, error=error)


async def run_async(job: Job) -> None:
    """Run ``job`` to completion, awaiting the handlers that return awaitables."""
    pending = advance(job)
    while pending is not None:
        try:
            result = await pending
        except Exception as exc:
            pending = advance(job, error=exc)
        else:
            pending = advance(job, result)
