"""Companion files: files outside the image folders that name them.

A pipeline file (``.tekton/odh-training-<folder>-pull-request.yaml``) belongs to one
folder: a major bump copies it for the new folder, its name and text rewritten with the
bump's substitutions. A markdown table (a README's table of flavors) has a row per folder:
a major bump adds a row for the new folder after the old folder's. ``--retire`` removes
the old file and row. `check` reports any that name a folder which does not exist.

Planning here is pure (text in, FileEdits out); `stage` and `swap` are the Plan's apply
steps for these files, and roll back with it.
"""

from __future__ import annotations

import difflib
import glob as globlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bumper.config import Companion, Config
from bumper.editors import tokens
from bumper.editors.tokens import Leftover, Rewrite
from bumper.errors import UsageError
from bumper.findings import Finding
from bumper.fsutil import atomic_write, repo_rel
from bumper.model import major_minor

ADD, EDIT, REMOVE = "add", "edit", "remove"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ROW = re.compile(r"^ {0,3}\|")
_SEPARATOR = re.compile(r"^ {0,3}\|?(\s*:?-+:?\s*\|)+\s*(:?-+:?\s*)?$")
_PIPE = re.compile(r"(?<!\\)(\|)")


@dataclass
class FileEdit:
    """A file outside the image folders that the plan adds, edits or removes."""

    action: str  # ADD, EDIT or REMOVE
    rel: str  # the path written or removed, relative to the repo
    before: str  # the text of ``rel`` now (edit, remove), or of ``src`` (add: the diff base)
    after: str | None  # None: removed
    src: str | None = None  # add: the file it is copied from
    summary: str = ""  # one line for the commit body
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def inputs(self) -> list[str]:
        """Paths that must be clean before the plan applies (what it reads and writes)."""
        return [self.rel] + ([self.src] if self.src else [])


def _names(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])")


