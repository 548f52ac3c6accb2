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

The conventions of the current naming scheme (each one learned from the folders
when absent; `bumper init` writes them):
  project-name  ``[project] name`` pattern: the naming fields and {name}, the folder
                name (universal-training-{name}, th-torch-{accel_kind}-universal-image)
  label-name    ``LABEL name`` pattern, likewise ({name} when it is the folder name)
  hashes        lock form: "always" (--generate-hashes), "never", or "auto" (the form
                most of the scheme's locks have)
  downstream    "banner" (# MIDSTREAM ONLY blocks removed downstream), "switch"
                (ARG DOWNSTREAM guards; built with --build-arg DOWNSTREAM=true) or "auto"
  cve-fixes     where a CVE fix goes: "dependencies" ([project] dependencies with ~=,
                the lock for transitive ones), "constraints" ([tool.uv]
                constraint-dependencies) or "auto"

  locks         lock files besides requirements.txt, in every folder that has them (those
                with a uv header naming their inputs are found without it), e.g.
                ``locks = ["requirements-ga.txt"]``; each keeps its own first line (its
                index) and header flags

  legacy        older naming schemes still present during a transition, as a list of
                tables with their own naming (required) and any of the keys above;
                their folders are checked against them and never made anew:
                  [[tool.bumper.legacy]]
                  naming = "th{th}-{accel}-torch{torch}-py{python}"
                  project-name = "universal-training-{name}"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bumper.errors import UsageError
from bumper.fsutil import read_text
from bumper.model import DEFAULT_SCHEME, NamingScheme, TextPattern

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


CHOICES = {"hashes": ("auto", "always", "never"), "downstream": ("auto", "banner", "switch"),
           "cve-fixes": ("auto", "dependencies", "constraints")}
SCHEME_KEYS = {"naming", "project-name", "label-name", *CHOICES}


@dataclass(frozen=True)
class Scheme:
    """A naming scheme and the conventions of its folders (None / "auto": learned)."""

    naming: NamingScheme
    project_name: TextPattern | None = None
    label_name: TextPattern | None = None
    hashes: str = "auto"
    downstream: str = "auto"
    cve_fixes: str = "auto"
    legacy: bool = False


@dataclass(frozen=True)
class Config:
    repo: Path
    images_root: Path
    naming: NamingScheme
    companions: tuple[Companion, ...] = DEFAULT_COMPANIONS
    schemes: tuple[Scheme, ...] = ()  # the current one first, then the legacy ones
    configured: frozenset[str] = frozenset()  # the keys [tool.bumper] sets
    locks: tuple[str, ...] = ()  # other lock files of a folder (see `bumper.locks`)

    @property
    def all_schemes(self) -> tuple[Scheme, ...]:
        return self.schemes or (Scheme(self.naming),)

    def scheme_for(self, name: str) -> Scheme | None:
        """The scheme a folder name fits (the current one first); None when none does."""
        return next((s for s in self.all_schemes if s.naming.parse(name) is not None), None)

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


def _scheme(table: dict[str, object], where: str, legacy: bool) -> Scheme:
    values: dict[str, object] = {}
    for key in SCHEME_KEYS & table.keys():
        value = table[key]
        if not isinstance(value, str):
            raise UsageError(f"{where}: {key} must be a string")
        if key in CHOICES and value not in CHOICES[key]:
            raise UsageError(f"{where}: {key} = {value!r} is not one of "
                             f"{', '.join(CHOICES[key])}")
        values[key] = value
    try:
        naming = NamingScheme(str(values.get("naming", DEFAULT_SCHEME)))
        project = values.get("project-name")
        label = values.get("label-name")
        return Scheme(naming, TextPattern(str(project)) if project is not None else None,
                      TextPattern(str(label)) if label is not None else None,
                      str(values.get("hashes", "auto")), str(values.get("downstream", "auto")),
                      str(values.get("cve-fixes", "auto")), legacy)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc


def _legacy(value: object, origin: str) -> list[Scheme]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UsageError(f"{origin}: legacy must be a list of tables ([[tool.bumper.legacy]])")
    out = []
    for number, item in enumerate(value, start=1):
        where = f"{origin}: legacy #{number}"
        unknown = sorted(set(item) - SCHEME_KEYS)
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: "
                             f"{', '.join(sorted(SCHEME_KEYS))})")
        if "naming" not in item:
            raise UsageError(f"{where}: needs its naming scheme (naming = \"...\")")
        out.append(_scheme(item, where, legacy=True))
    return out


def load(repo: Path) -> Config:
    settings, origin = _settings(repo)
    known = {"images-root", "companions", "legacy", "locks", *SCHEME_KEYS}
    for key in settings:
        if key not in known:
            raise UsageError(f"{origin}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    root = settings.get("images-root", DEFAULT_IMAGES_ROOT)
    if not isinstance(root, str) or not isinstance(settings.get("naming", ""), str):
        raise UsageError(f"{origin}: images-root and naming must be strings")
    current = _scheme(settings, origin, legacy=False)
    schemes = (current, *_legacy(settings.get("legacy", []), origin))
    companions = (_companions(settings["companions"], origin) if "companions" in settings
                  else DEFAULT_COMPANIONS)
    locks = settings.get("locks", [])
    if not isinstance(locks, list) or not all(
            isinstance(n, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.txt", n)
            for n in locks):
        raise UsageError(f"{origin}: locks must be a list of lock file names in the folder "
                         '(locks = ["requirements-ga.txt"])')
    return Config(repo=repo, images_root=(repo / root).resolve(), naming=current.naming,
                  companions=companions, schemes=schemes, configured=frozenset(settings),
                  locks=tuple(locks))
