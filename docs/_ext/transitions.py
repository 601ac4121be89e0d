"""Draw a state machine's transition table straight from the code.

.. code-block:: rst

   .. transition-table:: socketio_proto.engineio.server.TRANSITIONS
      :caption: Engine.IO server sessions

The argument names a mapping ``{(state, input): new_state}`` in an importable
module.  The directive renders it as a table with one row per transition, in
the mapping's order.  Members of a public enum (one listed in its module's
``__all__``) become cross references to their API entry, so a renamed state
breaks the nitpicky build instead of going stale; other values are shown as
literals (an enum by its value when that is a string, else by its name).

The page is rebuilt whenever the module defining the mapping changes.
"""

from __future__ import annotations

import importlib
import sys
from enum import Enum
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

__all__ = ["TransitionTable", "setup"]


def _import(dotted: str) -> tuple[Any, Any]:
    module_name, _, attribute = dotted.rpartition(".")
    if not module_name:
        raise ValueError(f"{dotted!r} is not a dotted path")
    module = importlib.import_module(module_name)
    try:
        return module, getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name} has no attribute {attribute!r}") from None


def _cell(value: Any) -> str:
    """reStructuredText for one state or input."""
    if isinstance(value, Enum):
        cls = type(value)
        module = sys.modules.get(cls.__module__)
        if cls.__name__ in getattr(module, "__all__", ()):
            return f":py:attr:`~{cls.__module__}.{cls.__qualname__}.{value.name}`"
        text = value.value if isinstance(value.value, str) else value.name
    else:
        text = str(value)
    return f"``{text}``"


class TransitionTable(SphinxDirective):
    """``.. transition-table:: package.module.TRANSITIONS``"""

    required_arguments = 1
    option_spec = {  # noqa: RUF012 -- docutils reads a class attribute
        "caption": directives.unchanged,
        "headers": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        try:
            module, table = _import(self.arguments[0])
        except (ImportError, ValueError) as exc:
            raise self.error(f"transition-table: cannot import {self.arguments[0]}: {exc}") from exc
        if not isinstance(table, dict) or not all(
            isinstance(key, tuple) and len(key) == 2 for key in table
        ):
            raise self.error(
                f"transition-table: {self.arguments[0]} is not a {{(state, input): state}} dict"
            )
        if getattr(module, "__file__", None):
            self.env.note_dependency(module.__file__)
        headers = [
            h.strip() for h in self.options.get("headers", "State, Input, New state").split(",")
        ]
        if len(headers) != 3:
            raise self.error("transition-table: :headers: needs three comma-separated names")

        lines = [
            f".. list-table:: {self.options.get('caption', '')}".rstrip(),
            "   :header-rows: 1",
            "   :class: transition-table",
            "",
        ]
        rows = [headers] + [
            [_cell(state), _cell(event), _cell(new)] for (state, event), new in table.items()
        ]
        for row in rows:
            lines.append(f"   * - {row[0]}")
            lines.extend(f"     - {cell}" for cell in row[1:])
        content = StringList()
        source = self.get_source_info()[0] or self.env.docname
        for number, line in enumerate(lines):
            content.append(line, f"{source}<transition-table>", number)
        container = nodes.container()
        self.state.nested_parse(content, self.content_offset, container)
        return list(container.children)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("transition-table", TransitionTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
