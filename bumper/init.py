"""`bumper init`: learn an existing image repo's conventions and write `[tool.bumper]`.

Every setting is inferred from the folders themselves: the images root, the naming
scheme(s) (a transition holds two: the newest folders' is the current one, the others
are legacy), per scheme the [project] name and LABEL name patterns, the lock's hash form,
where CVE fixes go and the downstream style; and the companion files that name folders.
Where the folders of one scheme disagree, init guesses nothing: it lists the
disagreements and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bumper import conventions
from bumper.config import DEFAULT_COMPANIONS, Companion, Config
from bumper.discover import DOCKERFILE, PYPROJECT, ImageDir, load
from bumper.errors import UsageError
from bumper.model import NamingScheme, derive

SKIP = {".git", ".venv", "node_modules", "__pycache__"}


@dataclass
class Inferred:
    settings: dict[str, object] = field(default_factory=dict)
    legacy: list[dict[str, object]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)


def images_root(repo: Path) -> Path:
    """The folder whose subfolders are image folders (Dockerfile and pyproject.toml)."""
    parents: dict[Path, int] = {}
    stack = [(repo, 0)]
    while stack:
        folder, depth = stack.pop()
        for child in sorted(folder.iterdir()):
            if not child.is_dir() or child.name in SKIP or child.name.startswith(".bumper-"):
                continue
            if (child / DOCKERFILE).is_file() and (child / PYPROJECT).is_file():
                parents[folder] = parents.get(folder, 0) + 1
            elif depth < 5:
                stack.append((child, depth + 1))
    if not parents:
        raise UsageError(f"{repo}: no image folders (a folder holding a Dockerfile and a "
                         "pyproject.toml) found; pass --repo PATH")
    if len(parents) > 1:
        found = ", ".join(f"{p.relative_to(repo).as_posix() or '.'} ({n})"
                          for p, n in sorted(parents.items()))
        raise UsageError(f"image folders in several places: {found}; set images-root in "
                         "[tool.bumper] by hand")
    return next(iter(parents))


def _newest(images: list[ImageDir]) -> ImageDir:
    from packaging.version import Version

    def key(image: ImageDir) -> tuple[Version, ...]:
        s = image.stack
        assert s is not None
        return Version(s.training_hub), Version(s.torch), Version(s.python)

    return max(images, key=key)


def _schemes(images: list[ImageDir], out: Inferred) -> list[tuple[str, list[ImageDir]]]:
    """Naming schemes that cover the folders, fewest first; the newest folder's first."""
    candidates = {}
    for image in images:
        assert image.stack is not None
        found = {t for t in derive(image.name, image.stack) if _renders(t, image)}
        if not found:
            out.disagreements.append(f"{image.rel}: its name carries none of its versions "
                                     f"({image.stack.describe()}); rename it or set naming")
        else:
            candidates[image.rel] = found
    groups: list[tuple[str, list[ImageDir]]] = []
    left = [i for i in images if i.rel in candidates]
    while left:
        counts: dict[str, int] = {}
        for image in left:
            for template in candidates[image.rel]:
                counts[template] = counts.get(template, 0) + 1
        best = sorted(counts, key=lambda t: (-counts[t], t))[0]
        members = [i for i in left if best in candidates[i.rel]]
        groups.append((best, members))
        left = [i for i in left if i not in members]
    newest = _newest([i for _, members in groups for i in members]) if groups else None
    groups.sort(key=lambda g: newest not in g[1])
    return groups


def _renders(template: str, image: ImageDir) -> bool:
    try:
        scheme = NamingScheme(template)
    except ValueError:
        return False
    assert image.stack is not None
    return scheme.render(image.stack) == image.name


def _common(texts: dict[str, tuple[str, ImageDir]], what: str, out: Inferred) -> str | None:
    """The one pattern every folder's text fits, or a disagreement."""
    sets = {rel: derive(text, image.stack, image.name) for rel, (text, image) in texts.items()
            if image.stack is not None}
    if not sets:
        return None
    common = set.intersection(*sets.values())
    if common:
        return sorted(common, key=lambda t: ("{name}" not in t, t))[0]
    shown = "; ".join(f"{rel}: {text}" for rel, (text, _) in sorted(texts.items()))
    out.disagreements.append(f"{what} follows no one pattern: {shown}")
    return None


def _one(values: dict[str, str], what: str, out: Inferred) -> str | None:
    kinds = set(values.values())
    if len(kinds) == 1:
        return kinds.pop()
    if kinds:
        shown = "; ".join(f"{rel}: {value}" for rel, value in sorted(values.items()))
        out.disagreements.append(f"{what} differs between folders: {shown}")
    return None


