"""The handler registry: lookup order, middlewares, registrations, class-based namespaces."""

from __future__ import annotations

import re
from typing import Any

import pytest

from socketio_proto.app import Namespace, Server
from socketio_proto.app.handlers import (
    ConnectionRefused,
    Handler,
    HandlerRegistry,
    Resolved,
    accepts_positional,
)
from socketio_proto.errors import LocalProtocolError


def named(name: str) -> Handler:
    """A distinct handler that says who it is."""

    def handler(*args: Any) -> str:
        return name

    handler.__name__ = name
    return handler


def resolve(registry: HandlerRegistry, namespace: str, event: str | int | float) -> Any:
    """(handler name, prefix) of the resolved handler, or None."""
    resolved = registry.resolve(namespace, event)
    if resolved is None:
        return None
    return resolved.handler(), resolved.prefix


def full_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    registry.add("chat", named("exact"), "/room")
    registry.add("chat", named("dynamic"), re.compile(r"/ro+m"))
    registry.add("*", named("dynamic-star"), re.compile(r"/ro+m"))
    registry.add("*", named("room-star"), "/room")
    registry.add("chat", named("star-ns"), "*")
    registry.add("*", named("star-star"), "*")
    return registry


# -- lookup order ------------------------------------------------------------------------------


def test_exact_handler_wins() -> None:
    assert resolve(full_registry(), "/room", "chat") == ("exact", ())


def test_dynamic_namespace_handler_beats_catch_alls() -> None:
    # "/rooom" has no table of its own: the pattern's "chat" beats its "*".
    assert resolve(full_registry(), "/rooom", "chat") == ("dynamic", ())
    # "/room" matches the pattern too; the exact table's "*" loses to the pattern's "chat".
    registry = full_registry()
    registry.add("other", named("dynamic-other"), re.compile(r"/ro+m"))
    assert resolve(registry, "/room", "other") == ("dynamic-other", ())


def test_catch_all_event_on_the_namespace_gets_the_event_name() -> None:
    assert resolve(full_registry(), "/room", "unknown") == ("room-star", ("unknown",))
    # The namespace's own "*" before a matching pattern's "*".
    assert resolve(full_registry(), "/rooom", "unknown") == ("dynamic-star", ("unknown",))


def test_catch_all_namespace_gets_the_namespace() -> None:
    assert resolve(full_registry(), "/elsewhere", "chat") == ("star-ns", ("/elsewhere",))


def test_catch_all_everywhere_gets_event_then_namespace() -> None:
    assert resolve(full_registry(), "/elsewhere", "other") == ("star-star", ("other", "/elsewhere"))


def test_each_step_falls_through_to_the_next() -> None:
    registry = full_registry()
    namespace, event = "/room", "chat"
    steps = [
        ("exact", ()),
        ("dynamic", ()),
        ("room-star", (event,)),
        ("star-ns", (namespace,)),
        ("star-star", (event, namespace)),
    ]
    tables: list[tuple[str, str | re.Pattern[str]]] = [
        ("chat", "/room"),
        ("chat", re.compile(r"/ro+m")),
        ("*", "/room"),
        ("chat", "*"),
        ("*", "*"),
    ]
    for expected, (key, ns_key) in zip(steps, tables, strict=True):
        assert resolve(registry, namespace, event) == expected
        # Remove the handler that just won: the next step takes over.
        table = registry._table(ns_key)
        del table[key]
        if key == "*" and ns_key == "/room":
            # The pattern's "*" is next in line for a catch-all event: remove it too.
            del registry._table(re.compile(r"/ro+m"))["*"]
    assert registry.resolve(namespace, event) is None


def test_catch_all_events_never_get_connect_or_disconnect() -> None:
    registry = HandlerRegistry()
    registry.add("*", named("star"), "/")
    registry.add("*", named("dyn-star"), re.compile(r"/d"))
    registry.add("*", named("star-star"), "*")
    for event in ("connect", "disconnect"):
        assert registry.resolve("/", event) is None
        assert registry.resolve("/d", event) is None
        assert registry.resolve("/x", event) is None
    # A named lifecycle handler on "*" does get them (with the namespace).
    registry.add("connect", named("star-connect"), "*")
    assert resolve(registry, "/", "connect") == ("star-connect", ("/",))
    # Other events still reach the catch-alls.
    assert resolve(registry, "/", "connect_error") == ("star", ("connect_error",))


def test_predicate_namespaces_and_non_string_events() -> None:
    registry = HandlerRegistry()
    registry.add(7, named("seven"), lambda name: name.startswith("/n"))
    registry.add(1.5, named("one-and-a-half"), "/")
    assert resolve(registry, "/numbers", 7) == ("seven", ())
    assert registry.resolve("/other", 7) is None
    assert resolve(registry, "/", 1.5) == ("one-and-a-half", ())
    assert registry.resolve("/", "1.5") is None


def test_same_pattern_shares_one_table_and_replacement_wins() -> None:
    registry = HandlerRegistry()
    pattern = re.compile(r"/p\d")
    registry.add("a", named("a"), pattern)
    registry.add("b", named("b"), re.compile(r"/p\d"))  # equal pattern: same table
    registry.add("a", named("a2"), pattern)  # re-registering replaces
    assert resolve(registry, "/p1", "a") == ("a2", ())
    assert resolve(registry, "/p1", "b") == ("b", ())
    assert len([key for key in registry.namespaces() if isinstance(key, re.Pattern)]) == 1


