"""What major and minor bumps share: the version forms, and the values every folder
of a request gets alike (base image form, index URL, file edits, --set values).

`bumper.major` plans a change of CUDA, ROCm, PyTorch, Training Hub or Python (a new
folder, copied from the newest one of its flavor and rewritten); `bumper.minor` plans
anything else (the folder is edited in place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from bumper import discover, lockform
from bumper.config import Config, Scheme
from bumper.depplan import ListEdits
from bumper.discover import ANSWERS, DOCKERFILE, INDEX_SEGMENT, LOCK, PYPROJECT, ImageDir
from bumper.editors import answers, dockerfile, pyproject, repofile, requirements, tokens
from bumper.editors.tokens import Rewrite
from bumper.errors import UsageError
from bumper.formats.requirements import canonical
from bumper.fsutil import read_text
from bumper.model import Accel
from bumper.plan import FolderPlan, Repin
from bumper.urls import strip_userinfo

if TYPE_CHECKING:
    from bumper.index import IndexClient

_N = r"(?:0|[1-9][0-9]*)"  # no leading zeros: 012.8 would render a folder named cuda0128
VERSION_FORMS = {
    "cuda": (rf"{_N}\.{_N}", "13.0"),
    "rocm": (rf"{_N}\.{_N}(\.{_N})?", "7.1.1"),
    "torch": (rf"{_N}\.{_N}\.{_N}", "2.10.0"),
    "training_hub": (rf"{_N}\.{_N}\.{_N}", "0.6.0"),
    "python": (rf"3\.{_N}", "3.13"),
}
FLAGS = {"cuda": "--cuda", "rocm": "--rocm", "torch": "--torch",
         "training_hub": "--training-hub", "python": "--python"}
MAJOR_PROJECTS = {"torch": "torch", "training-hub": "training_hub"}
LABELS = {"cuda": "CUDA", "rocm": "ROCm", "torch": "PyTorch", "training_hub": "Training Hub",
          "python": "Python"}
ACCEL_FORMS = "rendered per folder as cuda13.0, rocm6.4, cpu"


def validate_version(kind: str, value: str) -> str:
    pattern, example = VERSION_FORMS[kind]
    if not re.fullmatch(pattern, value):
        raise UsageError(f"{FLAGS[kind]} {value}: not a {LABELS[kind]} version (expected a form "
                         f"like {example})")
    return value


@dataclass(frozen=True)
class Values:
    """What the request gives every folder alike: base image form, index URL, --set values."""

    full: str | None  # a full base image reference (one folder only)
    tag: str | None  # ":TAG": only the tag of each folder's own base image
    index_url: str | None  # as given (may hold {accel} and credentials)
    sets: tuple[tuple[str, str], ...]  # (project, requirement)
    several: bool
    lists: ListEdits = field(default_factory=ListEdits)


# --- shared per-folder values ---------------------------------------------------------


def base_image_form(value: str | None, count: int) -> tuple[str | None, str | None]:
    """(full reference, tag) from --base-image; a full one only fits a single folder."""
    if value is None:
        return None, None
    if value.startswith(":"):
        tag = value[1:]
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
            raise UsageError(f"--base-image {value}: not a valid image tag")
        return None, tag
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?", value):
        raise UsageError(f"--base-image {value}: not an image reference "
                         "(expected registry/name:tag, or :TAG to change only the tag)")
    if count > 1:
        raise UsageError(f"--base-image {value}: one full reference cannot fit {count} folders; "
                         "pass --base-image :TAG to change only the tag of each folder's own "
                         "base image (and --index-url with {accel} where the accelerator goes, "
                         f"{ACCEL_FORMS}), or bump one folder at a time (--from DIR / DIR)")
    return value, None


def index_for(image: ImageDir, given: str | None, accel: Accel, several: bool) -> str | None:
    """The folder's new index URL: --index-url (with {accel}), or the old one re-derived."""
    if given is not None:
        if "{accel}" in given:
            given = given.replace("{accel}", accel.index_segment)
        elif several:
            raise UsageError(f"--index-url {strip_userinfo(given)}: one URL cannot fit several "
                             "folders; write {accel} where the accelerator goes "
                             f"({ACCEL_FORMS})")
        _validate_url(given)
        return given
    old = image.index_url()
    if old is None:
        raise UsageError(f"{image.rel}: no index URL in the folder; pass --index-url URL")
    match = INDEX_SEGMENT.search(old)
    if match and match["seg"] != accel.index_segment:
        return old[: match.start("seg")] + accel.index_segment + old[match.end("seg"):]
    if not match and image.stack and image.stack.accel != accel:
        raise UsageError(f"{image.rel}: cannot derive the new index URL from {old} (no cuda/rocm/"
                         "cpu segment); pass --index-url URL")
    return old


