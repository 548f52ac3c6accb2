"""Minor or major: turn a request into a Plan.

A change of CUDA, ROCm, PyTorch, Training Hub or Python is major (a new
folder, copied from the newest one of its flavor and rewritten); anything
else is minor (the folder is edited in place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from bumper import companions, discover
from bumper.config import Config
from bumper.discover import ANSWERS, DOCKERFILE, INDEX_SEGMENT, LOCK, PYPROJECT, ImageDir
from bumper.editors import answers, dockerfile, pyproject, repofile, requirements, tokens
from bumper.editors.tokens import Rewrite
from bumper.errors import UsageError
from bumper.formats import dockerfile as dockerfile_facts
from bumper.formats.requirements import canonical
from bumper.model import Accel, Stack
from bumper.plan import FolderPlan, Plan, Repin
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
class MajorRequest:
    cuda: str | None = None
    rocm: str | None = None
    torch: str | None = None
    training_hub: str | None = None
    python: str | None = None
    sources: tuple[str, ...] = ()
    name: str | None = None
    base_image: str | None = None
    index_url: str | None = None
    sets: tuple[str, ...] = ()
    retire: bool = False

    def changes(self) -> dict[str, str]:
        return {k: validate_version(k, v) for k in FLAGS if (v := getattr(self, k)) is not None}


@dataclass(frozen=True)
class MinorRequest:
    dirs: tuple[str, ...] = ()
    base_image: str | None = None
    index_url: str | None = None
    sets: tuple[str, ...] = ()
    upgrade: bool = False


@dataclass(frozen=True)
class _Values:
    """What the request gives every folder alike: base image form, index URL, --set values."""

    full: str | None  # a full base image reference (one folder only)
    tag: str | None  # ":TAG": only the tag of each folder's own base image
    index_url: str | None  # as given (may hold {accel} and credentials)
    sets: tuple[tuple[str, str], ...]  # (project, requirement)
    several: bool


# --- shared per-folder values ---------------------------------------------------------


def _base_image_form(value: str | None, count: int) -> tuple[str | None, str | None]:
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


def _index_for(image: ImageDir, given: str | None, accel: Accel, several: bool) -> str | None:
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


def _segment_fits(url: str, accel: Accel, *, major: bool) -> None:
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


def _file_edits(image: ImageDir, rw: Rewrite, direct: tuple[str, ...]) -> dict[str, str]:
    """New text of every file the rewrite changes."""
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


def _text_files(path: Path) -> dict[str, str]:
    """All text files of a folder (for diffs and leftovers), by relative name."""
    out = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and not file.is_symlink():
            try:
                out[file.relative_to(path).as_posix()] = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return out


def _leftovers(rel: str, files: dict[str, str], rw: Rewrite) -> list[tokens.Leftover]:
    """Lines of the new folder (the lock aside) that still name a version the bump replaced."""
    patterns = tokens.leftover_patterns(rw.old, rw.new)
    patterns += tokens.companion_patterns(files.get(LOCK, ""), rw.old, rw.new)
    found: list[tokens.Leftover] = []
    for name, text in sorted(files.items()):
        if name == LOCK:
            continue
        found.extend(tokens.scan(f"{rel}/{name}", text, patterns))
    return found


def _loaded(config: Config, paths: list[Path]) -> list[ImageDir]:
    """The folders as their files say. Their drift (what the staging check may carry over)
    is read by the apply step while uv locks, off the critical path."""
    return [discover.load(config, path) for path in paths]


def _readable(images: list[ImageDir], config: Config) -> list[ImageDir]:
    for image in images:
        if image.stack is None:
            from bumper import check  # only to say why

            problems = check.check_image(image, config)
            first = str(problems[0]) if problems else "run bumper check"
            raise UsageError(f"{image.rel}: cannot read its versions ({first})")
    return images


def _base_image(text: str) -> str | None:
    """The default of the first ARG BASE_IMAGE of a Dockerfile."""
    arg = dockerfile_facts.read(text).args.get("BASE_IMAGE")
    return arg[0] if arg and arg[0] else None


# --- --set --------------------------------------------------------------------------------


def _check_sets(sets: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Parse --set values; a torch or training_hub change is major and says which command."""
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
            version = pins[0] if pins else "VERSION"
            raise UsageError(f"--set {raw}: changing {req.name} is a major bump (a new folder); "
                             f"run: bumper major {flag} {version}")
        out.append((req.name, raw))
    return tuple(out)


class _Clients:
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

    def __enter__(self) -> _Clients:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for client in self._clients.values():
            client.close()


def _split_sets(image: ImageDir, values: _Values, index: str | None,
                clients: _Clients) -> tuple[tuple[str, ...], list[Repin]]:
    """--set values: direct ones (pyproject.toml) and transitive ones (lock pins)."""
    direct: list[str] = []
    repins: list[Repin] = []
    for name, raw in values.sets:
        repin = _classify_set(image, name, raw, index, clients)
        if repin is None:
            direct.append(raw)
        else:
            repins.append(repin)
    return tuple(direct), repins


