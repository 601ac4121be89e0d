"""Fixtures for the interop matrix: our demo server on each IO adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.demo_server import DemoProcess, running_demo

IO_ADAPTERS = ("asyncio", "trio", "threads")


@pytest.fixture(scope="module", params=IO_ADAPTERS)
def demo(request: pytest.FixtureRequest) -> Iterator[DemoProcess]:
    """The demo server (``python -m socketio_proto demo --io <adapter>``), one per module."""
    with running_demo(request.param) as process:
        yield process
