"""Rewrite .copier-answers.yml so the folder stays what the template renders.

Only ``key: value`` lines of known answers change; the layout is Copier's own
(``to_nice_yaml``), so each value is written the way PyYAML would write it.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

KEY_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*):\s?(?P<value>.*)$")


def _yaml() -> Any:
    """PyYAML (Copier's own dependency), imported when an answers file is edited."""
    return importlib.import_module("yaml")


def scalar(value: str) -> str:
    yaml = _yaml()
    dumped: str = yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def read(text: str) -> dict[str, str]:
    """The answers as strings; nothing when the text is not a YAML mapping."""
    yaml = _yaml()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def rewrite(text: str, values: dict[str, str]) -> str:
    """Set ``values`` (answer name -> new value); lines of other answers stay byte for byte."""
    if not values:
        return text
    current = read(text)
    out = []
    for line in text.splitlines(keepends=True):
        match = KEY_LINE.match(line.rstrip("\r\n"))
        if match and match["key"] in values and current.get(match["key"]) != values[match["key"]]:
            ending = line[len(line.rstrip("\r\n")):]
            line = f"{match['key']}: {scalar(values[match['key']])}{ending}"
        out.append(line)
    return "".join(out)
