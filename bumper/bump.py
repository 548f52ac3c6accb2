"""Minor or major: turn a request into a Plan.

A change of CUDA, ROCm, PyTorch, Training Hub or Python is major (a new
folder, copied from the newest one of its flavor and rewritten); anything
else is minor (the folder is edited in place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bumper import discover
from bumper.config import Config
from bumper.discover import ANSWERS, DOCKERFILE, INDEX_SEGMENT, LOCK, PYPROJECT, ImageDir
from bumper.editors import answers, dockerfile, pyproject, repofile, requirements, tokens
from bumper.editors.tokens import Rewrite
from bumper.errors import UsageError
from bumper.model import Accel, Stack
from bumper.plan import FolderPlan, Plan, Repin
from bumper.urls import strip_userinfo

VERSION_FORMS = {
    "cuda": (r"[0-9]+\.[0-9]+", "13.0"),
    "rocm": (r"[0-9]+\.[0-9]+(\.[0-9]+)?", "7.1.1"),
    "torch": (r"[0-9]+\.[0-9]+\.[0-9]+", "2.10.0"),
    "training_hub": (r"[0-9]+\.[0-9]+\.[0-9]+", "0.6.0"),
    "python": (r"3\.[0-9]+", "3.13"),
}
FLAGS = {"cuda": "--cuda", "rocm": "--rocm", "torch": "--torch",
         "training_hub": "--training-hub", "python": "--python"}
MAJOR_PROJECTS = {"torch": "torch", "training-hub": "training_hub"}
LABELS = {"cuda": "CUDA", "rocm": "ROCm", "torch": "PyTorch", "training_hub": "Training Hub",
          "python": "Python"}


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


@dataclass
class _Target:
    image: ImageDir
    stack: Stack
    index_url: str | None  # may carry credentials (for the lock only)
    base_image: str | None = None
    base_tag: str | None = None
    warnings: list[str] = field(default_factory=list)


# --- shared per-folder values ---------------------------------------------------------


def _base_image_form(value: str | None, images: list[ImageDir]) -> tuple[str | None, str | None]:
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
    if len(images) > 1:
        raise UsageError(f"--base-image {value}: one full reference cannot fit "
                         f"{len(images)} folders; pass --base-image :TAG to change only the tag "
                         "of each folder's own base image, or bump one folder at a time "
                         "(--from DIR / DIR)")
    return value, None


def _index_for(image: ImageDir, given: str | None, accel: Accel, several: bool) -> str | None:
    """The folder's new index URL: --index-url (with {accel}), or the old one re-derived."""
    if given is not None:
        if "{accel}" in given:
            return given.replace("{accel}", accel.index_segment)
        if several:
            raise UsageError(f"--index-url {strip_userinfo(given)}: one URL cannot fit several "
                             "folders; write {accel} where the accelerator goes (rendered per "
                             "folder as cuda13.0, rocm6.4, cpu)")
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


def _file_edits(image: ImageDir, rw: Rewrite, sets: tuple[str, ...]) -> dict[str, str]:
    """New text of every file the rewrite changes."""
    new: dict[str, str] = {}
    for name, text in image.texts.items():
        if name == DOCKERFILE:
            out = dockerfile.rewrite(text, rw)
        elif name == PYPROJECT:
            out = pyproject.rewrite(text, rw, sets)
        elif name == LOCK:
            out = requirements.rewrite(text, rw)
        elif name.endswith(".repo"):
            out = repofile.rewrite(text, rw)
        elif name == ANSWERS:
            out = answers.rewrite(text, _answers(rw, text))
        else:
            continue
        if out != text:
            new[name] = out
    return new


