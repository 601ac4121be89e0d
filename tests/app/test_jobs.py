"""Jobs: generators of handler calls, driven by ``run_sync`` or ``run_async``."""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from socketio_proto.app import Call, Job, run_async, run_sync
from socketio_proto.app.jobs import Steps
from socketio_proto.errors import LocalProtocolError


class Boom(Exception):
    pass


def job(steps: Steps, description: str = "test job") -> Job:
    return Job("eio-sid", description, steps)


def add(a: int, b: int) -> int:
    return a + b


async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


def chain(first: Callable[..., Any], second: Callable[..., Any], log: list[Any]) -> Steps:
    """Two calls in a row, the second fed by the first's result."""
    x = yield Call(first, (1, 2))
    log.append(x)
    y = yield Call(second, (x, 10))
    log.append(y)


def boom(*args: Any) -> None:
    raise Boom(repr(args))


# -- run_sync --------------------------------------------------------------------------------


def test_run_sync_sends_results_back() -> None:
    log: list[Any] = []
    run_sync(job(chain(add, add, log)))
    assert log == [3, 13]


def test_run_sync_job_without_calls() -> None:
    def nothing() -> Steps:
        return
        yield  # a generator that yields nothing

    run_sync(job(nothing()))


def test_run_sync_passes_none_results() -> None:
    log: list[Any] = []

    def steps() -> Steps:
        log.append((yield Call(lambda: None, ())))
        log.append((yield Call(log.append, ("x",))))

    run_sync(job(steps()))
    assert log == [None, "x", None]


def test_run_sync_refuses_async_handlers_and_closes_the_coroutine() -> None:
    created: list[Any] = []

    async def handler(x: int) -> int:
        return x  # pragma: no cover - never runs

    def tracked(x: int) -> Any:
        coroutine = handler(x)
        created.append(coroutine)
        return coroutine

    def steps() -> Steps:
        yield Call(tracked, (1,))
        raise AssertionError("the job must not go on")  # pragma: no cover

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(LocalProtocolError, match="async adapter") as info:
            run_sync(job(steps(), "event 'x' on /"))
        assert "event 'x' on /" in str(info.value)
        (coroutine,) = created
        assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED
        # Drop every reference (the traceback holds run_sync's frame): an
        # unclosed coroutine would warn "never awaited" right here.
        del info, coroutine
        created.clear()
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_an_unclosed_coroutine_does_warn() -> None:
    # The control for the test above: dropping a coroutine unawaited warns.
    async def handler() -> None:
        pass  # pragma: no cover

    with pytest.warns(RuntimeWarning, match="never awaited"):
        coroutine = handler()
        del coroutine
        gc.collect()


def test_run_sync_async_handler_error_is_thrown_into_the_job() -> None:
    log: list[Any] = []

    def steps() -> Steps:
        try:
            yield Call(async_add, (1, 2))
        except LocalProtocolError:
            log.append("caught")
        log.append((yield Call(add, (2, 2))))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_sync(job(steps()))
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert log == ["caught", 4]


def test_run_sync_handler_exception_caught_by_the_job() -> None:
    log: list[Any] = []

    def steps() -> Steps:
        try:
            yield Call(boom, (1,))
        except Boom as exc:
            log.append(("caught", str(exc)))
        log.append((yield Call(add, (5, 5))))

    run_sync(job(steps()))
    assert log == [("caught", "(1,)"), 10]


def test_run_sync_handler_exception_propagates() -> None:
    log: list[Any] = []

    def steps() -> Steps:
        try:
            yield Call(boom, ("x",))
        finally:
            log.append("cleanup")
        log.append("unreachable")  # pragma: no cover

    with pytest.raises(Boom, match="'x'"):
        run_sync(job(steps()))
    assert log == ["cleanup"]


def test_run_sync_job_may_raise_something_else() -> None:
    def steps() -> Steps:
        try:
            yield Call(boom, ())
        except Boom:
            raise KeyError("translated") from None

    with pytest.raises(KeyError, match="translated"):
        run_sync(job(steps()))


# -- run_async -------------------------------------------------------------------------------


def test_run_async_awaits_async_handlers_and_calls_plain_ones() -> None:
    log: list[Any] = []
    asyncio.run(run_async(job(chain(async_add, add, log))))
    assert log == [3, 13]
    log.clear()
    asyncio.run(run_async(job(chain(add, async_add, log))))
    assert log == [3, 13]


def test_run_async_awaits_other_awaitables() -> None:
    log: list[Any] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def future_returning() -> asyncio.Future[str]:
            future: asyncio.Future[str] = loop.create_future()
            loop.call_soon(future.set_result, "from a future")
            return future

        def steps() -> Steps:
            log.append((yield Call(future_returning, ())))

        await run_async(job(steps()))

    asyncio.run(main())
    assert log == ["from a future"]


def test_run_async_interleaves_with_other_tasks() -> None:
    order: list[str] = []

    async def slow(name: str) -> str:
        order.append(f"{name} start")
        await asyncio.sleep(0)
        order.append(f"{name} end")
        return name

    def steps(name: str) -> Steps:
        yield Call(slow, (name,))

    async def main() -> None:
        await asyncio.gather(run_async(job(steps("a"))), run_async(job(steps("b"))))

    asyncio.run(main())
    assert order == ["a start", "b start", "a end", "b end"]


def test_run_async_exception_caught_by_the_job() -> None:
    log: list[Any] = []

    async def async_boom() -> None:
        await asyncio.sleep(0)
        raise Boom("async")

    def steps() -> Steps:
        try:
            yield Call(async_boom, ())
        except Boom as exc:
            log.append(("caught", str(exc)))
        try:
            yield Call(boom, ())
        except Boom:
            log.append("caught sync")
        log.append((yield Call(async_add, (20, 22))))

    asyncio.run(run_async(job(steps())))
    assert log == [("caught", "async"), "caught sync", 42]


def test_run_async_exception_propagates() -> None:
    async def async_boom() -> None:
        raise Boom("async")

    def steps() -> Steps:
        yield Call(async_boom, ())

    with pytest.raises(Boom, match="async"):
        asyncio.run(run_async(job(steps())))


def test_job_fields() -> None:
    def steps() -> Steps:
        yield Call(add, (1, 2))

    generator = steps()
    made = Job("abc", "event 'x' on /", generator)
    assert (made.connection, made.description, made.steps) == ("abc", "event 'x' on /", generator)
    assert Call(add, (1, 2)) == Call(add, (1, 2))
    generator.close()
