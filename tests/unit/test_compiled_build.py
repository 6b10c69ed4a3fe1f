"""The mypyc build (bin/build-compiled, respcache/_compiled.py): compiled where a C
compiler exists, never stale, pure Python on request."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from respcache import _compiled

ROOT = Path(_compiled.__file__).resolve().parent.parent

PROBE = (
    "import importlib, respcache._compiled as c\n"
    "print(c.STATE)\n"
    "for m in c.MODULES: print(importlib.import_module(m).__file__)\n"
)


def _compiler_present() -> bool:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return any(shutil.which(name) for name in (cc, "cc", "gcc"))


def _mypyc_present() -> bool:
    try:
        importlib.import_module("mypyc.build")
    except ImportError:
        return False
    return True


def _probe(pythonpath: Path | None = None, **env: str) -> tuple[str, list[str], str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("RESPCACHE_PURE", "PYTHONPATH")}
    full_env.update(env)
    if pythonpath is not None:
        full_env["PYTHONPATH"] = str(pythonpath)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd="/",
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    state, *files = result.stdout.split()
    return state, files, result.stderr


def _copy_package(dest: Path) -> Path:
    shutil.copytree(
        ROOT / "respcache", dest / "respcache", ignore=shutil.ignore_patterns("__pycache__")
    )
    return dest


def test_installed_package_is_the_compiled_one() -> None:
    if os.environ.get("RESPCACHE_PURE", "") not in ("", "0"):
        pytest.skip("RESPCACHE_PURE=1: this run is the pure-Python one on purpose")
    if not _compiler_present():
        pytest.skip("no C compiler on this machine: bin/setup installs pure Python")
    if not _mypyc_present():
        pytest.skip("mypyc not installed (bin/setup installs it with the 'compile' extra)")
    assert _compiled.stale_sources() == [], "run bin/setup (see build/mypyc/build.log)"
    assert _compiled.STATE == "compiled"
    for module in _compiled.MODULES:
        path = importlib.import_module(module).__file__
        assert path is not None and path.endswith(_compiled.EXT_SUFFIX), (module, path)


def test_respcache_pure_loads_every_module_from_source() -> None:
    state, files, _ = _probe(RESPCACHE_PURE="1")
    assert state in ("pure", "none")  # "none": nothing compiled on this machine
    assert len(files) == len(_compiled.MODULES)
    assert all(f.endswith(".py") for f in files), files


def test_an_edited_source_runs_as_pure_python_not_as_stale_compiled_code(
    tmp_path: Path,
) -> None:
    if not _compiled.compiled_files() or _compiled.stale_sources():
        pytest.skip(
            "no current compiled build (stale, no C compiler, or RESPCACHE_PURE=1 at setup)"
        )
    fresh = _copy_package(tmp_path / "fresh")
    state, files, err = _probe(fresh)
    assert state == "compiled", err
    assert all(f.startswith(str(fresh)) and f.endswith(_compiled.EXT_SUFFIX) for f in files)

    edited = _copy_package(tmp_path / "edited")
    keyspace = edited / "respcache" / "store" / "keyspace.py"
    keyspace.write_text(keyspace.read_text() + "\nEDITED_AFTER_THE_BUILD = True\n")
    state, files, err = _probe(edited)
    assert state == "stale"
    assert "respcache/store/keyspace.py changed" in err
    # All of them fall back, the unchanged ones too: compiled and pure are never mixed.
    assert all(f.startswith(str(edited)) and f.endswith(".py") for f in files), files


def test_stale_sources_names_what_changed(tmp_path: Path) -> None:
    root = _copy_package(tmp_path)
    for module in _compiled.MODULES:  # stand-ins for the compiled files
        _compiled.extension_path(module, root).write_bytes(b"")
    manifest = root / "respcache" / _compiled.MANIFEST.name
    manifest.write_text(json.dumps(_compiled.manifest_for(_compiled.MODULES, root)))
    assert _compiled.stale_sources(root) == []

    # A module the compiled code imports (its Final constants are inlined) counts too.
    values = root / "respcache" / "store" / "values.py"
    assert "respcache/store/values.py" in json.loads(manifest.read_text())["sources"]
    values.write_text(
        values.read_text().replace("ENTRY_OVERHEAD: Final = ", "ENTRY_OVERHEAD: Final = 1 + ")
    )
    assert _compiled.stale_sources(root) == ["respcache/store/values.py changed"]

    stray = root / "respcache" / "store" / ("values" + _compiled.EXT_SUFFIX)
    stray.write_bytes(b"")  # a module compiled once, since dropped from MODULES
    assert _compiled.stale_sources(root)[-1:] == [
        "compiled but no longer listed: respcache.store.values"
    ]
    stray.unlink()

    _compiled.extension_path(_compiled.MODULES[0], root).unlink()
    assert f"not compiled: {_compiled.MODULES[0]}" in _compiled.stale_sources(root)

    data = json.loads(manifest.read_text())
    data["modules"] = data["modules"][:-1]
    manifest.write_text(json.dumps(data))
    assert "the list of compiled modules changed" in _compiled.stale_sources(root)

    manifest.unlink()
    assert _compiled.stale_sources(root) == [f"{manifest.name} missing or unreadable"]
