"""Interop: the official Node.js ``socket.io-client`` 4.8 against our demo server.

For every IO adapter (the ``demo`` fixture) and every transport mode, one Node
process (``js/scenarios.cjs``) runs all the scenarios below against
``python -m socketio_proto demo`` and prints what the client observed as JSON;
the tests here make the assertions, one test per scenario.  The modes:

* ``websocket``: ``transports: ["websocket"]``;
* ``polling``: ``transports: ["polling"]``;
* ``upgrade``: the client's defaults, polling first, then the upgrade to WebSocket.

Values cross the boundary tagged: ``{"$bin": base64}`` is binary (a ``Buffer`` in
Node), ``{"$undef": true}`` is ``undefined``, ``{"$obj": {...}}`` an object with
``$``-keys.  The npm packages are pinned and installed into the test cache by
:func:`tests.support.npm.ensure_node_modules` (nothing is vendored).

A failing test shows the Node stderr and the demo server's stderr (captured at
setup).  ``tests/interop/test_js_client_v2.py`` reuses the helpers for the 2.x
client.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.demo_server import DemoProcess
from tests.support.npm import ensure_node_modules, node_executable

pytestmark = pytest.mark.interop

SCENARIOS_JS = Path(__file__).parent / "js" / "scenarios.cjs"
MODES = ("websocket", "polling", "upgrade")
STREAM_LENGTH = 500  # js/scenarios.cjs: STREAM_LENGTH
STREAM_RELEASE_AT = 30  # js/scenarios.cjs: STREAM_RELEASE_AT
_NODE_TIMEOUT = 130.0  # above the runner's own limit for a whole run (100 s)
_STDERR_TAIL = 6000

#: socket.io-client 4.8, with the Engine.IO client and parser it resolves to pinned too.
CLIENT_PACKAGES: Mapping[str, str] = {
    "socket.io-client": "4.8.1",
    "engine.io-client": "6.6.3",
    "socket.io-parser": "4.2.4",
}

#: Arguments of the "echo" event; the ack must carry exactly these, binary as binary.
ECHO_CASES: Mapping[str, list[Any]] = {
    "json_scalars": ["hello", 42, -7, 2.5, 1e100, True, False, None],
    "json_nested": [{"a": {"b": [1, {"c": None}]}, "lists": [[], {}], "empty": ""}, [1, [2, [3]]]],
    "empty_args": [],
    "unicode": [
        "héllo wörld",
        "日本語テキスト",
        "Ελληνικά и кириллица",
        "😀🎉🚀",
        "family 👩\u200d👩\u200d👧\u200d👦, flag 🇫🇷, skin tone 👍🏽",
        '\u2028\u2029 separators, nul \u0000 inside, tab\t, quote " and backslash \\',
        {"clé 🔑": ["välue ✓", "✨"]},
    ],
    "binary": [b"\x00\x01\x02\xfe\xff"],
    "binary_empty": [b""],
    "binary_nested": [
        {"file": b"%PDF-1.7\n\x00\xff", "meta": {"name": "doc.pdf", "parts": [b"one", b"two"]}}
    ],
    "binary_several": [b"first", "between", b"second", {"third": b"\x03"}, [b"fourth", 4], b"5th"],
    "binary_large": [bytes(range(256)) * 512],
    "binary_and_unicode": [
        "naïve ☕",
        b"\xe2\x98\x95 raw",
        {"emoji": "🐍", "raw": b"\xf0\x9f\x90\x8d"},
    ],
}

V4_SCENARIOS = (
    "connect",
    "my_event",
    "broadcast",
    "rooms",
    "disconnect_request",
    "echo",
    "concurrent_acks",
    "unknown_namespace",
    "ordered",
    "stream_during_upgrade",
)


# -- values across the boundary --------------------------------------------------------


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


def to_js(value: Any) -> Any:
    """A Python value in the runner's tagged JSON form."""
    if isinstance(value, bytes | bytearray):
        return {"$bin": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return [to_js(item) for item in value]
    if isinstance(value, dict):
        out = {key: to_js(item) for key, item in value.items()}
        return {"$obj": out} if any(key.startswith("$") for key in value) else out
    return value


def from_js(value: Any) -> Any:
    """The inverse of :func:`to_js`, for what the runner reports."""
    if isinstance(value, list):
        return [from_js(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$bin":
            return base64.b64decode(inner)
        if tag == "$undef":
            return UNDEFINED
        if tag == "$obj":
            return {key: from_js(item) for key, item in inner.items()}
    return {key: from_js(item) for key, item in value.items()}


def typed(value: Any) -> Any:
    """``value`` with its JSON types explicit, for strict equality: ``True`` is not ``1``,
    bytes are not str, numbers compare as JS numbers (doubles)."""
    if value is None or value is UNDEFINED:
        return repr(value)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, bytes | bytearray):
        return ("binary", bytes(value))
    if isinstance(value, list | tuple):
        return ("array", [typed(item) for item in value])
    if isinstance(value, dict):
        return ("object", {key: typed(item) for key, item in value.items()})
    raise TypeError(f"unexpected value {value!r}")


def binary_paths(value: Any, where: str = "$") -> list[str]:
    """Where the binary values sit in ``value`` (the runner's ``describeBinary`` form)."""
    if isinstance(value, bytes | bytearray):
        return [where]
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in binary_paths(item, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in binary_paths(item, f"{where}.{key}")]
    return []


# -- running the scenarios -----------------------------------------------------------


@dataclass
class ScenarioReport:
    """What ``js/scenarios.cjs`` reported for one transport mode."""

    mode: str
    report: dict[str, Any]

    def result(self, scenario: str) -> Any:
        """What the scenario observed; fails the test if it could not complete."""
        entry = self.report["results"].get(scenario)
        assert entry is not None, f"the runner did not report {scenario!r}"
        if "error" in entry:
            details = json.dumps(entry.get("clients"), indent=1, ensure_ascii=False)
            raise AssertionError(
                f"scenario {scenario!r} failed in Node: {entry['error']}\n{details}"
            )
        return entry["ok"]

    def check_transports(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Every client of a scenario used the transports of the mode."""
        assert records, "the scenario reported no clients"
        for record in records:
            assert record["upgrade_errors"] == [], record
            if self.mode == "upgrade":
                # The engine starts on polling whatever "connect" saw; "upgrade" proves it.
                assert record["upgrades"] == ["websocket"], record
                assert record["end"] == "websocket", record
            else:
                assert record["upgrades"] == [], record
                assert record["start"] == record["end"] == self.mode, record


@dataclass
class NodeRun(ScenarioReport):
    """One run of ``js/scenarios.cjs``: every scenario of one client and mode."""

    package: str
    demo: DemoProcess
    node_stderr: str

    def __repr__(self) -> str:
        return f"NodeRun({self.package}, mode={self.mode}, server={self.demo.url})"

    def diagnostics(self) -> str:
        return (
            f"--- Node stderr ({self.package}, mode {self.mode}) ---\n"
            f"{self.node_stderr[-_STDERR_TAIL:] or '(empty)'}\n"
            f"--- demo server stderr ({self.demo.url}) ---\n"
            f"{self.demo.stderr()[-_STDERR_TAIL:] or '(empty)'}"
        )


def run_scenarios(
    node_modules: Path,
    demo: DemoProcess,
    mode: str,
    *,
    package: str,
    flavour: str,
    scenarios: Sequence[str],
    echo_cases: Mapping[str, Sequence[Any]],
) -> NodeRun:
    """Run ``scenarios`` in one Node process; fail (with both stderrs) if it misbehaves."""
    request = {
        "url": demo.url,
        "package": package,
        "flavour": flavour,
        "mode": mode,
        "scenarios": list(scenarios),
        "echo_cases": {name: to_js(list(args)) for name, args in echo_cases.items()},
    }
    report, stderr = invoke_scenarios(node_modules, request, demo.stderr)
    return NodeRun(mode, report, package, demo, stderr)


def invoke_scenarios(
    node_modules: Path,
    request: Mapping[str, Any],
    server_log: Callable[[], str],
    *,
    ca: Path | None = None,
) -> tuple[dict[str, Any], str]:
    """Run ``scenarios.cjs`` on ``request``: its report and its stderr.

    Fails with both sides' output (``server_log()``) if the runner hangs or
    misbehaves.  ``ca``: a certificate for Node to trust (an HTTPS server's own);
    Node still checks the chain and the host name.
    """
    env = dict(os.environ, NODE_PATH=str(node_modules), NODE_OPTIONS="")
    # The clients' debug output would swamp stderr; TLS settings are the test's own.
    for name in ("DEBUG", "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_EXTRA_CA_CERTS"):
        env.pop(name, None)
    if ca is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(ca)
    try:
        done = subprocess.run(
            [node_executable(), str(SCENARIOS_JS)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=_NODE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else ""
        raise AssertionError(
            f"the scenario runner hung for {_NODE_TIMEOUT}s\n--- Node stderr ---\n{stderr}\n"
            f"--- server log ---\n{server_log()[-_STDERR_TAIL:]}"
        ) from None
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    if done.returncode != 0 or not isinstance(report, dict) or "results" not in report:
        raise AssertionError(
            f"the scenario runner failed (exit {done.returncode}); stdout:\n"
            f"{done.stdout[-_STDERR_TAIL:]}\n--- Node stderr ---\n{done.stderr[-_STDERR_TAIL:]}\n"
            f"--- server log ---\n{server_log()[-_STDERR_TAIL:]}"
        )
    return report, done.stderr


def show_diagnostics(run: NodeRun) -> NodeRun:
    """Print the stderrs; pytest shows captured output only for a failing test."""
    print(run.diagnostics(), file=sys.stderr)
    return run


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_modules() -> Path:
    return ensure_node_modules("interop-socketio-client-4", CLIENT_PACKAGES)


@pytest.fixture(scope="module", params=MODES)
def node_run(request: pytest.FixtureRequest, demo: DemoProcess, client_modules: Path) -> NodeRun:
    """All scenarios, run once per (adapter, mode)."""
    return run_scenarios(
        client_modules,
        demo,
        request.param,
        package="socket.io-client",
        flavour="v4",
        scenarios=V4_SCENARIOS,
        echo_cases=ECHO_CASES,
    )


@pytest.fixture
def run(node_run: NodeRun) -> Iterator[NodeRun]:
    show_diagnostics(node_run)
    yield node_run


# -- the tests -------------------------------------------------------------------------


def test_client_is_the_pinned_version(run: NodeRun) -> None:
    assert run.report["package"] == {
        "name": "socket.io-client",
        "version": CLIENT_PACKAGES["socket.io-client"],
    }


def test_connect_greets_the_new_client_only(run: NodeRun) -> None:
    result = run.result("connect")
    # The first client saw its own greeting and not the second client's.
    assert result["first"] == ["Connected"]
    assert result["second"] == ["Connected"]
    assert result["connect_events"] == 1
    assert result["id_is_string"] is True
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
    token = result["token"]
    assert len(result["seen"]) == 3
    for seen in result["seen"]:
        assert seen == ["Connected", token], seen
    run.check_transports(result["transports"])


def test_join_acks_and_room_event_reaches_members_only(run: NodeRun) -> None:
    result = run.result("rooms")
    assert result["join_acks"] == [[True], [True]]
    after_join = result["after_join"]
    assert after_join["a"] == ["Connected", "for the room"]
    assert after_join["b"] == ["Connected", "for the room"]
    assert after_join["outsider"] == ["Connected"]
    run.check_transports(result["transports"])


def test_leave_acks_and_stops_room_events(run: NodeRun) -> None:
    result = run.result("rooms")
    assert result["leave_ack"] == [True]
    after_leave = result["after_leave"]
    assert after_leave["a"][-1] == "after b left"
    assert "after b left" not in after_leave["b"]
    assert "after b left" not in after_leave["outsider"]
    assert after_leave["a"].count("after b left") == 1


def test_join_without_an_ack_still_joins(run: NodeRun) -> None:
    result = run.result("rooms")
    latest = result["after_outsider_joined"]
    assert latest["a"][-1] == "outsider joined"
    assert latest["outsider"][-1] == "outsider joined"
    assert "outsider joined" not in latest["b"]  # b left before


def test_disconnect_request_is_answered_then_disconnects(run: NodeRun) -> None:
    result = run.result("disconnect_request")
    assert result["responses"] == ["Connected", "Disconnected!"]
    kinds = [event[0] for event in result["events"]]
    assert kinds == ["connect", "disconnect"], result["events"]
    assert result["events"][-1] == ["disconnect", "io server disconnect"]
    assert result["connected"] is False
    assert result["bystander"] == ["Connected"]  # only the sender was disconnected
    run.check_transports(result["transports"])


@pytest.mark.parametrize("case", list(ECHO_CASES))
def test_echo_acks_the_same_arguments(run: NodeRun, case: str) -> None:
    result = run.result("echo")
    sent = ECHO_CASES[case]
    echoed = result["cases"][case]
    assert typed(from_js(echoed["ack"])) == typed(sent)
    # Binary came back as binary (Buffers), at the same places.
    assert [where for where, _ in echoed["binary"]] == binary_paths(sent)
    run.check_transports(result["transports"])


def test_concurrent_acks_reach_their_callbacks(run: NodeRun) -> None:
    result = run.result("concurrent_acks")
    expected = [[i, bytes([i, i + 1])] if i % 5 == 0 else [i, "x" * i] for i in range(50)]
    assert typed(from_js(result["acks"])) == typed(expected)
    run.check_transports(result["transports"])


def test_unknown_namespace_is_refused(run: NodeRun) -> None:
    result = run.result("unknown_namespace")
    assert result["events"] == [["connect_error", "Invalid namespace"]]
    assert result["connected"] is False


def test_500_messages_arrive_in_order(run: NodeRun) -> None:
    result = run.result("ordered")
    assert result["responses"] == ["Connected", *range(STREAM_LENGTH)]
    run.check_transports(result["transports"])


def test_500_messages_from_connect_on_none_lost(run: NodeRun) -> None:
    """The stream starts in the "connect" handler; in upgrade mode, on polling, and
    the upgrade to WebSocket happens while it is in flight."""
    result = run.result("stream_during_upgrade")
    responses = result["responses"]
    assert responses[0] == "Connected"
    received = responses[1:]
    missing = sorted(set(range(STREAM_LENGTH)) - set(received))
    assert not missing, f"{len(missing)} lost, first {missing[:10]}"
    assert received == list(range(STREAM_LENGTH)), "reordered or duplicated"
    stream = result["stream"]
    assert stream["sent"] == STREAM_LENGTH
    run.check_transports(result["transports"])
    if run.mode != "upgrade":
        assert stream["transport_at_first_emit"] == run.mode
        assert stream["transports_seen_sending"] == [run.mode]
        return
    [record] = result["transports"]
    assert record["start"] == "polling"
    assert stream["transport_at_first_emit"] == "polling"
    assert stream["transports_seen_sending"] == ["polling", "websocket"]
    # The probe started after STREAM_RELEASE_AT emits; emits went on while it was in
    # flight, and the upgrade completed with most of the stream still to come.
    assert stream["sent_at_release"] == STREAM_RELEASE_AT
    assert STREAM_RELEASE_AT < stream["sent_at_upgrade"] < STREAM_LENGTH, stream
    assert stream["received_at_upgrade"] < len(responses), stream
