"""Every setting's declaration, default, CONFIG GET text and CONFIG REWRITE output, frozen.

``tests/unit/data/config_golden.json`` was written by this module (``python
tests/unit/test_config_golden.py``) on the tree before the settings table was declared
once; the test compares the current code with it, so a changed name, default, type,
alias, CONFIG GET text, CONFIG SET error or rewritten file shows up as a diff.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from respcache.config import SETTINGS, Config, quote
from respcache.errors import ConfigError

GOLDEN = Path(__file__).parent / "data" / "config_golden.json"
CONF = Path(__file__).resolve().parents[2] / "conf" / "respcache.conf"


def _rewrite(tmp: Path, text: str, config: Config | None = None) -> str:
    path = tmp / "rewrite.conf"
    path.write_text("".join(line for line in text.splitlines(True) if "nosuch" not in line))
    loaded = Config.load(str(path))
    path.write_text(text)  # the unknown line is in the file CONFIG REWRITE reads
    if config is not None:
        for name in SETTINGS:
            if SETTINGS[name].mutable and config.render(name) != loaded.render(name):
                loaded.set(name, config.render(name))
    loaded.rewrite()
    return path.read_text()


def dump(tmp: Path) -> dict[str, Any]:
    """The dump as JSON-ready data, the working directory (``dir``) shown as ``<cwd>``."""
    text = json.dumps(_dump(tmp), indent=1, sort_keys=True)
    return json.loads(text.replace(json.dumps(os.getcwd())[1:-1], "<cwd>"))  # type: ignore[no-any-return]


def _dump(tmp: Path) -> dict[str, Any]:
    config = Config()
    settings: list[dict[str, Any]] = []
    for name, s in SETTINGS.items():
        value = getattr(config, s.attribute)
        try:
            config.set(name, "bogus value!")
            set_error = ""
        except ConfigError as exc:
            set_error = str(exc)
        config = Config()
        settings.append(
            {
                "name": name,
                "kind": s.kind,
                "default": s.default,
                "doc": s.doc,
                "group": s.group,
                "mutable": s.mutable,
                "minimum": s.minimum,
                "maximum": s.maximum,
                "choices": list(s.choices),
                "aliases": list(s.aliases),
                "sensitive": s.sensitive,
                "multi_arg": s.multi_arg,
                "unsigned": s.unsigned,
                "hidden": s.hidden,
                "attribute": s.attribute,
                "config_get": config.render(name),
                "typed": repr(value),
                "type": type(value).__name__,
                "set_error": set_error,
            }
        )
    every_line = "".join(
        f"{alias} {quote(config.render(s.name))}\n"
        for s in SETTINGS.values()
        for alias in (s.name, *s.aliases)
        if s.kind not in ("special", "list")
    )
    changed = Config(
        port=7000,
        maxmemory="1gb",
        save="60 10",
        appendonly=True,
        client_output_buffer_limit="pubsub 1mb 2mb 3",
        notify_keyspace_events="KEA",
        replicaof="10.0.0.1 6380",
        bind="0.0.0.0",
        requirepass="secret",
    )
    return {
        "settings": settings,
        "config_get_star": config.matching(["*"]),
        "config_get_patterns": config.matching(["max*", "*-policy", "SLAVE*", "[ab]*", "Port"]),
        "rewrite_empty": _rewrite(tmp, ""),
        "rewrite_changed": _rewrite(tmp, "# comment\nport 6379\nnosuch 1\nslaveof 1.2.3.4 5\n", changed),
        "rewrite_every_line": _rewrite(tmp, every_line, changed),
        "rewrite_shipped": _rewrite(tmp, CONF.read_text(), changed),
        "repr": repr(changed),
    }


def test_config_matches_the_golden_dump(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    current = dump(tmp_path)
    assert [s["name"] for s in current["settings"]] == [s["name"] for s in golden["settings"]]
    for now, then in zip(current["settings"], golden["settings"], strict=True):
        assert now == then, now["name"]
    for key in golden:
        assert current[key] == golden[key], key


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        GOLDEN.write_text(json.dumps(dump(Path(d)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