def test_class_based_namespace_comes_first() -> None:
    class Room(Namespace):
        def on_chat(self, sid: str) -> str:
            return "method"

    registry = full_registry()
    room = Room("/room")
    registry.add_namespace(room)
    resolved = registry.resolve("/room", "chat")
    assert resolved == Resolved(room.on_chat)
    # Events the class does not define fall back to the function tables.
    assert resolve(registry, "/room", "unknown") == ("room-star", ("unknown",))
    # Non-string events never look for methods.
    assert resolve(registry, "/room", 5) == ("room-star", (5,))


def test_nothing_registered() -> None:
    registry = HandlerRegistry()
    assert registry.resolve("/", "event") is None
    assert registry.resolve("/", "connect") is None
    assert registry.middlewares("/") == []
    assert registry.namespaces() == []


# -- middlewares ----------------------------------------------------------------------------------


def test_middleware_order() -> None:
    registry = HandlerRegistry()
    root1, root2, chat, star1, star2 = (named(n) for n in ("r1", "r2", "c", "s1", "s2"))
    registry.add_middleware(root1, "/")
    registry.add_middleware(star1, "*")
    registry.add_middleware(chat, "/chat")
    registry.add_middleware(root2, "/")
    registry.add_middleware(star2, "*")
    assert registry.middlewares("/") == [star1, star2, root1, root2]
    assert registry.middlewares("/chat") == [star1, star2, chat]
    assert registry.middlewares("/other") == [star1, star2]
    assert registry.middlewares("*") == [star1, star2, star1, star2]


# -- registrations ---------------------------------------------------------------------------------


def test_invalid_registrations() -> None:
    registry = HandlerRegistry()
    with pytest.raises(LocalProtocolError, match="not callable"):
        registry.add("e", "not a function", "/")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="must start with '/'"):
        registry.add("e", named("h"), "chat")
    with pytest.raises(LocalProtocolError, match="must start with '/'"):
        registry.add("e", named("h"), "")
    with pytest.raises(LocalProtocolError, match="not a namespace"):
        registry.add("e", named("h"), 42)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="not callable"):
        registry.add_middleware(None, "/")  # type: ignore[arg-type]
    assert registry.namespaces() == []


def test_invalid_registrations_through_the_server() -> None:
    app = Server()
    with pytest.raises(LocalProtocolError):
        app.on("e", "nope")  # type: ignore[call-overload]
    with pytest.raises(LocalProtocolError):
        app.on("e", named("h"), namespace="chat")
    with pytest.raises(LocalProtocolError):
        app.use(named("m"), namespace="chat")
    with pytest.raises(LocalProtocolError):
        app.register_namespace(Namespace("chat"))
    with pytest.raises(LocalProtocolError):
        app.use(42)  # type: ignore[arg-type]
    assert app.sio.namespaces == frozenset({"/"})


def test_namespaces_lists_every_kind_of_key() -> None:
    registry = HandlerRegistry()
    pattern = re.compile(r"/d\d")

    def predicate(name: str) -> bool:
        return name == "/p"

    registry.add("e", named("h"), "/a")
    registry.add("e", named("h"), "*")
    registry.add("e", named("h"), pattern)
    registry.add("e", named("h"), predicate)
    registry.add_namespace(Namespace("/class"))
    registry.add_middleware(named("m"), "/guarded")
    assert registry.namespaces() == ["/a", "*", "/class", "/guarded", pattern, predicate]


# -- class-based namespaces ------------------------------------------------------------------------


class Example(Namespace):
    not_a_method = 3
    on_flag = True  # an attribute named like a handler, but not callable

    def on_my_event(self, sid: str, data: Any) -> Any:
        return data

    def on_connect(self, sid: str, auth: Any) -> None:
        pass


def test_handler_for() -> None:
    example = Example("/ex")
    assert example.namespace == "/ex"
    assert example.handler_for("my_event") == example.on_my_event
    assert example.handler_for("connect") == example.on_connect
    assert example.handler_for("disconnect") is None
    assert example.handler_for("my event") is None
    assert example.handler_for("flag") is None
    assert example.handler_for("not_a_method") is None
    assert example.handler_for(5) is None  # type: ignore[arg-type]
    assert Namespace().namespace == "/"


def test_namespace_emit_needs_a_server() -> None:
    example = Example("/ex")
    assert example.server is None
    with pytest.raises(LocalProtocolError, match="not registered"):
        example.emit("x")


def test_connection_refused_defaults() -> None:
    refusal = ConnectionRefused()
    assert refusal.message == "Connection refused"
    assert refusal.data is None
    assert str(refusal) == "Connection refused"
    custom = ConnectionRefused("nope", {"x": 1})
    assert (custom.message, custom.data, str(custom)) == ("nope", {"x": 1}, "nope")


def test_accepts_positional() -> None:
    def one(a: Any) -> None:
        pass

    def two_with_default(a: Any, b: Any = None) -> None:
        pass

    def star(*args: Any) -> None:
        pass

    def keyword_only(a: Any, *, b: Any) -> None:
        pass

    assert accepts_positional(one, 1)
    assert not accepts_positional(one, 2)
    assert accepts_positional(two_with_default, 1)
    assert accepts_positional(two_with_default, 2)
    assert not accepts_positional(two_with_default, 3)
    assert accepts_positional(star, 5)
    assert not accepts_positional(keyword_only, 2)
    assert accepts_positional(Example("/").on_connect, 2)  # bound: self is not counted
    assert not accepts_positional(Example("/").on_connect, 3)
    # No signature to inspect (a builtin such as max): assume it fits.
    assert accepts_positional(max, 1)
    assert accepts_positional(max, 7)