def _read(path: Path) -> str | None:
    """The text as it is (newlines kept); None when it is not UTF-8 text."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _glob(config: Config, companion: Companion, name: str | None) -> str:
    pattern = companion.glob.replace("{images-root}", config.images_rel)
    if name is not None:
        return pattern.replace("{name}", globlib.escape(name))
    pattern = pattern.replace("{name}", "*")
    return "/".join(seg if seg == "**" else re.sub(r"\*+", "*", seg)
                    for seg in pattern.split("/"))


def files(config: Config, companion: Companion, name: str | None = None) -> list[Path]:
    """The files a companion pattern matches (for the folder ``name``, or for any folder).

    Files inside image folders (they move with their folder), in .git and in bumper's
    staging folders are never companions.
    """
    pattern, base = _glob(config, companion, name), config.repo
    if pattern.startswith("/"):  # images-root outside the repository
        base, pattern = Path("/"), pattern.lstrip("/")
    found = []
    for path in sorted(base.glob(pattern)):
        if not path.is_file() or path.is_symlink():
            continue
        rel = repo_rel(config.repo, path).split("/")
        if rel[0] == ".git" or any(part.startswith(".bumper-staging-") for part in rel):
            continue
        if config.images_root in path.parents and path.parent != config.images_root:
            continue
        if name is not None and not _names(name).search("/".join(rel)):
            continue  # a * took letters of a longer name (th05-...-py3120)
        found.append(path)
    return found


# --- planning a major bump -------------------------------------------------------------------


def plan_edits(config: Config, rewrites: list[Rewrite], *,
               retire: bool) -> tuple[list[FileEdit], list[str]]:
    """The companion edits of a major bump (one Rewrite per folder), and warnings."""
    edits: dict[str, FileEdit] = {}
    warnings: list[str] = []
    for companion in config.companions:
        if companion.kind == "pipeline":
            for rw in rewrites:
                _pipelines(config, companion, rw, retire=retire, edits=edits,
                           warnings=warnings)
            continue
        for path in files(config, companion):
            rel = repo_rel(config.repo, path)
            text = _read(path)
            if rel in edits or text is None:
                continue
            edit = _table(rel, text, rewrites, retire, warnings)
            if edit is not None:
                edits[rel] = edit
    return list(edits.values()), warnings


def _leftover_patterns(rw: Rewrite) -> list[re.Pattern[str]]:
    return [*tokens.leftover_patterns(rw.old, rw.new), _names(rw.old_name)]


def _pipelines(config: Config, companion: Companion, rw: Rewrite, *, retire: bool,
               edits: dict[str, FileEdit], warnings: list[str]) -> None:
    subs = tokens.substitutions(rw)
    for path in files(config, companion, rw.old_name):
        rel, text = repo_rel(config.repo, path), _read(path)
        if rel in edits:
            continue
        if text is None:
            warnings.append(f"{rel}: not UTF-8 text; copy it for {rw.new_name} by hand")
            continue
        new_rel = tokens.apply(rel, subs)
        if new_rel == rel or (config.repo / new_rel).exists() or new_rel in edits:
            warnings.append(f"{new_rel}: already exists; left as it is (compare it with {rel})")
            continue
        after = tokens.apply(text, subs)
        edits[new_rel] = FileEdit(ADD, new_rel, text, after, src=rel,
                                  summary=f"add {new_rel} (from {rel})",
                                  leftovers=list(tokens.scan(new_rel, after,
                                                             _leftover_patterns(rw))))
        if retire:
            edits[rel] = FileEdit(REMOVE, rel, text, None, summary=f"remove {rel}")


def _table(rel: str, text: str, rewrites: list[Rewrite], retire: bool,
           warnings: list[str]) -> FileEdit | None:
    """A row for each new folder after the row of its old one (which --retire drops)."""
    lines = text.splitlines(keepends=True)
    rows = dict(_rows(lines))
    out: list[str] = []
    done: list[str] = []
    leftovers: list[Leftover] = []
    for index, line in enumerate(lines):
        header = rows.get(index)
        rw = next((r for r in rewrites if _names(r.old_name).search(line)), None)
        if header is None or rw is None:
            out.append(line)
            continue
        if any(_names(rw.new_name).search(lines[i]) for i in rows):
            warnings.append(f"{rel}: already has a row for {rw.new_name}; left as it is")
            out.append(line)
            continue
        body = line.rstrip("\r\n")
        end = line[len(body):]
        row = _rewrite_row(body, header, rw)
        if not retire:
            out.append(body + (end or _newline(text)))
        out.append(row + end)
        if any(p.search(row) for p in _leftover_patterns(rw)):
            leftovers.append(Leftover(rel, len(out), row.strip()))
        done.append(f"{rw.old_name} -> {rw.new_name}" if retire
                    else f"{rw.new_name} after {rw.old_name}")
    if not done:
        return None
    what = "rows replaced" if retire else "rows added"
    return FileEdit(EDIT, rel, text, "".join(out), summary=f"edit {rel} ({what}: "
                    f"{', '.join(done)})", leftovers=leftovers)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _cells(line: str) -> list[str]:
    cells = [cell.strip() for cell in _PIPE.split(line.strip()) if cell != "|"]
    return cells[1:-1] if len(cells) > 1 and not cells[-1] else cells[1:]


def _rows(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(index, header cells) of every body row of a markdown table (rows start with |),
    outside fenced code blocks."""
    fence: str | None = None
    header: list[str] | None = None
    previous: list[str] | None = None
    for index, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(
                    fence):
                fence = None
            continue
        if opening:
            fence, header, previous = opening.group(1), None, None
        elif not _ROW.match(line):
            header = previous = None
        elif header is not None:
            yield index, header
        elif previous is not None and _SEPARATOR.match(line):
            header = previous
        else:
            previous = _cells(line)


def _rewrite_row(body: str, header: list[str], rw: Rewrite) -> str:
    """The row rewritten for the new folder: cells holding just a version of the column's
    kind (a PyTorch column's 2.9.1), then the substitutions of the folder's files."""
    parts = _PIPE.split(body)
    column = -1
    for k, part in enumerate(parts):
        if part == "|":
            column += 1
            continue
        if 0 <= column < len(header):
            value = _cell_value(header[column], part.strip(), rw)
            if value is not None:
                parts[k] = part.replace(part.strip(), value, 1)
    return tokens.apply("".join(parts), tokens.substitutions(rw))


def _cell_value(header: str, cell: str, rw: Rewrite) -> str | None:
    title = header.lower()
    old, new = rw.old, rw.new
    pairs: list[tuple[str, str]] = []
    if "torch" in title:
        pairs = [(old.torch, new.torch)]
    elif "training hub" in title or "training-hub" in title or title == "th":
        pairs = [(old.training_hub, new.training_hub)]
    elif "python" in title:
        pairs = [(old.python, new.python)]
    elif any(word in title for word in ("cuda", "rocm", "accelerator")):
        oa, na = old.accel, new.accel
        if oa.kind == na.kind and oa.version and na.version:
            pairs = [(oa.version, na.version), (major_minor(oa.version), major_minor(na.version))]
    return next((after for before, after in pairs if cell == before and before != after), None)