def _validate_url(url: str) -> None:
    if not re.match(r"^https?://[^\s/]+/\S*$", url):
        raise UsageError(f"--index-url {strip_userinfo(url)}: not an http(s) URL")


def segment_fits(url: str, accel: Accel, *, major: bool) -> None:
    """An index URL names the folder's accelerator; another one is a major bump (or a typo)."""
    match = INDEX_SEGMENT.search(url)
    if match is None or match["seg"] == accel.index_segment:
        return
    seg, public = match["seg"], strip_userinfo(url)
    if major:
        raise UsageError(f"--index-url {public}: names {seg}, but the new folder is "
                         f"{accel.label} (its index segment is {accel.index_segment})")
    kind = next(k for k in ("cuda", "rocm", "cpu") if seg.startswith(k))
    if kind != accel.kind:
        raise UsageError(f"--index-url {public}: names {seg}, but the folder is {accel.label}; "
                         "an index of another accelerator belongs to a folder of that flavor")
    version = seg[len(kind):] + (".X" if kind == "rocm" else "")
    raise UsageError(f"--index-url {public}: names {seg}, but the folder is {accel.label}; "
                     f"changing {LABELS[kind]} is a major bump (a new folder); run: "
                     f"bumper major --{kind} {version} --index-url {public}")


def file_edits(image: ImageDir, rw: Rewrite, direct: tuple[str, ...]) -> dict[str, str]:
    """New text of every file the rewrite changes."""
    if rw.base_image or rw.base_tag:
        _base_image_default(image)
    new: dict[str, str] = {}
    for name, text in image.texts.items():
        if name == DOCKERFILE:
            out = dockerfile.rewrite(text, rw)
        elif name == PYPROJECT:
            out = pyproject.rewrite(text, rw, direct)
        elif name == LOCK:
            out = requirements.rewrite(text, rw)
        elif name.endswith(".repo"):
            out = repofile.rewrite(text, rw)
        elif name == ANSWERS:
            out = answers.rewrite(text, answer_values(rw, text))
        else:
            continue
        if out != text:
            new[name] = out
    return new


def _base_image_default(image: ImageDir) -> None:
    """--base-image changes the default of ``ARG BASE_IMAGE=REF``: refuse when there is none
    (the bump would change the answers file only, and the image would build as before)."""
    facts = image.dockerfile
    arg = facts.args.get("BASE_IMAGE") if facts else None
    if arg is not None and arg[0]:
        return
    where = f"{image.rel}/{DOCKERFILE}" + (f":{arg[1]}" if arg else "")
    what = "ARG BASE_IMAGE has no default" if arg else "no ARG BASE_IMAGE"
    raise UsageError(f"{where}: {what}, so --base-image has nothing to change (write "
                     "ARG BASE_IMAGE=registry/name:tag and FROM ${BASE_IMAGE})")


