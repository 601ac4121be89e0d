"""Install pinned npm packages into a shared cache (interop tests and benchmarks).

The interop tests and the server benchmarks run the official JavaScript
implementations (parsers, servers, clients) next to ours.  Nothing is vendored:
:func:`ensure_node_modules` installs an exact set of packages from the npm
registry, once, into ``$SOCKETIO_PROTO_CACHE/npm/<name>-<hash>/node_modules``
(default cache: ``~/.cache/socketio_proto``) and returns that directory, e.g. for
``NODE_PATH``::

    modules = ensure_node_modules(
        "parsers",
        {"socket.io-parser": "4.2.7", "engine.io-parser-v3": "npm:engine.io-parser@2.2.1"},
    )

The install directory is keyed by a hash of the spec, so changing a version
installs side by side.  It is safe under pytest-xdist: an ``fcntl`` lock
serialises installers of one spec, and the install happens in a temporary
directory that is renamed into place only when complete, so readers never see
a half-populated ``node_modules``.

It lives in the package (not under ``tests/``) because ``python -m socketio_proto
bench`` needs it too; ``tests/support/npm.py`` re-exports it.  A missing ``node``
or ``npm`` raises :class:`NodeToolchainError`: the tests treat it as a failure (CI
provides Node, and silently skipping interop tests would hide regressions), the
benchmark as a row it cannot measure.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "NodeToolchainError",
    "cache_root",
    "ensure_node_modules",
    "node_executable",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PACKAGE = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_ALIAS = re.compile(r"^npm:((?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)@(.+)$")
_MARKER = ".socketio-proto-install.json"
_INSTALL_TIMEOUT = 600.0


class NodeToolchainError(RuntimeError):
    """``node``/``npm`` is missing, or installing the packages failed."""


def cache_root() -> Path:
    """``$SOCKETIO_PROTO_CACHE`` or ``~/.cache/socketio_proto``."""
    configured = os.environ.get("SOCKETIO_PROTO_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "socketio_proto"


def _which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise NodeToolchainError(
            f"`{tool}` was not found on PATH. The interop tests and the server benchmarks "
            "run the official JavaScript implementations and need Node.js (>= 18) with "
            "npm; install them (CI does) rather than skipping these tests."
        )
    return path


def node_executable() -> str:
    """The path of ``node``; raises :class:`NodeToolchainError` if it is missing."""
    return _which("node")


def _parse_spec(alias: str, spec: str) -> tuple[str, str]:
    """Return ``(real package name, exact version)`` for one dependency entry."""
    if not _PACKAGE.match(alias):
        raise ValueError(f"invalid npm package name {alias!r}")
    match = _ALIAS.match(spec)
    real, version = (match.group(1), match.group(2)) if match else (alias, spec)
    if not _EXACT_VERSION.match(version):
        raise ValueError(
            f"{alias}: {spec!r} is not an exact version; pin one (e.g. '4.2.7' or "
            "'npm:engine.io-parser@2.2.1') so test runs are reproducible"
        )
    return real, version


def _spec_digest(name: str, packages: Mapping[str, str], ignore_scripts: bool) -> str:
    spec: dict[str, object] = {"name": name, "packages": dict(sorted(packages.items()))}
    if not ignore_scripts:
        spec["scripts"] = True
    canonical = json.dumps(spec)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_complete(target: Path, packages: Mapping[str, str]) -> bool:
    try:
        recorded = json.loads((target / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("packages") == dict(packages)


def _verify(modules: Path, packages: Mapping[str, str]) -> None:
    for alias, spec in packages.items():
        real, version = _parse_spec(alias, spec)
        manifest = modules / alias / "package.json"
        try:
            installed = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise NodeToolchainError(f"npm did not install {alias} ({spec}): {exc}") from None
        if installed.get("name") != real or installed.get("version") != version:
            raise NodeToolchainError(
                f"{alias}: expected {real}@{version}, npm installed "
                f"{installed.get('name')}@{installed.get('version')}"
            )


def _install(workdir: Path, name: str, packages: Mapping[str, str], ignore_scripts: bool) -> None:
    manifest = {
        "name": f"socketio-proto-cache-{name.lower()}",
        "version": "0.0.0",
        "private": True,
        "description": "generated by socketio_proto.benchmarks.npm; safe to delete",
        "dependencies": dict(packages),
    }
    (workdir / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    command = [
        _which("npm"),
        "install",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--loglevel=error",
    ]
    if ignore_scripts:
        command.append("--ignore-scripts")
    try:
        result = subprocess.run(
            command,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise NodeToolchainError(
            f"`npm install` for {name} took longer than {_INSTALL_TIMEOUT:.0f}s"
        ) from None
    if result.returncode != 0:
        raise NodeToolchainError(
            f"`npm install` for {name} failed (exit {result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


def ensure_node_modules(
    name: str, packages: Mapping[str, str], *, ignore_scripts: bool = True
) -> Path:
    """Install ``packages`` once; return the ``node_modules`` directory.

    ``packages`` maps a name (or alias) to an exact version or ``npm:pkg@version``;
    ``name`` labels the cache entry (letters, digits, ``.``, ``_``, ``-``).  The
    call is idempotent and safe to make from several processes at once.  Raises
    :class:`NodeToolchainError` if ``node``/``npm`` are missing or the install
    fails, and ``ValueError`` for a malformed spec.  Install scripts are not
    run unless ``ignore_scripts=False``.
    """
    if not _NAME.match(name):
        raise ValueError(f"invalid cache entry name {name!r}")
    if not packages:
        raise ValueError("no packages to install")
    for alias, spec in packages.items():
        _parse_spec(alias, spec)
    _which("node")
    _which("npm")

    parent = cache_root() / "npm"
    entry = f"{name}-{_spec_digest(name, packages, ignore_scripts)}"
    target = parent / entry
    if _is_complete(target, packages):
        return target / "node_modules"

    parent.mkdir(parents=True, exist_ok=True)
    with _locked(parent / f"{entry}.lock"):
        # Another process may have finished the install while we waited.
        if _is_complete(target, packages):
            return target / "node_modules"
        workdir = Path(tempfile.mkdtemp(prefix=f".{entry}.tmp-", dir=parent))
        try:
            _install(workdir, name, packages, ignore_scripts)
            _verify(workdir / "node_modules", packages)
            (workdir / _MARKER).write_text(
                json.dumps({"name": name, "packages": dict(packages)}, indent=2) + "\n"
            )
            workdir.chmod(0o755)  # mkdtemp makes it private; the cache is shared
            if target.exists():
                # A leftover from an interrupted or tampered install: replace it.
                shutil.rmtree(target)
            os.rename(workdir, target)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    return target / "node_modules"
