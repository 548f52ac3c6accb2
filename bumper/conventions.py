"""What check assumes about each folder: its naming scheme, the pattern of its name-bearing
texts, its lock's hash form and index line, and its downstream style.

Each comes from `[tool.bumper]` (the folder's scheme: the current one or a legacy one),
else it is learned from the folders of the same scheme: the pattern most of them follow
(at least two, more than half), the lock form most of their locks have. A convention
that cannot be learned is not assumed: no rule fires on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bumper.config import Config, Scheme
from bumper.discover import ImageDir
from bumper.model import TextPattern, derive


@dataclass(frozen=True)
class Conventions:
    scheme: Scheme | None  # None: the folder name fits no configured scheme
    project_name: TextPattern | None = None
    label_name: TextPattern | None = None
    hashes: str = "any"  # "always", "never" or "any"
    downstream: str = "any"  # "banner", "switch" or "any"
    fitting: str | None = None  # a naming scheme that fits every folder of the repo
    index_line: bool = True  # locks start with --index-url=<URL> (most of the scheme's do)


def label_name(image: ImageDir) -> tuple[str, int] | None:
    """The value and line of the folder's ``LABEL name``."""
    if image.dockerfile is None:
        return None
    return next(((value, line) for key, value, line in image.dockerfile.labels
                 if key == "name"), None)


def lock_form(image: ImageDir) -> str | None:
    """"always" when every pin of the lock is hashed, "never" when none is, else None."""
    if image.lock is None or not image.lock.pins:
        return None
    hashed = sum(1 for pin in image.lock.pins if pin.hashes)
    if hashed == len(image.lock.pins):
        return "always"
    return "never" if hashed == 0 else None


def downstream_style(image: ImageDir) -> str | None:
    """"switch" when the Dockerfile declares ARG DOWNSTREAM, "banner" when it has
    MIDSTREAM ONLY banners only, else None."""
    facts = image.dockerfile
    if facts is None:
        return None
    if "DOWNSTREAM" in facts.args:
        return "switch"
    return "banner" if facts.markers else None


def majority(candidates: list[set[str]]) -> str | None:
    """The template most folders' candidate sets hold: at least two, more than half."""
    counts = Counter(t for found in candidates for t in found)
    if not counts:
        return None
    best = sorted(counts.items(), key=lambda kv: (-kv[1], "{name}" not in kv[0], kv[0]))[0]
    return best[0] if best[1] >= 2 and best[1] * 2 > len(candidates) else None


def _pattern(images: list[ImageDir], read: str) -> TextPattern | None:
    sets = []
    for image in images:
        if image.stack is None:
            continue
        text = (image.pyproject.name if read == "project" and image.pyproject
                else (label_name(image) or ("", 0))[0] if read == "label" else None)
        if text:
            sets.append(derive(text, image.stack, image.name))
    found = majority(sets)
    return TextPattern(found) if found else None


def _hashes(scheme: Scheme, images: list[ImageDir]) -> str:
    if scheme.hashes != "auto":
        return scheme.hashes
    forms = Counter(form for image in images if (form := lock_form(image)))
    if not forms:
        return "any"
    form, count = forms.most_common(1)[0]
    return form if count * 2 > sum(forms.values()) else "any"


def _index_line(images: list[ImageDir]) -> bool:
    """Whether the scheme's locks keep the hand-kept ``--index-url`` first line: unless most
    of them do without it."""
    locks = [image.lock for image in images if image.lock is not None and image.lock.pins]
    without = sum(1 for lock in locks if lock.index_url_line != 1)
    return not (locks and without * 2 > len(locks))


def fitting_scheme(images: Iterable[ImageDir]) -> str | None:
    """A naming scheme that renders every folder's name from its files, if one does."""
    common: set[str] | None = None
    for image in images:
        if image.stack is None:
            continue
        found = derive(image.name, image.stack)
        common = found if common is None else common & found
    return min(common) if common else None


def learn(config: Config, images: list[ImageDir]) -> None:
    """Set ``image.conventions`` on every folder."""
    groups: dict[int, list[ImageDir]] = {}
    for image in images:
        scheme = config.scheme_for(image.name)
        index = config.all_schemes.index(scheme) if scheme else -1
        groups.setdefault(index, []).append(image)
    fitting = fitting_scheme(groups.get(-1, [])) and fitting_scheme(images)
    for index, members in groups.items():
        if index < 0:
            for image in members:
                image.conventions = Conventions(None, fitting=fitting)
            continue
        scheme = config.all_schemes[index]
        project = scheme.project_name or _pattern(members, "project")
        label = scheme.label_name or _pattern(members, "label")
        hashes = _hashes(scheme, members)
        index_line = _index_line(members)
        for image in members:
            style = (scheme.downstream if scheme.downstream != "auto"
                     else downstream_style(image) or "any")
            image.conventions = Conventions(scheme, project, label, hashes, style,
                                            index_line=index_line)


def of(image: ImageDir, config: Config) -> Conventions:
    """The folder's conventions (learned from it alone when `learn` did not run)."""
    if image.conventions is None:
        learn(config, [image])
    assert isinstance(image.conventions, Conventions)
    return image.conventions
