"""Sphinx configuration for the socketio_proto documentation.

Build:   python -m sphinx -W --keep-going -b html docs docs/_build/html
Doctest: python -m sphinx -b doctest docs docs/_build/doctest
(tests/test_docs.py runs both.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
# Local extensions: transitions.py draws the state machines from their TRANSITIONS tables.
sys.path.insert(0, str(DOCS / "_ext"))

import socketio_proto  # noqa: E402

project = "socketio_proto"
author = "the socketio_proto authors"
copyright = "the socketio_proto authors"
release = socketio_proto.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "transitions",
]

# docs/benchmarks.md is Markdown written by the benchmark tooling.  It becomes a
# page when myst-parser is installed (it is in the ``dev`` extra) and the file
# exists; otherwise the build goes on without it.
HAVE_MYST = importlib.util.find_spec("myst_parser") is not None
if HAVE_MYST:
    extensions.append("myst_parser")
    # The benchmark page is generated; a skipped heading level there is cosmetic.
    suppress_warnings = ["myst.header"]
HAVE_BENCHMARKS = HAVE_MYST and (DOCS / "benchmarks.md").is_file()
# docs/benchmarks-results.md is written by ``python -m socketio_proto bench all``.
HAVE_RESULTS = HAVE_BENCHMARKS and (DOCS / "benchmarks-results.md").is_file()

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
if not HAVE_BENCHMARKS:
    exclude_patterns.append("benchmarks.md")
if not HAVE_RESULTS:
    exclude_patterns.append("benchmarks-results.md")

# -- cross references ------------------------------------------------------------
# Every reference must resolve: a typo in a :class: role fails the build.
nitpicky = True
nitpick_ignore = [
    # Types from outside the package that have no documentation here
    # (intersphinx would need the network).
    ("py:class", "Any"),
    ("py:class", "typing.Any"),
    ("py:class", "SearchStrategy"),
    ("py:class", "hypothesis.strategies.SearchStrategy"),
    ("py:class", "hypothesis.strategies._internal.strategies.SearchStrategy"),
    ("py:class", "Ex"),
    ("py:class", "flask.app.Flask"),
    ("py:class", "socketio_proto.testing.socket_pair.E"),
    # A private base class of the state enums (identity hashing; see _fastinit).
    ("py:class", "socketio_proto._fastinit.StateEnum"),
]
nitpick_ignore_regex = [
    # Builtins (str, bytes, int...) and typing constructs.
    ("py:class", r"(builtins\.)?(str|bytes|int|float|bool|object|list|dict|tuple|None)"),
    ("py:class", r"(typing|enum|collections\.abc|abc|re)\..*"),
    # The standard library and trio, for the IO adapters.
    (
        "py:class",
        r"(contextlib|asyncio|concurrent\.futures|ssl|socket|threading|types|pathlib)\..*",
    ),
    ("py:class", r"trio\..*"),
    # Private bases and module type variables of the adapters.
    ("py:class", r"socketio_proto\.[\w.]+\._common\.\w+"),
    ("py:class", r"socketio_proto\.[\w.]+\.[A-Z]"),
    ("py:obj", r"typing\..*"),
]

# -- autodoc ---------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True, "undoc-members": True}

# -- doctest ---------------------------------------------------------------------
# Exception messages are compared too (no IGNORE_EXCEPTION_DETAIL): the error
# texts shown in the guides are the real ones.
import doctest  # noqa: E402

doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1
doctest_test_doctest_blocks = "default"

# -- HTML ------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"socketio_proto {release}"
html_theme_options = {
    "description": "Sans-IO Engine.IO and Socket.IO",
    "fixed_sidebar": False,
}


# -- local hooks -----------------------------------------------------------------
def _defining_modules(module_name: str, name: str) -> list[str]:
    """Modules of this package that define ``name`` found in ``module_name``, deepest first."""
    obj = getattr(sys.modules[module_name], name, None)
    if obj is None:
        # Not (yet) re-exported by the package: look in its submodules.
        found = [
            candidate
            for candidate, module in list(sys.modules.items())
            if candidate.startswith(module_name + ".") and name in getattr(module, "__all__", ())
        ]
        return sorted(found, key=len, reverse=True)
    found = [
        candidate
        for candidate, module in list(sys.modules.items())
        if candidate.startswith("socketio_proto")
        and candidate != module_name
        and name in getattr(module, "__all__", ())
        and getattr(module, name, None) is obj
    ]
    return sorted(found, key=len, reverse=True)


def _alias_reexports(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``socketio_proto.Name`` (and ``socketio_proto.sub.Name.attr``) to where
    ``Name`` is documented.

    The packages re-export their public names and the docstrings and guides refer
    to them that way; the API reference documents each object once, in its
    defining module.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    candidates = [target] if target.startswith("socketio_proto") else []
    if node.get("py:module"):
        candidates.append(f"{node['py:module']}.{target}")
    domain = env.get_domain("py")
    for candidate in candidates:
        parts = candidate.split(".")
        # The longest prefix that is an imported module, then the object in it.
        for cut in range(len(parts) - 1, 0, -1):
            module_name = ".".join(parts[:cut])
            if module_name in sys.modules:
                break
        else:
            continue
        name, rest = parts[cut], parts[cut + 1 :]
        for defining in _defining_modules(module_name, name):
            node["reftarget"] = ".".join([defining, name, *rest])
            resolved = domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], node["reftarget"], node, contnode
            )
            if resolved is not None:
                return resolved
    node["reftarget"] = target
    return None


def _toctree_benchmarks(app: Any, docname: str, source: list[str]) -> None:
    """List the benchmark pages in the index toctree only when they can be built."""
    if docname == "index":
        source[0] = source[0].replace(
            "   benchmarks-if-available\n", "   benchmarks\n" if HAVE_BENCHMARKS else ""
        )
        source[0] = source[0].replace(
            "   benchmarks-results-if-available\n",
            "   benchmarks-results\n" if HAVE_RESULTS else "",
        )


def _drop_object_base(app: Any, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """Say nothing rather than "Bases: object" for plain classes."""
    if bases == [object]:
        bases.clear()


def setup(app: Any) -> None:
    app.connect("autodoc-process-bases", _drop_object_base)
    app.connect("missing-reference", _alias_reexports)
    app.connect("source-read", _toctree_benchmarks)