def answer_values(rw: Rewrite, text: str) -> dict[str, str]:
    """The answers this rewrite changes (and only those: drift elsewhere is not ours to fix)."""
    old, new = rw.old, rw.new
    values: dict[str, str] = {}
    for key, before, after in (("torch_version", old.torch, new.torch),
                               ("training_hub_version", old.training_hub, new.training_hub),
                               ("python_version", old.python, new.python)):
        if before != after:
            values[key] = after
    if old.accel != new.accel and new.accel.version and new.accel.kind in ("cuda", "rocm"):
        values[f"{new.accel.kind}_version"] = new.accel.version
    if rw.new_index and rw.new_index != rw.old_index:
        values["index_url"] = rw.new_index
        release = re.search(r"/([^/]+)/(?:cuda|rocm|cpu)[0-9.]*-[^/]*/simple/?$", rw.new_index)
        if release:
            values["release"] = release.group(1)
    base = answers.read(text).get("base_image")
    if base:
        moved = tokens.apply(base, tokens.substitutions(rw))
        if rw.base_image:
            moved = rw.base_image
        elif rw.base_tag:
            moved = dockerfile.retag(moved, rw.base_tag)
        if moved != base:
            values["base_image"] = moved
    return values


def text_files(path: Path) -> dict[str, str]:
    """All text files of a folder (for diffs and leftovers), by relative name."""
    out = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and not file.is_symlink():
            try:
                out[file.relative_to(path).as_posix()] = read_text(file)
            except UnicodeDecodeError:
                continue
    return out


def load_images(config: Config, paths: list[Path]) -> list[ImageDir]:
    """The folders as their files say. Their drift (what the staging check may carry over)
    is read by the apply step while uv locks, off the critical path."""
    return [discover.load(config, path) for path in paths]


def require_readable(images: list[ImageDir], config: Config) -> list[ImageDir]:
    for image in images:
        if image.stack is None:
            from bumper import check  # only to say why

            problems = check.check_image(image, config)
            first = str(problems[0]) if problems else "run bumper check"
            raise UsageError(f"{image.rel}: cannot read its versions ({first})")
    return images


def edits_line(folder: FolderPlan) -> str:
    """The files a folder's bump edits, in one line for the commit body."""
    parts = [f"edit {', '.join(sorted(folder.new))}" if folder.new else "no file edits"]
    if folder.upgrade:
        parts.append(f"upgrade {LOCK}")
    parts += [f"pin {pin.name}=={pin.version} in {LOCK}" for pin in folder.repins]
    return "; ".join(parts)


# --- --set --------------------------------------------------------------------------------


