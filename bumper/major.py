"""Major bumps: a change of CUDA, ROCm, PyTorch, Training Hub or Python makes a new
folder, copied from the newest one of its flavor (or the given sources) and rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bumper import companions, depplan, discover
from bumper.bump import (
    FLAGS,
    Clients,
    Values,
    base_image_form,
    check_sets,
    edits_line,
    file_edits,
    hash_policy,
    index_for,
    list_edits,
    load_images,
    require_readable,
    segment_fits,
    split_sets,
    text_files,
    validate_version,
)
from bumper.config import Config
from bumper.discover import DOCKERFILE, LOCK, ImageDir
from bumper.editors import tokens
from bumper.editors.tokens import Rewrite
from bumper.errors import UsageError
from bumper.formats import dockerfile as dockerfile_facts
from bumper.model import Accel, Stack, check_folder_name
from bumper.plan import FolderPlan, Plan
from bumper.urls import strip_userinfo


@dataclass(frozen=True)
class MajorRequest:
    """`bumper major`: the versions that change, and what goes with them."""

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
    adds: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    align: bool = True  # a new Training Hub must resolve with each folder (--no-align: skip)

    def changes(self) -> dict[str, str]:
        return {k: validate_version(k, v) for k in FLAGS if (v := getattr(self, k)) is not None}


def plan_major(config: Config, req: MajorRequest) -> Plan:
    changes = req.changes()
    if not changes:
        raise UsageError("bumper major needs a version to change: --cuda, --rocm, --torch, "
                         "--training-hub or --python")
    if "cuda" in changes and "rocm" in changes:
        raise UsageError("--cuda and --rocm change different folders; run one bump for each")
    sets = check_sets(req.sets, changes)
    lists = depplan.parse(req.adds, req.removes, req.overrides)
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
    full, tag = base_image_form(req.base_image, len(sources))
    values = Values(full, tag, req.index_url, sets, several=len(sources) > 1, lists=lists)
    folders: list[FolderPlan] = []
    warnings: list[str] = []
    details: list[str] = []
    with Clients() as clients:
        for image, old, new in stacks:
            folder, warning = _major_folder(config, req, image, new, values=values,
                                            clients=clients)
            folders.append(folder)
            warnings.extend(warning)
            where = f"-> {Path(folder.dst_rel).name}" if folder.is_new else "in place"
            details.append(f"{image.name} {where} ({describe_change(old, new)})")
    in_place = [folder.dst_rel for folder in folders if not folder.is_new]
    if req.retire and in_place:
        raise UsageError(f"--retire: {in_place[0]} is edited in place (its naming scheme gives "
                         "the same name for the new stack), so there is no old folder to retire; "
                         "leave --retire out")
    if "training_hub" in changes and req.align:
        from bumper.align import refuse_unaligned

        refuse_unaligned(folders, changes["training_hub"])
    removals = [image.rel for image in sources] if req.retire else []
    files, notes = companions.plan_edits(
        config, [folder.rewrite for folder in folders if folder.rewrite and folder.is_new],
        retire=req.retire)
    warnings.extend(notes)
    if len(folders) == 1:
        subject = f"major: {details[0]}"
    else:
        subject = (f"major: {describe_change(stacks[0][1], stacks[0][2])} "
                   f"({len(folders)} folders)")
    body = [line for detail, folder in zip(details, folders, strict=True)
            for line in (f"- {detail}", f"  {edits_line(folder)}")]
    body += [f"- {edit.summary}" for edit in files]
    body += [f"- retire {rel}" for rel in removals]
    return Plan("major", folders, subject, body, removals, warnings, files)


def _sources(config: Config, req: MajorRequest, changes: dict[str, str]) -> list[ImageDir]:
    from bumper import conventions

    all_images = (load_images(config, discover.image_dirs(config))
                  if config.images_root.is_dir() else [])
    if req.sources:
        picked = require_readable(load_images(config, discover.resolve(config, req.sources)),
                                  config)
        conventions.learn(config, picked + [i for i in all_images
                                            if i.path not in {p.path for p in picked}])
        return picked
    conventions.learn(config, all_images)
    if changes.keys() - {"cuda", "rocm"}:
        kinds = ["cuda", "rocm", "cpu"]
    else:
        kinds = ["cuda"] if "cuda" in changes else ["rocm"]
    picked = [img for kind in kinds if (img := newest(all_images, kind)) is not None]
    if not picked:
        raise UsageError(f"no {' or '.join(kinds)} folder with readable versions under "
                         f"{config.images_rel}/ (bumper check tells why)")
    return picked


def newest(images: list[ImageDir], kind: str) -> ImageDir | None:
    from packaging.version import Version

    def key(image: ImageDir) -> tuple[Version, ...]:
        s = image.stack
        assert s is not None
        return (Version(s.training_hub), Version(s.torch), Version(s.accel.version or "0"),
                Version(s.python))

    candidates = [i for i in images if i.stack and i.stack.accel.kind == kind]
    return max(candidates, key=key) if candidates else None


def _new_stack(stack: Stack, changes: dict[str, str]) -> Stack:
    accel = stack.accel
    if accel.kind in changes:  # --cuda for a CUDA folder, --rocm for a ROCm one
        accel = Accel(accel.kind, changes[accel.kind])
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


def _major_folder(config: Config, req: MajorRequest, image: ImageDir, new_stack: Stack, *,
                  values: Values, clients: Clients) -> tuple[FolderPlan, list[str]]:
    assert image.stack is not None
    name = check_folder_name(req.name or config.naming.render(new_stack), rendered=not req.name)
    in_place = name == image.name and image.path.parent == config.images_root
    dst = config.images_root / name
    dst_rel = image.rel if in_place else f"{config.images_rel}/{name}"
    if dst.exists() and not in_place:
        raise UsageError(f"{dst_rel}: already exists (remove it, or pass --name NEW_DIR_NAME)")
    index = index_for(image, values.index_url, new_stack.accel, values.several)
    if index is not None:
        segment_fits(index, new_stack.accel, major=True)
    rw = Rewrite(old=image.stack, new=new_stack, old_name=image.name, new_name=name,
                 old_index=image.index_url(), new_index=strip_userinfo(index) if index else None,
                 base_image=values.full, base_tag=values.tag,
                 **_renamed_texts(config, image, new_stack, name))
    scheme = config.scheme_for(image.name)
    sets = split_sets(image, values, index, clients, scheme.cve_fixes if scheme else "auto")
    old_files = text_files(image.path)
    new = file_edits(image, rw, sets.direct)
    notes = list_edits(image, new, sets, values, index=index, clients=clients)
    hashes = _adopt_scheme(config, image, name, new)
    if hashes is None:
        hashes = hash_policy(scheme)
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
                        index_url=index, relock=True, repins=sets.repins, before=None,
                        notes=notes,
                        leftovers=_leftovers(dst_rel, {**old_files, **new}, rw),
                        accepted=("name",) if chosen else (), hashes=hashes)
    return folder, warnings


def _adopt_scheme(config: Config, image: ImageDir, name: str, new: dict[str, str]) -> bool | None:
    """A new folder made from a folder of another scheme (a legacy one) takes the new
    scheme's downstream style and lock form: the Dockerfile moves to the DOWNSTREAM switch,
    the lock drops its hashes (and the install its --require-hashes), or the reverse for the
    hashes. Returns the lock form to write (None: the one the lock has)."""
    from bumper import conventions, downstream

    source, target = conventions.of(image, config).scheme, config.scheme_for(name)
    if target is None or target == source:
        return None
    text = new.get(DOCKERFILE, image.texts.get(DOCKERFILE, ""))
    if target.downstream == "switch" and text and not downstream.is_switch(text):
        text = downstream.convert(text, f"{image.rel}/{DOCKERFILE}")
    if target.hashes == "never":
        text = re.sub(r"[ \t]+--require-hashes(?=[ \t\\]|$)", "", text, flags=re.MULTILINE)
    if text != image.texts.get(DOCKERFILE, text):
        new[DOCKERFILE] = text
    return {"always": True, "never": False}.get(target.hashes)


def _renamed_texts(config: Config, image: ImageDir, new_stack: Stack,
                   name: str) -> dict[str, tuple[str, str]]:
    """[project] name and LABEL name rendered for the new stack by the repo's patterns (the
    new folder's scheme's, configured or learned), where the old text follows its pattern."""
    from bumper import conventions

    assert image.stack is not None
    old = conventions.of(image, config)
    target = config.scheme_for(name)
    new_project = (target.project_name if target else None) or old.project_name
    new_label = (target.label_name if target else None) or old.label_name
    out: dict[str, tuple[str, str]] = {}
    texts = {"project_name": (image.pyproject.name if image.pyproject else None,
                              old.project_name, new_project),
             "label_name": ((conventions.label_name(image) or (None, 0))[0], old.label_name,
                            new_label)}
    for key, (text, was, will) in texts.items():
        if text and was and will and was.render(image.stack, image.name) == text:
            out[key] = (text, will.render(new_stack, name))
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


def _base_image(text: str) -> str | None:
    """The default of the first ARG BASE_IMAGE of a Dockerfile."""
    arg = dockerfile_facts.read(text).args.get("BASE_IMAGE")
    return arg[0] if arg and arg[0] else None
