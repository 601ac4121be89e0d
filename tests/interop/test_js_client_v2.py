"""Interop: the legacy Node.js ``socket.io-client`` 2.x (Engine.IO 3, Socket.IO protocol 4)
against our demo server, on every IO adapter and in every transport mode.

The basics only: connect to ``/test`` and the greeting, "my event", broadcast,
rooms, echo acks with binary, the server-initiated disconnect, refusal of an
unknown namespace, and ordering.  The runner and helpers are those of
:mod:`tests.interop.test_js_client` (one Node process per adapter and mode).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.interop.test_js_client import (
    ECHO_CASES,
    MODES,
    STREAM_LENGTH,
    NodeRun,
    binary_paths,
    from_js,
    run_scenarios,
    show_diagnostics,
    typed,
)
from tests.support.demo_server import DemoProcess
from tests.support.npm import ensure_node_modules

pytestmark = pytest.mark.interop

#: socket.io-client 2.5.0 under an alias, so it can never be mistaken for 4.x.
CLIENT_PACKAGES: Mapping[str, str] = {"socket.io-client-v2": "npm:socket.io-client@2.5.0"}

V2_ECHO_CASES: Mapping[str, list[Any]] = {
    name: ECHO_CASES[name]
    for name in (
        "json_scalars",
        "json_nested",
        "empty_args",
        "unicode",
        "binary",
        "binary_nested",
        "binary_several",
        "binary_large",
    )
}

V2_SCENARIOS = (
    "connect",
    "my_event",
    "broadcast",
    "rooms",
    "disconnect_request",
    "echo",
    "concurrent_acks",
    "unknown_namespace",
    "ordered",
)


@pytest.fixture(scope="module")
def client_modules() -> Path:
    return ensure_node_modules("interop-socketio-client-2", CLIENT_PACKAGES)


@pytest.fixture(scope="module", params=MODES)
def node_run(request: pytest.FixtureRequest, demo: DemoProcess, client_modules: Path) -> NodeRun:
    """All scenarios, run once per (adapter, mode)."""
    return run_scenarios(
        client_modules,
        demo,
        request.param,
        package="socket.io-client-v2",
        flavour="v2",
        scenarios=V2_SCENARIOS,
        echo_cases=V2_ECHO_CASES,
    )


@pytest.fixture
def run(node_run: NodeRun) -> Iterator[NodeRun]:
    show_diagnostics(node_run)
    yield node_run


def test_client_is_the_pinned_version(run: NodeRun) -> None:
    assert run.report["package"] == {"name": "socket.io-client", "version": "2.5.0"}


def test_connect_to_test_namespace_is_greeted(run: NodeRun) -> None:
    result = run.result("connect")
    assert result["first"] == ["Connected"]
    assert result["second"] == ["Connected"]
    assert result["connect_events"] == 1
    run.check_transports(result["transports"])


def test_my_event_answers_the_sender_only(run: NodeRun) -> None:
    result = run.result("my_event")
    assert result["sender"] == [
        "Connected",
        "to me only",
        {"nested": [1, 2, "three"], "unicode": "héllo ✓"},
    ]
    assert result["other"] == ["Connected"]
    run.check_transports(result["transports"])


def test_broadcast_reaches_every_client_once(run: NodeRun) -> None:
    result = run.result("broadcast")
    assert len(result["seen"]) == 3
    for seen in result["seen"]:
        assert seen == ["Connected", result["token"]], seen
    run.check_transports(result["transports"])


def test_join_and_room_event_reach_members_only(run: NodeRun) -> None:
    result = run.result("rooms")
    assert result["join_acks"] == [[True], [True]]
    assert result["after_join"] == {
        "a": ["Connected", "for the room"],
        "b": ["Connected", "for the room"],
        "outsider": ["Connected"],
    }
    assert result["leave_ack"] == [True]
    after_leave = result["after_leave"]
    assert after_leave["a"][-1] == "after b left"
    assert "after b left" not in after_leave["b"]
    assert "after b left" not in after_leave["outsider"]
    latest = result["after_outsider_joined"]
    assert latest["outsider"][-1] == "outsider joined"
    assert "outsider joined" not in latest["b"]
    run.check_transports(result["transports"])


def test_disconnect_request_is_answered_then_disconnects(run: NodeRun) -> None:
    result = run.result("disconnect_request")
    assert result["responses"] == ["Connected", "Disconnected!"]
    assert [event[0] for event in result["events"]] == ["connect", "disconnect"]
    assert result["events"][-1] == ["disconnect", "io server disconnect"]
    assert result["connected"] is False
    assert result["bystander"] == ["Connected"]
    run.check_transports(result["transports"])


@pytest.mark.parametrize("case", list(V2_ECHO_CASES))
def test_echo_acks_the_same_arguments(run: NodeRun, case: str) -> None:
    result = run.result("echo")
    sent = V2_ECHO_CASES[case]
    echoed = result["cases"][case]
    assert typed(from_js(echoed["ack"])) == typed(sent)
    assert [where for where, _ in echoed["binary"]] == binary_paths(sent)
    run.check_transports(result["transports"])


def test_concurrent_acks_reach_their_callbacks(run: NodeRun) -> None:
    result = run.result("concurrent_acks")
    expected = [[i, bytes([i, i + 1])] if i % 5 == 0 else [i, "x" * i] for i in range(50)]
    assert typed(from_js(result["acks"])) == typed(expected)
    run.check_transports(result["transports"])


def test_unknown_namespace_is_refused(run: NodeRun) -> None:
    """Socket.IO 2 reports the refusal as an "error" event carrying the packet's data.

    The data is ``{"message": "Invalid namespace"}``, what the JS ``socket.io`` 4
    server sends (with ``allowEIO3``) to every client; the old 2.x server sent the bare
    string.
    """
    result = run.result("unknown_namespace")
    assert result["events"] == [["error", {"message": "Invalid namespace"}]]
    assert result["connected"] is False


def test_500_messages_arrive_in_order(run: NodeRun) -> None:
    result = run.result("ordered")
    assert result["responses"] == ["Connected", *range(STREAM_LENGTH)]
    run.check_transports(result["transports"])
