"""`bumper new`: render a folder from the Copier template, then lock, check and
commit it like a major bump; and `bumper template-update` for existing folders.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bumper.config import Config
from bumper.editors.tokens import Rewrite
from bumper.errors import UsageError
from bumper.model import Accel, Stack, check_folder_name
from bumper.plan import FolderPlan, Plan
from bumper.urls import IndexUrl

FLAVORS = ("cuda", "rocm", "cpu")
TEMPLATE_PATHS = ["copier.yml", "template"]
LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?/[^\s?#@]*$")
HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/[^\s?#@]*$")


@dataclass(frozen=True)
class NewRequest:
    flavor: str
    cuda: str | None = None
    rocm: str | None = None
    torch: str = ""
    training_hub: str = ""
    python: str = "3.12"
    base_image: str | None = None
    index_url: str | None = None
    name: str | None = None


def validate_index_url(url: str) -> None:
    """https anywhere, or http on a loopback address (tests, local mirrors); no '..'.

    The same rules as the template's validator, checked first for a one-line message
    that names the flag."""
    public = IndexUrl.parse(url).public
    if ".." in public or "%2e" in public.lower():
        raise UsageError(f"--index-url {public}: must not contain '..' (nor a percent-encoded "
                         "dot); give the index root itself")
    if public.startswith("http://") and not LOOPBACK.match(public):
        raise UsageError(f"--index-url {public}: plain http is only for a loopback address "
                         "(127.0.0.1, localhost, [::1]); use https")
    if not (HTTPS.match(public) or LOOPBACK.match(public)):
        raise UsageError(f"--index-url {public}: must be an https URL of the form "
                         "https://host[:port]/path/ (no spaces, no query)")
    if not public.endswith("/"):
        raise UsageError(f"--index-url {public}: must end with / (the simple index root)")


def _stack(req: NewRequest) -> Stack:
    from bumper.bump import validate_version

    if req.flavor not in FLAVORS:
        raise UsageError(f"--flavor {req.flavor}: not a flavor (choose cuda, rocm or cpu)")
    needs = {"cuda": req.cuda, "rocm": req.rocm}
    for kind, value in needs.items():
        if req.flavor == kind and value is None:
            raise UsageError(f"--flavor {kind} needs --{kind} VERSION")
        if req.flavor != kind and value is not None:
            raise UsageError(f"--{kind} {value}: only for --flavor {kind}")
    if not req.torch or not req.training_hub:
        raise UsageError("bumper new needs --torch VERSION and --training-hub VERSION")
    version = None
    if req.flavor != "cpu":
        version = validate_version(req.flavor, needs[req.flavor] or "")
        if req.flavor == "rocm" and version.count(".") != 2:
            raise UsageError(f"--rocm {version}: give the full ROCm version, e.g. 6.4.3")
    return Stack(training_hub=validate_version("training_hub", req.training_hub),
                 accel=Accel(req.flavor, version), torch=validate_version("torch", req.torch),
                 python=validate_version("python", req.python))


def _data(req: NewRequest, stack: Stack) -> dict[str, str]:
    data = {"flavor": req.flavor, "torch_version": stack.torch,
            "training_hub_version": stack.training_hub, "python_version": stack.python}
    if stack.accel.kind != "cpu":
        data[f"{stack.accel.kind}_version"] = stack.accel.version or ""
    if req.base_image:
        data["base_image"] = req.base_image
    if req.index_url:
        validate_index_url(req.index_url)
        data["index_url"] = IndexUrl.parse(req.index_url).public
    return data


def plan_new(config: Config, req: NewRequest, scratch: Path) -> Plan:
    """Render into ``scratch`` and plan moving the result into the images folder."""
    from bumper import template
    from bumper.git import Git, head_sha

    stack = _stack(req)
    data = _data(req, stack)  # every answer is checked before anything else
    name = check_folder_name(req.name or config.naming.render(stack), rendered=not req.name)
    dst_rel = f"{config.images_rel}/{name}"
    if (config.images_root / name).exists():
        raise UsageError(f"{dst_rel}: already exists (use bumper major or minor on it)")
    rendered = scratch / name
    head = head_sha(config.repo)
    template.render(config.repo, rendered, data, head)
    warnings = []
    dirty = Git(config.repo).dirty(TEMPLATE_PATHS)
    if dirty:
        warnings.append(f"{dirty[0]}: uncommitted template change, not used: the folder is "
                        f"rendered from the committed template ({head[:12]}); commit it first "
                        "to use it")
    files = {p.relative_to(rendered).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(rendered.rglob("*")) if p.is_file()}
    public = template.answers(rendered).get("index_url")
    rw = Rewrite(old=stack, new=stack, old_name=name, new_name=name)
    folder = FolderPlan(src_rel=str(rendered), dst_rel=dst_rel, old={}, new=files, rewrite=rw,
                        index_url=req.index_url or public, relock=True)
    return Plan("new", [folder], f"new: {name} ({stack.describe()})",
                [f"- rendered by the Copier template ({len(files)} files)"], warnings=warnings)


def render_files(plan: Plan) -> str:
    """A dry run of `new`: every file it would create, as a diff from nothing."""
    out = []
    for folder in plan.folders:
        out.append(f"new folder {folder.dst_rel} (rendered by the template)\n")
        for name, text in sorted(folder.new.items()):
            out.extend(difflib.unified_diff([], text.splitlines(keepends=True), "/dev/null",
                                            f"b/{folder.dst_rel}/{name}"))
        out.append(f"  lock {folder.dst_rel}/requirements.txt with uv\n")
    out.extend(f"warning: {warning}\n" for warning in plan.warnings)
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bumper-new-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- template-update -----------------------------------------------------------------


@dataclass(frozen=True)
class Updated:
    rel: str
    state: str  # "up to date", "updated", "conflicts"
    conflicts: tuple[str, ...] = ()


def template_update(config: Config, paths: list[Path], *, explicit: bool = True
                    ) -> list[Updated]:
    """`copier update` for each folder whose template changed since it was rendered.

    Every folder is checked first (answers file, recorded commit, clean tree), so a
    refusal leaves nothing half done; a conflict in one folder does not stop the others.
    ``explicit=False`` (no folder named) skips folders the template did not make.
    """
    from bumper import template
    from bumper.git import Git, changed_between, head_sha

    head = head_sha(config.repo)
    git = Git(config.repo)
    stuck = template.unmerged(config.repo)
    if stuck:
        first = stuck[0].split("\t", 1)[1]
        raise UsageError(f"{first}: has an unresolved conflict; resolve it (then git add) before "
                         "a template update")
    results: list[Updated] = []
    todo: list[tuple[Path, str]] = []
    for path in paths:
        try:
            rel = path.relative_to(config.repo).as_posix()
        except ValueError:
            raise UsageError(f"{path}: not inside the repository {config.repo}") from None
        recorded = template.recorded_commit(path)
        if recorded is None:
            if not explicit:
                results.append(Updated(rel, "skipped (no .copier-answers.yml)"))
                continue
            raise UsageError(f"{rel}: no .copier-answers.yml (not made by the template)")
        try:
            changed = changed_between(config.repo, recorded, head, TEMPLATE_PATHS)
        except UsageError as exc:
            raise UsageError(f"{rel}: {exc.message}") from exc
        if not changed:
            results.append(Updated(rel, "up to date"))
            continue
        dirty = git.dirty([rel])
        if dirty:
            raise UsageError(f"{dirty[0]}: has uncommitted changes; commit them before a "
                             "template update")
        todo.append((path, rel))
    with template.updater(config.repo) as up:
        for path, rel in todo:
            found = up.update(path, head)
            state = "conflicts" if found else "updated"
            conflicts = tuple(Path(f).relative_to(config.repo).as_posix() for f in found)
            results.append(Updated(rel, state, conflicts))
    order = {path.relative_to(config.repo).as_posix(): i for i, path in enumerate(paths)}
    return sorted(results, key=lambda r: order[r.rel])