def _scheme_settings(naming: str, members: list[ImageDir], out: Inferred) -> dict[str, object]:
    names = ", ".join(i.name for i in members)
    table: dict[str, object] = {"naming": naming}
    out.reasons.append(f'naming = "{naming}": renders {names} from their files')
    projects = {i.rel: (i.pyproject.name, i) for i in members if i.pyproject and i.pyproject.name}
    labels = {i.rel: (found[0], i) for i in members if (found := conventions.label_name(i))}
    for key, texts, what in (("project-name", projects, "[project] name"),
                             ("label-name", labels, "LABEL name")):
        pattern = _common(texts, f"{what} of {names}", out)
        if pattern:
            table[key] = pattern
            out.reasons.append(f'{key} = "{pattern}": {what} of {len(texts)} folder(s)')
    forms = {i.rel: form for i in members if (form := conventions.lock_form(i))}
    hashes = _one(forms, "the lock's hash form (always: every pin hashed)", out)
    if hashes:
        table["hashes"] = hashes
        out.reasons.append(f'hashes = "{hashes}": the locks of {len(forms)} folder(s)')
    styles = {i.rel: style for i in members if (style := conventions.downstream_style(i))}
    style = _one(styles, "the downstream style", out)
    if style:
        table["downstream"] = style
        how = "ARG DOWNSTREAM" if style == "switch" else "MIDSTREAM ONLY banners"
        out.reasons.append(f'downstream = "{style}": {how} in {len(styles)} folder(s)')
    constrained = [i.name for i in members if i.pyproject and i.pyproject.constraints]
    table["cve-fixes"] = "constraints" if constrained else "dependencies"
    out.reasons.append(f'cve-fixes = "{table["cve-fixes"]}": ' + (
        f"[tool.uv] constraint-dependencies in {', '.join(constrained)}" if constrained
        else "no folder has [tool.uv] constraint-dependencies"))
    return table


def _companions(config: Config, images: list[ImageDir], out: Inferred) -> list[Companion]:
    from bumper import companions

    found = []
    for companion in DEFAULT_COMPANIONS:
        if companion.kind == "pipeline":
            hits = [p for image in images for p in companions.files(config, companion,
                                                                    image.name)]
        else:
            hits = [p for p in companions.files(config, companion)
                    if any(i.name in p.read_text(encoding="utf-8", errors="replace")
                           for i in images)]
        if hits:
            found.append(companion)
            out.reasons.append(f'companion {companion.kind} "{companion.glob}": '
                               f"{len(hits)} file(s) name folders")
    return found


def infer(repo: Path) -> Inferred:
    from bumper import config as settings

    root = images_root(repo)
    base = Config(repo=repo, images_root=root, naming=NamingScheme())
    images = [load(base, p) for p in sorted(root.iterdir())
              if p.is_dir() and (p / DOCKERFILE).is_file() and (p / PYPROJECT).is_file()]
    out = Inferred()
    rel = base.images_rel
    out.settings["images-root"] = rel
    out.reasons.append(f'images-root = "{rel}": {len(images)} image folder(s)')
    unread = [i for i in images if i.stack is None]
    out.disagreements += [f"{i.rel}: cannot read its versions (bumper check tells why)"
                          for i in unread]
    groups = _schemes([i for i in images if i.stack is not None], out)
    for number, (naming, members) in enumerate(groups):
        table = _scheme_settings(naming, members, out)
        if number == 0:
            out.settings.update(table)
        else:
            out.legacy.append(table)
            out.reasons.append(f'  (legacy: "{naming}" is not the newest folders\' scheme)')
    found = _companions(base, images, out)
    if tuple(found) != settings.DEFAULT_COMPANIONS:
        out.settings["companions"] = [{"kind": c.kind, "glob": c.glob} for c in found]
    return out


def render(repo: Path, inferred: Inferred) -> tuple[Path, str, str]:
    """(settings file, its text before, after): bumper.toml when the repo has one, else
    pyproject.toml's [tool.bumper]; keys init does not infer are kept."""
    import tomlkit

    from bumper.config import SCHEME_KEYS

    target = repo / "bumper.toml"
    if not target.is_file():
        target = repo / "pyproject.toml"
    before = target.read_text(encoding="utf-8") if target.is_file() else ""
    doc = tomlkit.parse(before.replace("\r\n", "\n"))
    table: Any
    if target.name == "pyproject.toml":
        tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        old = dict(tool.get("bumper", {}))
        table = tomlkit.table()
    else:
        old, table = dict(doc), doc
        for key in list(doc):
            del doc[key]
    for key, value in old.items():  # what init does not infer (another tool's key) stays
        if key not in SCHEME_KEYS | {"images-root", "companions", "legacy"}:
            table[key] = value
    for key, value in inferred.settings.items():
        table[key] = _companions_array(value) if key == "companions" else value
    if inferred.legacy:
        aot = tomlkit.aot()
        for entry in inferred.legacy:
            aot.append(tomlkit.item(entry))
        table["legacy"] = aot
    if target.name == "pyproject.toml":
        tool["bumper"] = table
    after = tomlkit.dumps(doc)
    after = after if after.endswith("\n") else after + "\n"
    if "\r\n" in before:
        after = after.replace("\n", "\r\n")
    return target, before, after


def _companions_array(value: object) -> object:
    import tomlkit

    array = tomlkit.array()
    assert isinstance(value, list)
    for entry in value:
        inline = tomlkit.inline_table()
        inline.update(entry)
        array.append(inline)
    return array.multiline(True) if value else array
