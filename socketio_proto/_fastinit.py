"""Cheaper building blocks for what is made or looked up once per message.

:func:`fast_init`: a faster ``__init__`` for frozen, slotted dataclasses.
:class:`StateEnum`: an enum hashed by identity, for state-machine tables.

A frozen dataclass assigns each field with ``object.__setattr__``, which is a
global lookup plus a generic call; the slot descriptor's own ``__set__`` does
the same store in about half the time.  Events, outputs and jobs are created
for every message, so this is worth its few lines.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, TypeVar

__all__ = ["StateEnum", "fast_init"]

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Replace the generated ``__init__`` of a frozen, slotted dataclass (apply it last).

    The signature, the defaults and immutability stay as the dataclass made
    them.  Classes with a ``__post_init__`` or a ``default_factory`` are refused.
    """
    if not dataclasses.is_dataclass(cls) or not hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    namespace: dict[str, Any] = {}
    positional: list[str] = []
    keyword_only: list[str] = []
    body: list[str] = []
    for field in dataclasses.fields(cls):
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name} has a default_factory")
        name = field.name
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
        parameter = name
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            parameter = f"{name}=_default_{name}"
        (keyword_only if field.kw_only else positional).append(parameter)
        body.append(f"    _set_{name}(self, {name})")
    parameters = ["self", *positional, *(["*", *keyword_only] if keyword_only else [])]
    source = f"def __init__({', '.join(parameters)}):\n" + ("\n".join(body) or "    pass")
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 (mypy forbids assigning to __init__)
    return cls


class StateEnum(Enum):
    """An enum hashed by identity: its members are singletons.

    ``Enum.__hash__`` is Python code; states and inputs are hashed in every
    transition-table lookup, so identity hashing (C) pays off.
    """

    __hash__ = object.__hash__
