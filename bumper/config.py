"""Project settings: `[tool.bumper]` in the repo's pyproject.toml, or bumper.toml.

Keys (all optional):
  images-root  folder that holds one folder per image (images/universal/training)
  naming       folder name scheme (th{th}-{accel}-torch{torch}-py{python})
  companions   files outside the image folders that name them, as a list of
               ``{kind = "...", glob = "..."}`` tables (globs relative to the repo root;
               ``{images-root}`` stands for the images root). Two kinds:

               pipeline  one file per folder, found by a glob holding ``{name}`` (the
                         folder name), e.g. ``.tekton/*{name}*.yaml``. ``major`` copies it
                         for the new folder, file name and text rewritten like the folder's
                         files; ``--retire`` removes the old folder's.
               table     a markdown file (no ``{name}``) whose table rows name folders,
                         e.g. ``README.md``. ``major`` adds after each row naming the old
                         folder a row for the new one (rewritten likewise); ``--retire``
                         drops the old row.

               ``bumper check`` reports a pipeline file or a table row that names a
               folder which does not exist. Default (``companions = []`` turns it off):

                 companions = [
                   { kind = "pipeline", glob = ".tekton/*{name}*.yaml" },
                   { kind = "table", glob = "README.md" },
                   { kind = "table", glob = "{images-root}/README.md" },
                 ]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bumper.errors import UsageError
from bumper.fsutil import read_text
from bumper.model import DEFAULT_SCHEME, NamingScheme

DEFAULT_IMAGES_ROOT = "images/universal/training"
COMPANION_KINDS = ("pipeline", "table")


@dataclass(frozen=True)
class Companion:
    """Files outside the image folders that name them (see the module docstring)."""

    kind: str  # "pipeline" or "table"
    glob: str  # relative to the repo root; may hold {name} (pipeline) and {images-root}


DEFAULT_COMPANIONS = (Companion("pipeline", ".tekton/*{name}*.yaml"),
                      Companion("table", "README.md"),
                      Companion("table", "{images-root}/README.md"))


@dataclass(frozen=True)
class Config:
    repo: Path
    images_root: Path
    naming: NamingScheme
    companions: tuple[Companion, ...] = DEFAULT_COMPANIONS

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
            data = tomllib.loads(read_text(path))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise UsageError(f"{name}: cannot read settings: {exc} (fix the TOML)") from exc
        if table is None:
            return data, name
        tool = data.get(table[0])
        section = tool.get(table[1]) if isinstance(tool, dict) else None
        if isinstance(section, dict):
            return section, f"{name} [tool.bumper]"
        if section is not None:
            raise UsageError(f"{name}: [tool.bumper] must be a table of settings")
    return {}, ""


def _companion(item: object, origin: str) -> Companion:
    where = f"{origin}: companions"
    if not isinstance(item, dict):
        raise UsageError(f"{where}: each entry is a table like "
                         '{ kind = "pipeline", glob = ".tekton/*{name}*.yaml" }')
    unknown = sorted(set(item) - {"kind", "glob"})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: glob, kind)")
    kind, glob = item.get("kind"), item.get("glob")
    if kind not in COMPANION_KINDS:
        raise UsageError(f"{where}: kind {kind!r} is not one of {', '.join(COMPANION_KINDS)}")
    if not isinstance(glob, str) or not glob.strip():
        raise UsageError(f"{where}: {kind} entry needs a glob (a string)")
    fields = set(re.findall(r"\{([^{}]*)\}", glob))
    if fields - {"name", "images-root"}:
        field = sorted(fields - {"name", "images-root"})[0]
        raise UsageError(f"{where}: glob {glob!r}: unknown field {{{field}}} "
                         "(known: {name}, {images-root})")
    if kind == "pipeline" and "name" not in fields:
        raise UsageError(f"{where}: pipeline glob {glob!r} needs {{name}} where the folder "
                         "name goes")
    if kind == "table" and "name" in fields:
        raise UsageError(f"{where}: table glob {glob!r}: a table names every folder; drop "
                         "{name}")
    pure = PurePosixPath(glob)
    if pure.is_absolute() or ".." in pure.parts or "\\" in glob:
        raise UsageError(f"{where}: glob {glob!r} must be relative to the repository root, "
                         "with / and without ..")
    return Companion(kind, glob)


def _companions(value: object, origin: str) -> tuple[Companion, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{origin}: companions must be a list of tables (or [] for none)")
    return tuple(dict.fromkeys(_companion(item, origin) for item in value))


def load(repo: Path) -> Config:
    settings, origin = _settings(repo)
    known = {"images-root", "naming", "companions"}
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
    companions = (_companions(settings["companions"], origin) if "companions" in settings
                  else DEFAULT_COMPANIONS)
    return Config(repo=repo, images_root=(repo / root).resolve(), naming=naming,
                  companions=companions)
