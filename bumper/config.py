"""Project settings: `[tool.bumper]` in the repo's pyproject.toml, or bumper.toml.

Keys (all optional):
  images-root  folder that holds one folder per image (images/universal/training)
  naming       folder name scheme (th{th}-{accel}-torch{torch}-py{python})
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from bumper.errors import UsageError
from bumper.model import DEFAULT_SCHEME, NamingScheme

DEFAULT_IMAGES_ROOT = "images/universal/training"


@dataclass(frozen=True)
class Config:
    repo: Path
    images_root: Path
    naming: NamingScheme

    @property
    def images_rel(self) -> str:
        try:
            return self.images_root.relative_to(self.repo).as_posix()
        except ValueError:  # images-root outside the repo
            return self.images_root.as_posix()


def find_repo(start: Path) -> Path:
    """The git top level above ``start`` (found without importing GitPython), else ``start``."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def _settings(repo: Path) -> tuple[dict[str, object], str]:
    for name, table in (("bumper.toml", None), ("pyproject.toml", ("tool", "bumper"))):
        path = repo / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise UsageError(f"{name}: cannot read settings: {exc} (fix the TOML)") from exc
        if table is None:
            return data, name
        tool = data.get(table[0])
        section = tool.get(table[1]) if isinstance(tool, dict) else None
        if isinstance(section, dict):
            return section, f"{name} [tool.bumper]"
    return {}, ""


def load(repo: Path) -> Config:
    settings, origin = _settings(repo)
    known = {"images-root", "naming"}
    for key in settings:
        if key not in known:
            raise UsageError(f"{origin}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    root = settings.get("images-root", DEFAULT_IMAGES_ROOT)
    scheme = settings.get("naming", DEFAULT_SCHEME)
    if not isinstance(root, str) or not isinstance(scheme, str):
        raise UsageError(f"{origin}: images-root and naming must be strings")
    try:
        naming = NamingScheme(scheme)
    except ValueError as exc:
        raise UsageError(f"{origin}: {exc}") from exc
    return Config(repo=repo, images_root=(repo / root).resolve(), naming=naming)