def _classify_set(image: ImageDir, name: str, raw: str, index: str | None,
                  clients: _Clients) -> Repin | None:
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
    return Repin(pin.name if pin else name, version, hashes)


# --- major ----------------------------------------------------------------------------------


def newest(images: list[ImageDir], kind: str) -> ImageDir | None:
    from packaging.version import Version

    def key(image: ImageDir) -> tuple[Version, ...]:
        s = image.stack
        assert s is not None
        return (Version(s.training_hub), Version(s.torch), Version(s.accel.version or "0"),
                Version(s.python))

    candidates = [i for i in images if i.stack and i.stack.accel.kind == kind]
    return max(candidates, key=key) if candidates else None


def _sources(config: Config, req: MajorRequest, changes: dict[str, str]) -> list[ImageDir]:
    if req.sources:
        return _readable(_loaded(config, discover.resolve(config, req.sources)), config)
    all_images = _loaded(config, discover.image_dirs(config))
    if changes.keys() - {"cuda", "rocm"}:
        kinds = ["cuda", "rocm", "cpu"]
    else:
        kinds = ["cuda"] if "cuda" in changes else ["rocm"]
    picked = [img for kind in kinds if (img := newest(all_images, kind)) is not None]
    if not picked:
        raise UsageError(f"no {' or '.join(kinds)} folder with readable versions under "
                         f"{config.images_rel}/ (bumper check tells why)")
    return picked


def _new_stack(stack: Stack, changes: dict[str, str]) -> Stack:
    accel = stack.accel
    if "cuda" in changes and accel.kind == "cuda":
        accel = Accel("cuda", changes["cuda"])
    if "rocm" in changes and accel.kind == "rocm":
        accel = Accel("rocm", changes["rocm"])
    return Stack(training_hub=changes.get("training_hub", stack.training_hub), accel=accel,
                 torch=changes.get("torch", stack.torch),
                 python=changes.get("python", stack.python))


def describe_change(old: Stack, new: Stack) -> str:
    parts = []
    if old.accel != new.accel:
        parts.append(f"{old.accel.label} -> {new.accel.version}")
    for attr, label in (("torch", "PyTorch"), ("training_hub", "Training Hub"),
                        ("python", "Python")):
        if getattr(old, attr) != getattr(new, attr):
            parts.append(f"{label} {getattr(old, attr)} -> {getattr(new, attr)}")
    return ", ".join(parts)


def plan_major(config: Config, req: MajorRequest) -> Plan:
    changes = req.changes()
    if not changes:
        raise UsageError("bumper major needs a version to change: --cuda, --rocm, --torch, "
                         "--training-hub or --python")
    if "cuda" in changes and "rocm" in changes:
        raise UsageError("--cuda and --rocm change different folders; run one bump for each")
    sets = _check_sets(req.sets)
    sources = _sources(config, req, changes)
    if req.name and len(sources) > 1:
        raise UsageError(f"--name {req.name}: names one folder, but the bump makes "
                         f"{len(sources)}; leave --name out to use the naming scheme")
    stacks: list[tuple[ImageDir, Stack, Stack]] = []
    for image in sources:
        assert image.stack is not None
        new_stack = _new_stack(image.stack, changes)
        if new_stack == image.stack:
            raise UsageError(f"{image.rel}: the request changes no version of this folder "
                             f"({image.stack.describe()})")
        stacks.append((image, image.stack, new_stack))
    full, tag = _base_image_form(req.base_image, len(sources))
    values = _Values(full, tag, req.index_url, sets, several=len(sources) > 1)
    folders: list[FolderPlan] = []
    warnings: list[str] = []
    details: list[str] = []
    with _Clients() as clients:
        for image, old, new in stacks:
            folder, warning = _major_folder(config, req, image, new, values=values,
                                            clients=clients)
            folders.append(folder)
            warnings.extend(warning)
            details.append(f"{image.name} -> {Path(folder.dst_rel).name} "
                           f"({describe_change(old, new)})")
    removals = [image.rel for image in sources] if req.retire else []
    files, notes = companions.plan_edits(
        config, [folder.rewrite for folder in folders if folder.rewrite], retire=req.retire)
    warnings.extend(notes)
    if len(folders) == 1:
        subject = f"major: {details[0]}"
    else:
        subject = (f"major: {describe_change(stacks[0][1], stacks[0][2])} "
                   f"({len(folders)} folders)")
    body = [line for detail, folder in zip(details, folders, strict=True)
            for line in (f"- {detail}", f"  {_edits(folder)}")]
    body += [f"- {edit.summary}" for edit in files]
    body += [f"- retire {rel}" for rel in removals]
    return Plan("major", folders, subject, body, removals, warnings, files)


def _edits(folder: FolderPlan) -> str:
    """The files a folder's bump edits, in one line for the commit body."""
    parts = [f"edit {', '.join(sorted(folder.new))}" if folder.new else "no file edits"]
    if folder.upgrade:
        parts.append(f"upgrade {LOCK}")
    parts += [f"pin {pin.name}=={pin.version} in {LOCK}" for pin in folder.repins]
    return "; ".join(parts)


