"""``socketio_proto._fastinit``: fast dataclass ``__init__`` and identity-hashed enums."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from socketio_proto._fastinit import StateEnum, fast_init
from socketio_proto.engineio.events import SendWebSocket
from socketio_proto.socketio.events import EventReceived
from socketio_proto.socketio.server import SocketState


@fast_init
@dataclass(frozen=True, slots=True)
class Sample:
    first: int
    second: str = "two"
    third: tuple[int, ...] = ()
    option: bool = field(default=False, kw_only=True)


def test_fields_defaults_and_keywords_are_kept() -> None:
    assert Sample(1) == Sample(1, "two", (), option=False)
    sample = Sample(1, third=(3,), option=True, second="2")
    assert (sample.first, sample.second, sample.third, sample.option) == (1, "2", (3,), True)
    assert repr(Sample(5)) == "Sample(first=5, second='two', third=(), option=False)"
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample(1, "2", (), True)  # type: ignore[call-arg]


def test_instances_stay_frozen_and_hashable() -> None:
    sample = Sample(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.first = 2  # type: ignore[misc]
    assert {Sample(1): "x"}[Sample(1)] == "x"


def test_the_library_events_use_it() -> None:
    assert SendWebSocket.__init__.__qualname__ == "SendWebSocket.__init__"
    event = EventReceived("sid", "/", "chat", ["hi"], None)
    assert event == EventReceived(sid="sid", namespace="/", event="chat", args=["hi"], ack_id=None)


def test_unsupported_classes_are_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class WithPostInit:
        value: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class WithoutSlots:
        value: int

    for cls in (WithFactory, WithPostInit, WithoutSlots):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_state_enums_hash_by_identity_and_stay_enums() -> None:
    class Light(StateEnum):
        RED = "red"
        GREEN = "green"

    assert hash(Light.RED) == object.__hash__(Light.RED)
    assert Light("green") is Light.GREEN
    assert {(Light.RED, Light.GREEN): 1}[Light.RED, Light.GREEN] == 1
    assert list(Light) == [Light.RED, Light.GREEN]
    assert hash(SocketState.CONNECTED) == object.__hash__(SocketState.CONNECTED)