def _answers(rw: Rewrite, text: str) -> dict[str, str]:
    new = rw.new
    values = {"torch_version": new.torch, "training_hub_version": new.training_hub,
              "python_version": new.python}
    if new.accel.kind == "cuda" and new.accel.version:
        values["cuda_version"] = new.accel.version
    if new.accel.kind == "rocm" and new.accel.version:
        values["rocm_version"] = new.accel.version
    if rw.new_index:
        values["index_url"] = rw.new_index
        release = re.search(r"/([^/]+)/(?:cuda|rocm|cpu)[0-9.]*-[^/]*/simple/?$", rw.new_index)
        if release:
            values["release"] = release.group(1)
    current = answers.read(text)
    base = current.get("base_image")
    if base:
        values["base_image"] = rw.base_image or (dockerfile.retag(tokens.apply(
            base, tokens.substitutions(rw)), rw.base_tag) if rw.base_tag
            else tokens.apply(base, tokens.substitutions(rw)))
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
    patterns = tokens.leftover_patterns(rw.old, rw.new)
    found = []
    for name, text in sorted(files.items()):
        if name == LOCK:
            continue
        found.extend(tokens.scan(f"{rel}/{name}", text, patterns))
    return found


def _loaded(config: Config, paths: list[Path]) -> list[ImageDir]:
    from bumper import check

    images = [discover.load(config, path) for path in paths]
    for image in images:
        image.problems = check.check_image(image, config)  # kept as the "before" drift
    return images


# --- major ----------------------------------------------------------------------------------


def _newest(images: list[ImageDir], kind: str) -> ImageDir | None:
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
        images = _loaded(config, discover.resolve(config, req.sources))
        for image in images:
            if image.stack is None:
                raise UsageError(f"{image.rel}: cannot read its versions ({_first_problem(image)})")
        return images
    all_images = _loaded(config, discover.image_dirs(config))
    kinds = ["cuda", "rocm", "cpu"] if changes.keys() - {"cuda", "rocm"} else \
        ["cuda"] if "cuda" in changes else ["rocm"]
    picked = [img for kind in kinds if (img := _newest(all_images, kind)) is not None]
    if not picked:
        raise UsageError(f"no {' or '.join(kinds)} folder with readable versions under "
                         f"{config.images_rel}/ (bumper check tells why)")
    return picked


def _first_problem(image: ImageDir) -> str:
    return str(image.problems[0]) if image.problems else "run bumper check"


def _new_stack(stack: Stack, changes: dict[str, str]) -> Stack:
    accel = stack.accel
    if "cuda" in changes and accel.kind == "cuda":
        accel = Accel("cuda", changes["cuda"])
    if "rocm" in changes and accel.kind == "rocm":
        accel = Accel("rocm", changes["rocm"])
    return Stack(training_hub=changes.get("training_hub", stack.training_hub), accel=accel,
                 torch=changes.get("torch", stack.torch), python=changes.get("python", stack.python))


def _describe_change(old: Stack, new: Stack) -> str:
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
    _check_sets(req.sets, major=True)
    sources = _sources(config, req, changes)
    if req.name and len(sources) > 1:
        raise UsageError(f"--name {req.name}: names one folder, but the bump makes "
                         f"{len(sources)}; leave --name out to use the naming scheme")
    full, tag = _base_image_form(req.base_image, sources)
    folders, warnings, details, removals = [], [], [], []
    for image in sources:
        assert image.stack is not None
        new_stack = _new_stack(image.stack, changes)
        if new_stack == image.stack:
            raise UsageError(f"{image.rel}: the request changes no version of this folder "
                             f"({image.stack.describe()})")
        folder, warn = _major_folder(config, req, image, new_stack, full, tag,
                                     several=len(sources) > 1)
        folders.append(folder)
        warnings.extend(warn)
        details.append(f"{image.name} -> {Path(folder.dst_rel).name} "
                       f"({_describe_change(image.stack, new_stack)})")
        if req.retire:
            removals.append(image.rel)
    if len(folders) == 1:
        subject = f"major: {details[0]}"
    else:
        subject = f"major: {_describe_change(sources[0].stack, folders[0].rewrite.new)} " \
                  f"({len(folders)} folders)"  # type: ignore[arg-type, union-attr]
    body = [f"- {line}" for line in details]
    if removals:
        body.append("")
        body += [f"- retire {rel}" for rel in removals]
    return Plan("major", folders, subject, body, removals, warnings)