# --- rendering and applying (steps of the Plan's apply) -----------------------------------


def diff(edit: FileEdit) -> list[str]:
    """The edit as --dry-run shows it."""
    if edit.after is None:
        return [f"remove file {edit.rel}\n"]
    head = [f"new file {edit.rel} (from {edit.src})\n"] if edit.action == ADD else []
    return head + list(difflib.unified_diff(edit.before.splitlines(keepends=True),
                                            edit.after.splitlines(keepends=True),
                                            f"a/{edit.src or edit.rel}", f"b/{edit.rel}"))


def stage(edits: list[FileEdit], repo: Path, root: Path) -> list[Path | None]:
    """Write each new text into ``root`` (the staging folder), with the mode of the file it
    replaces or is copied from."""
    staged: list[Path | None] = []
    for number, edit in enumerate(edits):
        if edit.after is None:
            staged.append(None)
            continue
        path = root / "files" / f"{number}-{Path(edit.rel).name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, edit.after)
        shutil.copymode(repo / (edit.src or edit.rel), path)
        staged.append(path)
    return staged


def swap(edits: list[FileEdit], staged: list[Path | None], repo: Path, root: Path,
         move: Callable[[Path, Path], None]) -> None:
    """Put the staged files in place; the old ones go to ``root`` (``move`` records every
    step, so the Plan's rollback undoes them)."""
    for number, (edit, path) in enumerate(zip(edits, staged, strict=True)):
        target = repo / edit.rel
        if edit.action == ADD and (target.exists() or target.is_symlink()):
            raise UsageError(f"{edit.rel}: appeared while the bump ran (another bump?); "
                             "nothing was changed")
        if edit.action != ADD:
            if _read(target) != edit.before:
                raise UsageError(f"{edit.rel}: changed while the bump ran; nothing was changed")
            move(target, root / "old-files" / f"{number}-{target.name}")
        if path is not None:
            move(path, target)


# --- check ------------------------------------------------------------------------------------


def check(config: Config) -> list[Finding]:
    """Pipeline files and table rows that name a folder which does not exist."""
    found: set[Finding] = set()
    for companion in config.companions:
        for path in files(config, companion):
            text = _read(path)
            if text is None:
                continue
            rel, lines = repo_rel(config.repo, path), text.splitlines()
            if companion.kind == "pipeline":
                places = list(enumerate(lines, start=1))
                what, fix = "pipeline file", "remove the file, or restore the folder"
            else:
                places = [(index + 1, lines[index]) for index, _ in _rows(lines)]
                what, fix = "table row", "remove the row, or restore the folder"
            named: set[str] = set()
            for number, line in places:
                for name in _missing(config, line):
                    named.add(name)
                    found.add(Finding(rel, number, f"{what} names {config.images_rel}/{name}, "
                                      "which does not exist", fix, "companion"))
            if companion.kind == "pipeline":
                found.update(Finding(rel, 0, f"{what} names {config.images_rel}/{name}, which "
                                     "does not exist", fix, "companion")
                             for name in _missing(config, path.name) - named)
    return sorted(found)


def _missing(config: Config, text: str) -> set[str]:
    """Folders ``text`` names (as a path under the images root, or a name of the naming
    scheme) that do not exist."""
    root = config.images_root
    missing = set()
    for match in config.naming.search_pattern().finditer(text):
        # th05-...-py312-pull-request: the name, unless a folder has a longer one (...-py312-x)
        tail = re.match(r"[A-Za-z0-9._-]*", text[match.end():])
        longer = match.group(0) + (tail.group(0) if tail else "")
        if not any((root / longer[:end]).is_dir() for end in range(len(match.group(0)),
                                                                  len(longer) + 1)):
            missing.add(match.group(0))
    prefix = re.escape(config.images_rel)
    for match in re.finditer(rf"(?<![A-Za-z0-9_.-]){prefix}/(?P<x>[A-Za-z0-9][A-Za-z0-9._-]*)",
                             text):
        name = match["x"].rstrip(".")
        if not (root / name).exists():
            missing.add(name)
    return missing
