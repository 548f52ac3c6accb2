"""A Plan lists every new folder, file edit and removal of a bump before anything
is written: the planners (`bumper.major`, `bumper.minor`, `bumper.new`) build it,
`render` shows it as unified diffs (--dry-run), and `bumper.apply` is the only
writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bumper import companions
from bumper.companions import FileEdit
from bumper.discover import LOCK
from bumper.editors.tokens import Leftover, Rewrite
from bumper.findings import Finding


@dataclass(frozen=True)
class Repin:
    """A transitive pin changed in the lock alone, with the index's hashes."""

    name: str
    version: str
    hashes: tuple[str, ...]


@dataclass
class FolderPlan:
    """One folder of the bump: a new one copied from ``src_rel``, or ``src_rel`` edited."""

    src_rel: str
    dst_rel: str
    old: dict[str, str]  # filename -> text before (text files of the source)
    new: dict[str, str]  # filename -> text after (only files that change)
    rewrite: Rewrite | None = None
    index_url: str | None = None  # the index to lock against (may carry credentials)
    relock: bool = False
    upgrade: bool = False
    repins: list[Repin] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    # drift the source already had; None: read it from the source while uv locks
    before: list[Finding] | None = field(default_factory=list)
    accepted: tuple[str, ...] = ()  # check rules the user chose to break (--name: "name")
    hashes: bool | None = None  # lock with --generate-hashes; None: the form the lock has
    notes: list[str] = field(default_factory=list)  # where each requirement went, and why

    @property
    def is_new(self) -> bool:
        return self.src_rel != self.dst_rel


@dataclass
class Plan:
    kind: str  # "major" or "minor"
    folders: list[FolderPlan]
    subject: str
    details: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[FileEdit] = field(default_factory=list)  # companions outside the folders

    @property
    def paths(self) -> list[str]:
        return [f.dst_rel for f in self.folders] + [f.rel for f in self.files] + self.removals

    @property
    def leftovers(self) -> list[Leftover]:
        return ([item for folder in self.folders for item in folder.leftovers]
                + [item for edit in self.files for item in edit.leftovers])

    def message(self, locked: bool = True) -> str:
        """The commit message: subject, what changed per folder, locks, leftovers."""
        body = list(self.details)
        relocked = [f for f in self.folders if f.relock]
        if relocked and locked:
            body += ["", "Locked with uv: " + ", ".join(f"{f.dst_rel}/{LOCK}" for f in relocked)]
        elif relocked:
            body += ["", "Lock not regenerated (--no-lock): " + "; ".join(
                f"run bumper lock {f.dst_rel}" for f in relocked)]
        notes = [f"  {f.dst_rel}: {note}" for f in self.folders for note in f.notes]
        if notes:
            body += ["", "Where the requirements went:", *notes]
        if self.leftovers:
            body += ["", "Leftovers to review (old version tokens the bump did not rewrite):"]
            body += [f"  {item}" for item in self.leftovers]
        return self.subject + ("\n\n" + "\n".join(body) if body else "") + "\n"


def render(plan: Plan) -> str:
    """The plan as unified diffs: a new folder as a diff against its source."""
    import difflib

    chunks: list[str] = []
    for folder in plan.folders:
        if folder.is_new:
            chunks.append(f"new folder {folder.dst_rel} (from {folder.src_rel})\n")
        for name in sorted(set(folder.old) | set(folder.new)):
            before = folder.old.get(name, "")
            after = folder.new.get(name, before)
            if before == after:
                if folder.is_new:
                    chunks.append(f"  copy {name} unchanged\n")
                continue
            chunks.extend(difflib.unified_diff(before.splitlines(keepends=True),
                                               after.splitlines(keepends=True),
                                               f"a/{folder.src_rel}/{name}",
                                               f"b/{folder.dst_rel}/{name}"))
        if folder.relock:
            how = "upgrade" if folder.upgrade else "relock"
            chunks.append(f"  {how} {folder.dst_rel}/{LOCK} with uv\n")
        for pin in folder.repins:
            chunks.append(f"  pin {pin.name}=={pin.version} in {folder.dst_rel}/{LOCK} "
                          f"({len(pin.hashes)} hashes)\n")
        chunks.extend(f"  {note}\n" for note in folder.notes)
    for edit in plan.files:
        chunks.extend(companions.diff(edit))
    chunks.extend(f"remove folder {rel}\n" for rel in plan.removals)
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)