def _major_folder(config: Config, req: MajorRequest, image: ImageDir, new_stack: Stack,
                  full: str | None, tag: str | None, *, several: bool
                  ) -> tuple[FolderPlan, list[str]]:
    assert image.stack is not None
    name = req.name or config.naming.render(new_stack)
    if "/" in name or name in (".", ".."):
        raise UsageError(f"--name {name}: must be a plain folder name")
    dst = config.images_root / name
    dst_rel = f"{config.images_rel}/{name}"
    if dst.exists():
        raise UsageError(f"{dst_rel}: already exists (remove it, or pass --name NEW_DIR_NAME)")
    index = _index_for(image, req.index_url, new_stack.accel, several)
    rw = Rewrite(old=image.stack, new=new_stack, old_name=image.name, new_name=name,
                 old_index=image.index_url(), new_index=strip_userinfo(index) if index else None,
                 base_image=full, base_tag=tag)
    old_files = _text_files(image.path)
    new = _file_edits(image, rw, req.sets)
    warnings = []
    if full is None and tag is None and image.dockerfile and "BASE_IMAGE" in image.dockerfile.args:
        ref = dockerfile.retag(image.dockerfile.args["BASE_IMAGE"][0] or "", "X")
        kept = (image.dockerfile.args["BASE_IMAGE"][0] or "").rsplit(":", 1)[-1]
        warnings.append(f"{dst_rel}: base image tag kept ({ref[:-2]}:{kept}); pass --base-image "
                        "REF or :TAG once the new base image exists")
    merged = {**old_files, **new}
    folder = FolderPlan(src_rel=image.rel, dst_rel=dst_rel, old=old_files, new=new, rewrite=rw,
                        index_url=index, relock=True, before=image.problems,
                        leftovers=_leftovers(dst_rel, merged, rw))
    return folder, warnings


# --- minor ----------------------------------------------------------------------------------


def _check_sets(sets: tuple[str, ...], major: bool = False) -> list[tuple[str, str]]:
    """Parse --set values; a torch or training_hub change is major and says which command."""
    from packaging.requirements import InvalidRequirement, Requirement

    out = []
    for raw in sets:
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            raise UsageError(f"--set {raw}: not a PEP 508 requirement ({exc})") from exc
        key = requirements_key(req.name)
        if key in MAJOR_PROJECTS:
            flag = FLAGS[MAJOR_PROJECTS[key]]
            pins = [s.version for s in req.specifier if s.operator == "=="]
            version = pins[0] if pins else "VERSION"
            raise UsageError(f"--set {raw}: changing {req.name} is a major bump (a new folder); "
                             f"run: bumper major {flag} {version}")
        out.append((req.name, raw))
    return out


def requirements_key(name: str) -> str:
    from bumper.formats.requirements import canonical

    return canonical(name)


def plan_minor(config: Config, req: MinorRequest) -> Plan:
    sets = _check_sets(req.sets)
    if not (req.base_image or req.index_url or sets or req.upgrade):
        raise UsageError("bumper minor needs a change: --base-image, --index-url, --set or "
                         "--upgrade")
    images = _loaded(config, discover.resolve(config, req.dirs))
    for image in images:
        if image.stack is None:
            raise UsageError(f"{image.rel}: cannot read its versions ({_first_problem(image)})")
    full, tag = _base_image_form(req.base_image, images)
    several = len(images) > 1
    folders, details = [], []
    with _index_client_cache() as clients:
        for image in images:
            folder = _minor_folder(image, req, sets, full, tag, several, clients)
            if folder is not None:
                folders.append(folder)
                details.append(f"{image.name}: {_minor_summary(image, folder, req)}")
    if len(folders) == 1:
        subject = f"minor: {details[0]}"
    else:
        subject = f"minor: {_minor_summary(images[0], folders[0], req) if folders else ''} " \
                  f"({len(folders)} folders)"
    return Plan("minor", folders, subject, [f"- {d}" for d in details])


