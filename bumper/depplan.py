"""Changes of a folder's requirement lists, not only of its pins: ``--add REQ`` and
``--remove NAME`` (``[project] dependencies``), ``--override REQ``
(``[tool.uv] override-dependencies``), and the transitive ``--set`` fixes a folder keeps
in ``[tool.uv] constraint-dependencies``. Each one means a relock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bumper.discover import PYPROJECT, ImageDir
from bumper.errors import UsageError
from bumper.formats.requirements import canonical

if TYPE_CHECKING:
    from bumper.bump import Clients, Sets


@dataclass(frozen=True)
class ListEdits:
    adds: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.adds or self.removes or self.overrides)


def parse(adds: tuple[str, ...], removes: tuple[str, ...],
          overrides: tuple[str, ...]) -> ListEdits:
    """Check the values: PEP 508 requirements (--add, --override) and project names."""
    from packaging.requirements import InvalidRequirement, Requirement

    for flag, values in (("--add", adds), ("--override", overrides)):
        for raw in values:
            try:
                Requirement(raw)
            except InvalidRequirement as exc:
                raise UsageError(f"{flag} {raw}: not a PEP 508 requirement ({exc})") from exc
    for name in removes:
        if canonical(name) in ("torch", "training-hub"):
            raise UsageError(f"--remove {name}: the image is built around it; it cannot go")
        try:
            if str(Requirement(name).specifier) or Requirement(name).extras:
                raise InvalidRequirement("a name only")
        except InvalidRequirement:
            raise UsageError(f"--remove {name}: give a project name only (no version, "
                             "extras or marker)") from None
    return ListEdits(adds, removes, overrides)


def edit(image: ImageDir, text: str, sets: Sets, lists: ListEdits, *, index: str | None,
         clients: Clients) -> tuple[str, list[str]]:
    """``text`` (the folder's pyproject.toml after the other edits) with the list changes;
    and one note per change for the plan."""
    from bumper.editors import deplist

    notes = []
    for raw in sets.constraints:
        text = deplist.set_entry(text, deplist.CONSTRAINTS, raw)
    for raw in lists.adds:
        name = _name(raw)
        if deplist.entry(text, deplist.DEPENDENCIES, name) is not None:
            raise UsageError(f"--add {raw}: {name} is already a dependency of {image.rel}; "
                             f"change it with --set {raw}")
        _on_index(image, "--add", raw, index, clients)
        text = deplist.set_entry(text, deplist.DEPENDENCIES, raw)
        notes.append(f"--add {raw}: into [project] dependencies, relocked")
    for name in lists.removes:
        try:
            text = deplist.remove_entry(text, deplist.DEPENDENCIES, name)
        except KeyError:
            raise UsageError(f"--remove {name}: not a direct dependency of {image.rel} "
                             f"({PYPROJECT} [project] dependencies)") from None
        notes.append(f"--remove {name}: out of [project] dependencies, relocked")
    for raw in lists.overrides:
        _on_index(image, "--override", raw, index, clients)
        text = deplist.set_entry(text, deplist.OVERRIDES, raw)
        notes.append(f"--override {raw}: into [tool.uv] override-dependencies, relocked")
    return text, notes


def _name(raw: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(raw).name


def _on_index(image: ImageDir, flag: str, raw: str, index: str | None,
              clients: Clients) -> None:
    """The index has a version that satisfies ``raw`` (as --set checks it)."""
    from packaging.requirements import Requirement

    from bumper.index import sorted_versions
    from bumper.urls import strip_userinfo

    if index is None:
        raise UsageError(f"{image.rel}: no index URL to look {raw} up in; pass --index-url")
    req = Requirement(raw)
    listed = sorted_versions(list(clients.get(index).versions(req.name)))
    if not any(req.specifier.contains(v, prereleases=False) for v in listed):
        shown = ", ".join(listed[:12]) or "none"
        raise UsageError(f"{flag} {raw}: no version of {req.name} on {strip_userinfo(index)} "
                         f"satisfies it (available: {shown})")
