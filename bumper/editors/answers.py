"""Rewrite .copier-answers.yml so the folder stays what the template renders.

Only ``key: value`` lines of known answers change; the layout is Copier's own
(``to_nice_yaml``), so each value is written the way PyYAML would write it.
"""

from __future__ import annotations

import re

KEY_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*):\s?(?P<value>.*)$")


def scalar(value: str) -> str:
    import yaml

    dumped: str = yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def read(text: str) -> dict[str, str]:
    import yaml

    data = yaml.safe_load(text) or {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def rewrite(text: str, values: dict[str, str]) -> str:
    """Set ``values`` (answer name -> new value); lines of other answers stay byte for byte."""
    current = read(text)
    out = []
    for line in text.splitlines(keepends=True):
        match = KEY_LINE.match(line.rstrip("\r\n"))
        if match and match["key"] in values and current.get(match["key"]) != values[match["key"]]:
            ending = line[len(line.rstrip("\r\n")):]
            line = f"{match['key']}: {scalar(values[match['key']])}{ending}"
        out.append(line)
    return "".join(out)