def _minor_summary(image: ImageDir, folder: FolderPlan, req: MinorRequest) -> str:
    parts = []
    if req.base_image:
        parts.append(f"base image -> {req.base_image}")
    if req.index_url and folder.rewrite and folder.rewrite.new_index != folder.rewrite.old_index:
        parts.append(f"index URL -> {folder.rewrite.new_index}")
    parts += [f"{s}" for s in req.sets]
    if req.upgrade:
        parts.append("lock upgraded")
    return ", ".join(parts) or "no change"


def _minor_folder(image: ImageDir, req: MinorRequest, sets: list[tuple[str, str]],
                  full: str | None, tag: str | None, several: bool,
                  clients: dict[str, object]) -> FolderPlan | None:
    stack = image.stack
    assert stack is not None
    index = _index_for(image, req.index_url, stack.accel, several)
    public = strip_userinfo(index) if index else None
    direct: list[str] = []
    repins: list[Repin] = []
    for name, raw in sets:
        kind, value = _classify_set(image, name, raw, index, clients)
        if kind == "direct":
            direct.append(raw)
        elif isinstance(value, Repin):
            repins.append(value)
    rw = Rewrite(old=stack, new=stack, old_name=image.name, new_name=image.name,
                 old_index=image.index_url(), new_index=public, base_image=full, base_tag=tag)
    new = _file_edits(image, rw, tuple(direct))
    relock = bool(req.upgrade or direct or (public != image.index_url()))
    if not new and not relock and not repins:
        return None
    return FolderPlan(src_rel=image.rel, dst_rel=image.rel, old=_text_files(image.path), new=new,
                      rewrite=rw, index_url=index, relock=relock, upgrade=req.upgrade,
                      repins=repins, before=image.problems)


class _index_client_cache:  # noqa: N801 - used as a context manager
    def __enter__(self) -> dict[str, object]:
        self.clients: dict[str, object] = {}
        return self.clients

    def __exit__(self, *exc: object) -> None:
        for client in self.clients.values():
            client.close()  # type: ignore[attr-defined]


def _classify_set(image: ImageDir, name: str, raw: str, index: str | None,
                  clients: dict[str, object]) -> tuple[str, Repin | None]:
    """'direct' (pyproject change + relock) or 'transitive' (a lock pin with its hashes)."""
    from packaging.requirements import Requirement

    from bumper.index import IndexClient, sorted_versions
    from bumper.urls import with_env_credentials

    text = image.texts.get(PYPROJECT, "")
    is_direct = pyproject.direct_dependency(text, name) is not None
    pin = image.lock.pin(name) if image.lock else None
    if not is_direct and pin is None:
        raise UsageError(f"--set {raw}: {name} is not a dependency of {image.rel} (neither in "
                         "pyproject.toml nor in the lock)")
    if index is None:
        raise UsageError(f"{image.rel}: no index URL to look {name} up in; pass --index-url")
    client = clients.get(index)
    if client is None:
        client = clients[index] = IndexClient(with_env_credentials(index))
    assert isinstance(client, IndexClient)
    available = client.versions(name)
    spec = Requirement(raw).specifier
    matching = [v for v in sorted_versions(list(available)) if spec.contains(v, prereleases=False)]
    if not matching:
        listed = ", ".join(sorted_versions(list(available))[:12]) or "none"
        raise UsageError(f"--set {raw}: no version of {name} on {strip_userinfo(index)} "
                         f"satisfies it (available: {listed})")
    if is_direct:
        return "direct", None
    version = matching[0]
    hashes = tuple(sorted(f"{algo}:{digest}" for link in available[version]
                          for algo, digest in link.hashes.items() if algo == "sha256"))
    return "transitive", Repin(pin.name if pin else name, version, hashes)
