"""Minor bumps: base image, index URL, --set and --upgrade edit each folder in place
(no version of CUDA, ROCm, PyTorch, Training Hub or Python changes).
"""

from __future__ import annotations

from dataclasses import dataclass

from bumper import depplan, discover
from bumper.bump import (
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
)
from bumper.config import Config
from bumper.discover import ImageDir
from bumper.editors.tokens import Rewrite
from bumper.errors import UsageError
from bumper.plan import FolderPlan, Plan
from bumper.urls import strip_userinfo


@dataclass(frozen=True)
class MinorRequest:
    """`bumper minor`: the folders, and what changes in each of them."""

    dirs: tuple[str, ...] = ()
    base_image: str | None = None
    index_url: str | None = None
    sets: tuple[str, ...] = ()
    upgrade: bool = False
    adds: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()


def plan_minor(config: Config, req: MinorRequest) -> Plan:
    sets = check_sets(req.sets)
    lists = depplan.parse(req.adds, req.removes, req.overrides)
    if not (req.base_image or req.index_url or sets or req.upgrade or lists):
        raise UsageError("bumper minor needs a change: --base-image, --index-url, --set, "
                         "--add, --remove, --override or --upgrade")
    images = require_readable(load_images(config, discover.resolve(config, req.dirs)), config)
    full, tag = base_image_form(req.base_image, len(images))
    values = Values(full, tag, req.index_url, sets, several=len(images) > 1, lists=lists)
    folders: list[FolderPlan] = []
    details: list[str] = []
    with Clients() as clients:
        for image in images:
            folder = _minor_folder(config, image, req, values, clients)
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
            for line in (f"- {detail}", f"  {edits_line(folder)}")]
    return Plan("minor", folders, subject, body)


def _minor_folder(config: Config, image: ImageDir, req: MinorRequest, values: Values,
                  clients: Clients) -> FolderPlan | None:
    stack = image.stack
    assert stack is not None
    index = index_for(image, req.index_url, stack.accel, values.several)
    if index is not None and req.index_url is not None:
        segment_fits(index, stack.accel, major=False)
    public = strip_userinfo(index) if index else None
    scheme = config.scheme_for(image.name)
    sets = split_sets(image, values, index, clients, scheme.cve_fixes if scheme else "auto")
    rw = Rewrite(old=stack, new=stack, old_name=image.name, new_name=image.name,
                 old_index=image.index_url(), new_index=public, base_image=values.full,
                 base_tag=values.tag)
    new = file_edits(image, rw, sets.direct)
    notes = list_edits(image, new, sets, values, index=index, clients=clients)
    relock = bool(req.upgrade or sets.direct or sets.constraints or values.lists
                  or public != image.index_url())
    if not new and not relock and not sets.repins:
        return None
    return FolderPlan(src_rel=image.rel, dst_rel=image.rel, old=text_files(image.path), new=new,
                      rewrite=rw, index_url=index, relock=relock, upgrade=req.upgrade,
                      repins=sets.repins, before=None, notes=notes,
                      hashes=hash_policy(scheme))


def _minor_summary(folder: FolderPlan, req: MinorRequest, several: bool = False) -> str:
    parts = []
    if req.base_image:
        parts.append(f"base image -> {req.base_image}")
    rw = folder.rewrite
    if req.index_url and rw and rw.new_index != rw.old_index:
        parts.append(f"index URL -> {strip_userinfo(req.index_url) if several else rw.new_index}")
    parts += list(req.sets) + [f"+{r}" for r in req.adds] + [f"-{n}" for n in req.removes]
    parts += [f"override {r}" for r in req.overrides]
    if req.upgrade:
        parts.append("lock upgraded")
    return ", ".join(parts) or "no change"
