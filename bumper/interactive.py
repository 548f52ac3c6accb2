"""`bumper` alone on a terminal: ask what changes, explain the decision, confirm, apply.

Prompts go through questionary (imported only here). Ctrl-C at any prompt
raises KeyboardInterrupt before anything is written; the CLI exits 130.
"""

from __future__ import annotations

from typing import Any

import click

from bumper import bump, discover
from bumper.config import Config
from bumper.discover import ImageDir
from bumper.errors import UsageError
from bumper.model import Stack

CHANGES = [
    ("cuda", "CUDA version"),
    ("rocm", "ROCm version"),
    ("torch", "PyTorch version"),
    ("training_hub", "Training Hub version"),
    ("python", "Python version"),
    ("base_image", "base image"),
    ("index_url", "index URL"),
    ("sets", "packages (CVE fixes, constraints)"),
    ("upgrade", "lock refresh only (newest allowed versions)"),
]
MAJOR_KEYS = ("cuda", "rocm", "torch", "training_hub", "python")


def _current(stack: Stack, key: str) -> str:
    return {"cuda": stack.accel.version if stack.accel.kind == "cuda" else "",
            "rocm": stack.accel.version if stack.accel.kind == "rocm" else "",
            "torch": stack.torch, "training_hub": stack.training_hub,
            "python": stack.python}.get(key) or ""


def _validator(key: str) -> Any:
    def check(text: str) -> bool | str:
        try:
            bump.validate_version(key, text.strip())
        except UsageError as exc:
            return exc.message
        return True

    return check


def _requirements_ok(text: str) -> bool | str:
    from packaging.requirements import InvalidRequirement, Requirement

    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        return "give at least one requirement, e.g. starlette~=1.3.1"
    for item in items:
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            return f"{item}: not a PEP 508 requirement ({exc})"
    return True


def _pick_folders(q: Any, images: list[ImageDir]) -> list[ImageDir]:
    newest = {bump_newest.rel for kind in ("cuda", "rocm", "cpu")
              if (bump_newest := bump.newest(images, kind)) is not None}
    choices = [q.Choice(f"{i.name}  ({i.stack.describe()})", value=i.rel,
                        checked=i.rel in newest) for i in images if i.stack]
    picked = q.checkbox("Which folders?", choices=choices,
                        validate=lambda v: bool(v) or "pick at least one folder").unsafe_ask()
    return [i for i in images if i.rel in picked]


def _ask_values(q: Any, keys: list[str], stack: Stack) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in keys:
        label = dict(CHANGES)[key]
        if key in MAJOR_KEYS:
            values[key] = q.text(f"New {label}:", default=_current(stack, key),
                                 validate=_validator(key)).unsafe_ask().strip()
        elif key == "base_image":
            values[key] = q.text("New base image (full reference, or :TAG for each folder's "
                                 "own):", validate=lambda t: bool(t.strip()) or "required"
                                 ).unsafe_ask().strip()
        elif key == "index_url":
            values[key] = q.text("New index URL ({accel} = cuda13.0, rocm6.4, cpu):",
                                 validate=lambda t: t.startswith(("https://", "http://"))
                                 or "an http(s) URL").unsafe_ask().strip()
        elif key == "sets":
            text = q.text("Requirements, comma separated (e.g. starlette~=1.3.1):",
                          validate=_requirements_ok).unsafe_ask()
            values[key] = tuple(t.strip() for t in text.split(",") if t.strip())
        elif key == "upgrade":
            values[key] = True
    return values


def _decision(config: Config, folders: list[ImageDir], values: dict[str, Any]) -> tuple[str, Any]:
    majors = {k: v for k, v in values.items() if k in MAJOR_KEYS}
    if majors:
        applies = [f for f in folders if f.stack and _affected(f.stack, majors)]
        if not applies:
            raise UsageError("none of the chosen folders has the accelerator that changes")
        request = bump.MajorRequest(**majors, sources=tuple(f.rel for f in applies),
                                    base_image=values.get("base_image"),
                                    index_url=values.get("index_url"),
                                    sets=values.get("sets", ()))
        return "major", bump.plan_major(config, request)
    request = bump.MinorRequest(dirs=tuple(f.rel for f in folders),
                                base_image=values.get("base_image"),
                                index_url=values.get("index_url"), sets=values.get("sets", ()),
                                upgrade=bool(values.get("upgrade")))
    return "minor", bump.plan_minor(config, request)


def _affected(stack: Stack, majors: dict[str, str]) -> bool:
    if stack.accel.kind in ("cuda", "rocm") and stack.accel.kind in majors:
        return True
    return bool(set(majors) - {"cuda", "rocm"})


def explain(kind: str, plan: Any) -> list[str]:
    """The decision in words, one line per folder."""
    lines = []
    for folder in plan.folders:
        rw = folder.rewrite
        if kind == "major" and rw is not None:
            what = bump.describe_change(rw.old, rw.new)
            lines.append(f"major bump: {what} changes the folder name, "
                         f"{rw.old_name} -> {rw.new_name}")
        else:
            lines.append(f"minor update: {folder.dst_rel} is edited in place (no version of "
                         "CUDA, ROCm, PyTorch, Training Hub or Python changes)")
    return lines


def run(ctx: Any) -> None:
    import questionary as q

    from bumper import plan as plans
    from bumper.output import colorize_diff

    config: Config = ctx.config()
    images = [discover.load(config, p) for p in discover.image_dirs(config)]
    folders = _pick_folders(q, images)
    keys = q.checkbox("What changes?", choices=[q.Choice(label, value=key)
                                                for key, label in CHANGES],
                      validate=lambda v: bool(v) or "pick at least one change").unsafe_ask()
    stack = next(f.stack for f in folders if f.stack)
    values = _ask_values(q, keys, stack)
    kind, plan = _decision(config, folders, values)
    for line in explain(kind, plan):
        click.echo(line)
    click.echo(plan.subject)
    for warning in plan.warnings:
        click.echo(f"warning: {warning}")
    click.echo("leftovers: " + ("none" if not plan.leftovers else ""))
    for item in plan.leftovers:
        click.echo(f"  {item}")
    if q.confirm("Show the full diff?", default=False).unsafe_ask():
        click.echo(colorize_diff(plans.render(plan), ctx.color), nl=False)
    if not q.confirm("Apply this plan?", default=True).unsafe_ask():
        click.echo("nothing written")
        return
    plan.subject = q.text("Commit message:", default=plan.subject).unsafe_ask().strip() \
        or plan.subject
    applied = plans.apply(plan, config, lock=True, commit=True)
    click.echo(f"committed {applied.commit[:12] if applied.commit else ''}: {plan.subject}")
