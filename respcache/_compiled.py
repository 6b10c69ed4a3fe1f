"""Which modules are compiled with mypyc, and the check that they are not stale.

``bin/build-compiled`` (run by ``bin/setup``) compiles :data:`MODULES` in place:
``respcache/protocol/parser.cpython-311-….so`` beside ``parser.py``, and the
shared library ``respcache/_mypyc__mypyc….so``. Python imports an extension
module before a source file of the same name, so an edited ``parser.py`` would be
shadowed by its old compiled copy. To make that impossible the build writes
:data:`MANIFEST` — the SHA-256 of every source the compiled code was built from
(the compiled modules and the ``respcache`` modules they import) — and
:func:`install`, called from ``respcache/__init__.py`` before any of them is
imported, compares it with the sources on disk (~1 ms):

* all equal → the compiled modules load (``STATE == "compiled"``);
* anything differs, the manifest is missing or from another interpreter → a
  warning on stderr, and *all* of :data:`MODULES` load from their ``.py`` files
  (``"stale"``): compiled and pure modules are never mixed, since compiled code
  reaches the native classes of the other compiled modules directly;
* ``RESPCACHE_PURE=1`` → the ``.py`` files, silently (``"pure"``);
* no compiled files → plain Python (``"none"``).

``bin/setup`` rebuilds whenever :func:`stale_sources` finds a difference, so a
developer's edit runs as pure Python until the next ``bin/setup`` / ``bin/test``,
never as old compiled code.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

MODULES: tuple[str, ...] = (
    "respcache.protocol.parser",
    "respcache.protocol.encoder",
    "respcache.store.keyspace",
    "respcache.commands.engine",
    "respcache.commands.watch",
    "respcache.commands.blocking",
    "respcache.commands.gates",
    "respcache.commands.stats",
    "respcache.server.connection",
    "respcache.server.gate",
    "respcache.security.acl",
    "respcache.commands.pause",
    "respcache.persistence.loading",
    "respcache.commands.registry",
    "respcache.commands.monitor",
    "respcache.commands.monitoring",
    "respcache.commands.tracking",
    "respcache.commands.client",
    "respcache.commands.strings",
    "respcache.commands.lists",
    "respcache.commands.hashes",
    "respcache.commands.sets",
    "respcache.commands.zsets",
)
"""The hot path: RESP parsing and encoding, the keyspace, the command pipeline (and the
collaborators it reaches on every command: the gate steps, the statistics, WATCH
bookkeeping, blocked clients, the client, the command registry, MONITOR, the slowlog,
tracking, the ACL check, CLIENT PAUSE, the loading flag), the connection's
``data_received`` loop and its commit gate, and the string, list, hash, set and
sorted-set commands (which call ``key_modified()``, not the ``Client`` method: see
``commands/client.py``)."""
GROUP = "respcache._mypyc"
"""mypyc's group name: the shared library is ``respcache/_mypyc__mypyc*.so``."""
PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
MANIFEST = PACKAGE_DIR / "_compiled.json"
EXT_SUFFIX: str = importlib.machinery.EXTENSION_SUFFIXES[0]

STATE = "none"
"""``compiled``, ``pure`` (RESPCACHE_PURE=1), ``stale`` or ``none``: set by :func:`install`."""


def source_path(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def extension_path(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_name(module.rsplit(".", 1)[1] + EXT_SUFFIX)


def _on_disk(root: Path) -> list[Path]:
    """Compiled modules present: ``X.<EXT_SUFFIX>`` beside an ``X.py`` (a module dropped
    from :data:`MODULES` but not yet rebuilt leaves one too)."""
    return sorted(
        p
        for p in (root / "respcache").glob("**/*" + EXT_SUFFIX)
        if p.with_name(p.name[: -len(EXT_SUFFIX)] + ".py").is_file()
    )


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).parts)[: -len(EXT_SUFFIX)]


def compiled_files(root: Path = ROOT) -> list[Path]:
    """The compiled files present (per-module extensions and the shared library)."""
    package = root.joinpath(*GROUP.split(".")[:-1])
    return _on_disk(root) + sorted(package.glob(GROUP.rsplit(".", 1)[1] + "__mypyc*.so"))


def dependencies(modules: Sequence[str], root: Path = ROOT) -> list[str]:
    """Source files (relative to ``root``) the compiled code depends on: the compiled
    modules and every ``respcache`` module they import (mypyc reads their types and
    inlines their ``Final`` constants)."""
    import ast  # (build time only: not paid at every import)

    files: set[Path] = set()
    for module in modules:
        path = source_path(module, root)
        files.add(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if not name.startswith("respcache"):
                    continue
                base = root.joinpath(*name.split("."))
                for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                    if candidate.is_file():
                        files.add(candidate)
    return sorted(str(p.relative_to(root)) for p in files)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_for(modules: Sequence[str], root: Path = ROOT) -> dict[str, object]:
    return {
        "modules": list(modules),
        "ext_suffix": EXT_SUFFIX,
        "python": sys.version,
        "sources": {rel: digest(root / rel) for rel in dependencies(modules, root)},
    }


def stale_sources(root: Path = ROOT, manifest: Path | None = None) -> list[str]:
    """Why the compiled build does not match the sources (empty: it matches)."""
    manifest = manifest or root / "respcache" / MANIFEST.name
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return [f"{manifest.name} missing or unreadable"]
    reasons: list[str] = []
    if data.get("modules") != list(MODULES):
        reasons.append("the list of compiled modules changed")
    if data.get("ext_suffix") != EXT_SUFFIX:
        reasons.append(f"built for {data.get('ext_suffix')}, running {EXT_SUFFIX}")
    sources = data.get("sources")
    if not isinstance(sources, dict):
        return [*reasons, "no source hashes"]
    for rel, expected in sources.items():
        path = root / rel
        if not path.is_file() or digest(path) != expected:  # ~1 ms for all of them
            reasons.append(f"{rel} changed")
    # (A new dependency means an edited compiled module: its own hash differs.)
    missing = [m for m in MODULES if not extension_path(m, root).exists()]
    if missing:
        reasons.append("not compiled: " + ", ".join(missing))
    stray = [n for p in _on_disk(root) if (n := _module_name(p, root)) not in MODULES]
    if stray:
        reasons.append("compiled but no longer listed: " + ", ".join(stray))
    return reasons


class _SourceFinder:
    """Loads the compiled modules from their ``.py`` files (ahead of the ``.so`` files).

    (A ``sys.meta_path`` finder; not an ``importlib.abc.MetaPathFinder`` subclass, whose
    import costs 10 ms at every start.)"""

    def __init__(self, root: Path) -> None:
        names = {*MODULES, *(_module_name(p, root) for p in _on_disk(root))}
        self.sources = {m: source_path(m, root) for m in names}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> str:
    """Decide between the compiled and the pure modules (see the module docstring)."""
    global STATE
    if not compiled_files():
        STATE = "none"
        return STATE
    if os.environ.get("RESPCACHE_PURE", "") not in ("", "0"):
        STATE = "pure"
    else:
        reasons = stale_sources()
        if not reasons:
            STATE = "compiled"
            return STATE
        STATE = "stale"
        print(
            "respcache: the compiled modules do not match the sources ("
            + "; ".join(reasons[:3])
            + "); running them as pure Python. Run bin/setup to rebuild.",
            file=sys.stderr,
        )
    if not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder(ROOT))
    return STATE