def check_sets(sets: tuple[str, ...],
               major: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """Parse --set values; a torch or training_hub change is major and says which command
    (in a major that moves it to the same version, a --set may change its extras)."""
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for raw in sets:
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            raise UsageError(f"--set {raw}: not a PEP 508 requirement ({exc})") from exc
        key = canonical(req.name)
        if key in MAJOR_PROJECTS:
            flag = FLAGS[MAJOR_PROJECTS[key]]
            pins = [s.version for s in req.specifier if s.operator == "=="]
            wanted = (major or {}).get(MAJOR_PROJECTS[key])
            if wanted is not None and pins == [wanted] and len(req.specifier) == 1:
                out.append((req.name, raw))
                continue
            version = pins[0] if pins else "VERSION"
            raise UsageError(f"--set {raw}: changing {req.name} is a major bump (a new folder); "
                             f"run: bumper major {flag} {version}")
        out.append((req.name, raw))
    return tuple(out)


class Clients:
    """One index client per index URL, closed at the end of planning."""

    def __init__(self) -> None:
        self._clients: dict[str, IndexClient] = {}

    def get(self, url: str) -> IndexClient:
        from bumper.index import IndexClient
        from bumper.urls import with_env_credentials

        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = IndexClient(with_env_credentials(url))
        return client

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for client in self._clients.values():
            client.close()


@dataclass
class Sets:
    """Where each --set goes: direct dependencies (pyproject.toml), transitive fixes kept in
    ``[tool.uv] constraint-dependencies``, or lock pins; and why, for the plan."""

    direct: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    repins: list[Repin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def split_sets(image: ImageDir, values: Values, index: str | None, clients: Clients,
               cve_fixes: str = "auto") -> Sets:
    """--set values: direct ones (pyproject.toml), and transitive ones: into the folder's
    constraint-dependencies when it keeps that list (or ``cve-fixes = "constraints"``),
    else lock pins."""
    from bumper.editors import deplist

    text = image.texts.get(PYPROJECT, "")
    listed = deplist.has_list(text, deplist.CONSTRAINTS)
    out = Sets()
    for name, raw in values.sets:
        repin = _classify_set(image, name, raw, index, clients)
        if repin is None:
            out.direct += (raw,)
        elif listed or cve_fixes == "constraints":
            out.constraints += (raw,)
            why = ("the folder keeps its transitive fixes there" if listed
                   else '[tool.bumper] cve-fixes = "constraints"')
            out.notes.append(f"{raw}: into [tool.uv] constraint-dependencies ({why}), relocked")
        else:
            out.repins.append(repin)
            why = ("the folder has no [tool.uv] constraint-dependencies list; "
                   '[tool.bumper] cve-fixes = "constraints" would start one')
            out.notes.append(f"{raw}: lock pin {repin.name}=={repin.version} ({why})")
    return out


def _classify_set(image: ImageDir, name: str, raw: str, index: str | None,
                  clients: Clients) -> Repin | None:
    """None for a direct dependency (pyproject change + relock), else the lock pin to write
    (the newest version the index has that satisfies ``raw``, with its hashes)."""
    from packaging.requirements import Requirement

    from bumper.index import sorted_versions

    is_direct = pyproject.direct_dependency(image.texts.get(PYPROJECT, ""), name) is not None
    pin = image.lock.pin(name) if image.lock else None
    if not is_direct and pin is None:
        raise UsageError(f"--set {raw}: {name} is not a dependency of {image.rel} (neither in "
                         "pyproject.toml nor in the lock)")
    if index is None:
        raise UsageError(f"{image.rel}: no index URL to look {name} up in; pass --index-url")
    available = clients.get(index).versions(name)
    spec = Requirement(raw).specifier
    listed = sorted_versions(list(available))
    matching = [v for v in listed if spec.contains(v, prereleases=False)]
    if not matching:
        shown = ", ".join(listed[:12]) or "none"
        raise UsageError(f"--set {raw}: no version of {name} on {strip_userinfo(index)} "
                         f"satisfies it (available: {shown})")
    if is_direct:
        return None
    version = matching[0]
    hashes = tuple(sorted(f"{algo}:{digest}" for link in available[version]
                          for algo, digest in link.hashes.items() if algo == "sha256"))
    if not lockform.hashed(image.texts.get(LOCK, "")):
        hashes = ()  # an unhashed lock stays unhashed (one hashed pin: pip refuses them all)
    return Repin(pin.name if pin else name, version, hashes)


def list_edits(image: ImageDir, new: dict[str, str], sets: Sets, values: Values, *,
               index: str | None, clients: Clients) -> list[str]:
    """Apply the requirement-list changes to ``new``'s pyproject.toml; the plan's notes."""
    from bumper import depplan

    if not (sets.constraints or values.lists):
        return list(sets.notes)
    before = new.get(PYPROJECT, image.texts.get(PYPROJECT, ""))
    after, notes = depplan.edit(image, before, sets, values.lists, index=index, clients=clients)
    if after != image.texts.get(PYPROJECT, ""):
        new[PYPROJECT] = after
    return [*sets.notes, *notes]


def hash_policy(scheme: Scheme | None) -> bool | None:
    """The lock form ``[tool.bumper] hashes`` forces (None: the one the lock has)."""
    return {"always": True, "never": False}.get(scheme.hashes if scheme else "auto")
