"""Rewrite .copier-answers.yml so the folder stays what the template renders.

Only ``key: value`` lines of known answers change; the layout is Copier's own
(``to_nice_yaml``), so each value is written the way PyYAML would write it.

The answers are flat ``key: scalar`` lines, and the scalars bumper writes are
versions, URLs and image references; those are read and written here without
PyYAML (its import costs more than the rest of a bump's planning). Anything
else -- another quoting style, a nested value, an unusual character -- goes to
PyYAML itself.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

KEY_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*):\s?(?P<value>.*)$")
# a scalar PyYAML writes plain, unless one of YAML 1.1's implicit types claims it
_PLAIN = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./+@:-]*$")
_SINGLE = re.compile(r"^'(?P<body>(?:[^']|'')*)'$")
# PyYAML's implicit resolvers (YAML 1.1) for what a plain scalar of _PLAIN's characters
# could turn into: a bool, an int, a float, a null, a timestamp
_IMPLICIT = re.compile(r"""^(?:
    yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
  | [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
  | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
  | [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
  | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
  | ~|null|Null|NULL
  | [0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
    (?:(?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
    (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?
)$""", re.VERBOSE)


def _yaml() -> Any:
    """PyYAML (Copier's own dependency), for what the fast path does not cover."""
    return importlib.import_module("yaml")


def _fast_scalar(value: str) -> str | None:
    """How PyYAML writes ``value``, when that is plain or simply single-quoted."""
    # "..." and "---" open or close a YAML document: PyYAML quotes them
    if not _PLAIN.match(value) or value.endswith(":") or value.startswith(("...", "---")):
        return None
    if _IMPLICIT.match(value):
        return f"'{value}'"
    return value


def scalar(value: str) -> str:
    fast = _fast_scalar(value)
    if fast is not None:
        return fast
    dumped: str = _yaml().safe_dump(value, default_flow_style=False, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _fast_value(raw: str) -> str | None:
    """A string answer as written by Copier: plain (and of no other YAML type) or
    single-quoted. None when PyYAML has to say."""
    raw = raw.strip()
    single = _SINGLE.match(raw)
    if single:
        return single["body"].replace("''", "'")
    if _PLAIN.match(raw) and not raw.endswith(":") and not _IMPLICIT.match(raw):
        return raw
    return None


def read(text: str) -> dict[str, str]:
    """The answers as strings; nothing when the text is not a YAML mapping."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = KEY_LINE.match(line)
        value = _fast_value(match["value"]) if match else None
        if match is None or value is None:
            return _read_yaml(text)
        out[match["key"]] = value
    return out


def _read_yaml(text: str) -> dict[str, str]:
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