def _major_folder(config: Config, req: MajorRequest, image: ImageDir, new_stack: Stack, *,
                  values: _Values, clients: _Clients) -> tuple[FolderPlan, list[str]]:
    assert image.stack is not None
    name = req.name or config.naming.render(new_stack)
    if "/" in name or name in (".", ".."):
        raise UsageError(f"--name {name}: must be a plain folder name")
    dst = config.images_root / name
    dst_rel = f"{config.images_rel}/{name}"
    if dst.exists():
        raise UsageError(f"{dst_rel}: already exists (remove it, or pass --name NEW_DIR_NAME)")
    index = _index_for(image, values.index_url, new_stack.accel, values.several)
    if index is not None:
        _segment_fits(index, new_stack.accel, major=True)
    rw = Rewrite(old=image.stack, new=new_stack, old_name=image.name, new_name=name,
                 old_index=image.index_url(), new_index=strip_userinfo(index) if index else None,
                 base_image=values.full, base_tag=values.tag)
    direct, repins = _split_sets(image, values, index, clients)
    old_files = _text_files(image.path)
    new = _file_edits(image, rw, direct)
    warnings = []
    ref = _base_image(new.get(DOCKERFILE, image.texts.get(DOCKERFILE, "")))
    if values.full is None and values.tag is None and ref:
        warnings.append(f"{dst_rel}: base image tag kept ({ref}); pass --base-image REF or :TAG "
                        "once the new base image exists")
    chosen = name != config.naming.render(new_stack)
    if chosen:
        warnings.append(f"{dst_rel}: --name {name} is not the name the naming scheme gives "
                        f"({config.naming.render(new_stack)}); bumper check will say so")
    folder = FolderPlan(src_rel=image.rel, dst_rel=dst_rel, old=old_files, new=new, rewrite=rw,
                        index_url=index, relock=True, repins=repins, before=None,
                        leftovers=_leftovers(dst_rel, {**old_files, **new}, rw),
                        accepted=("name",) if chosen else ())
    return folder, warnings


# --- minor ----------------------------------------------------------------------------------


def plan_minor(config: Config, req: MinorRequest) -> Plan:
    sets = _check_sets(req.sets)
    if not (req.base_image or req.index_url or sets or req.upgrade):
        raise UsageError("bumper minor needs a change: --base-image, --index-url, --set or "
                         "--upgrade")
    images = _readable(_loaded(config, discover.resolve(config, req.dirs)), config)
    full, tag = _base_image_form(req.base_image, len(images))
    values = _Values(full, tag, req.index_url, sets, several=len(images) > 1)
    folders: list[FolderPlan] = []
    details: list[str] = []
    with _Clients() as clients:
        for image in images:
            folder = _minor_folder(image, req, values, clients)
            if folder is not None:
                folders.append(folder)
                details.append(f"{image.name}: {_minor_summary(folder, req)}")
    if len(folders) == 1:
        subject = f"minor: {details[0]}"
    elif folders:
        subject = f"minor: {_minor_summary(folders[0], req, several=True)} ({len(folders)} folders)"
    else:
        subject = "minor: no change"
    body = [line for detail, folder in zip(details, folders, strict=True)
            for line in (f"- {detail}", f"  {_edits(folder)}")]
    return Plan("minor", folders, subject, body)


def _minor_summary(folder: FolderPlan, req: MinorRequest, several: bool = False) -> str:
    parts = []
    if req.base_image:
        parts.append(f"base image -> {req.base_image}")
    rw = folder.rewrite
    if req.index_url and rw and rw.new_index != rw.old_index:
        parts.append(f"index URL -> {strip_userinfo(req.index_url) if several else rw.new_index}")
    parts += list(req.sets)
    if req.upgrade:
        parts.append("lock upgraded")
    return ", ".join(parts) or "no change"


def _minor_folder(image: ImageDir, req: MinorRequest, values: _Values,
                  clients: _Clients) -> FolderPlan | None:
    stack = image.stack
    assert stack is not None
    index = _index_for(image, req.index_url, stack.accel, values.several)
    if index is not None and req.index_url is not None:
        _segment_fits(index, stack.accel, major=False)
    public = strip_userinfo(index) if index else None
    direct, repins = _split_sets(image, values, index, clients)
    rw = Rewrite(old=stack, new=stack, old_name=image.name, new_name=image.name,
                 old_index=image.index_url(), new_index=public, base_image=values.full,
                 base_tag=values.tag)
    new = _file_edits(image, rw, direct)
    relock = bool(req.upgrade or direct or public != image.index_url())
    if not new and not relock and not repins:
        return None
    return FolderPlan(src_rel=image.rel, dst_rel=image.rel, old=_text_files(image.path), new=new,
                      rewrite=rw, index_url=index, relock=relock, upgrade=req.upgrade,
                      repins=repins, before=None)
