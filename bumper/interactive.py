"""`bumper` alone on a terminal: ask what changes, explain the decision, confirm, apply.

Prompts go through questionary (imported only here). Every value is checked as
it is typed, with the reason shown at the prompt. Ctrl-C (or Ctrl-D) at any
prompt raises KeyboardInterrupt before anything is written; the CLI exits 130.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import click

from bumper import bump, discover, major, minor
from bumper.config import Config
from bumper.discover import ImageDir
from bumper.errors import UsageError

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
ACCEL_KEYS = ("cuda", "rocm")
Validator = Callable[[str], "bool | str"]


def _reason(exc: UsageError) -> str:
    """A core message without the flag it names: at a prompt nobody typed ``--torch``."""
    return re.sub(r"^--[a-z-]+ ", "", exc.message)


def _current(image: ImageDir, key: str) -> str | None:
    stack = image.stack
    if stack is None:
        return None
    if key in ACCEL_KEYS:
        return stack.accel.version if stack.accel.kind == key else None
    value = getattr(stack, key)
    return str(value) if value else None


def _applies(image: ImageDir, key: str) -> bool:
    """A CUDA or ROCm change only touches folders of that accelerator; the rest touch all."""
    return image.stack is not None and (key not in ACCEL_KEYS or image.stack.accel.kind == key)


def _version_check(key: str, folders: Sequence[ImageDir]) -> Validator:
    def check(text: str) -> bool | str:
        value = text.strip()
        try:
            bump.validate_version(key, value)
        except UsageError as exc:
            return _reason(exc)
        same = [f.name for f in folders if _applies(f, key) and _current(f, key) == value]
        if same:
            label = bump.LABELS[key]
            return f"{same[0]} already has {label} {value}: type the new version"
        return True

    return check


def _base_image_check(count: int) -> Validator:
    def check(text: str) -> bool | str:
        if not text.strip():
            return "type a full reference (registry/name:tag) or :TAG"
        try:
            bump.base_image_form(text.strip(), count)  # the CLI's own rule
        except UsageError as exc:
            return _reason(exc)
        return True

    return check


def _index_url_check(count: int) -> Validator:
    def check(text: str) -> bool | str:
        url = text.strip()
        if count > 1 and "{accel}" not in url:
            return ("one URL cannot fit several folders: write {accel} where the accelerator "
                    "goes (cuda13.0, rocm6.4, cpu)")
        if not re.match(r"^https?://[^\s/]+/\S*$", url.replace("{accel}", "cpu")):
            return "not an http(s) URL"
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


def _changes_check(folders: Sequence[ImageDir]) -> Callable[[list[str]], bool | str]:
    kinds = {f.stack.accel.kind for f in folders if f.stack}

    def check(keys: list[str]) -> bool | str:
        if not keys:
            return "pick at least one change"
        if set(ACCEL_KEYS) <= set(keys):
            return ("CUDA and ROCm change different folders: pick one, run bumper again "
                    "for the other")
        for key in ACCEL_KEYS:
            if key in keys and key not in kinds:
                return f"none of the chosen folders is a {bump.LABELS[key]} folder"
        return True

    return check


def _pick_folders(q: Any, images: list[ImageDir]) -> list[ImageDir]:
    newest = {n.rel for kind in ("cuda", "rocm", "cpu")
              if (n := major.newest(images, kind)) is not None}
    choices = [q.Choice(f"{i.name}  ({i.stack.describe()})", value=i.rel,
                        checked=i.rel in newest) for i in images if i.stack]
    if not choices:
        raise UsageError("no image folders with readable versions found (run: bumper check)")
    picked = q.checkbox("Which folders?", choices=choices,
                        validate=lambda v: bool(v) or "pick at least one folder").unsafe_ask()
    return [i for i in images if i.rel in picked]


def _ask_values(q: Any, keys: list[str], folders: list[ImageDir]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in keys:
        if key in MAJOR_KEYS:
            default = next((c for f in folders if (c := _current(f, key))), "")
            values[key] = q.text(f"New {dict(CHANGES)[key]}:", default=default,
                                 validate=_version_check(key, folders)).unsafe_ask().strip()
        elif key == "base_image":
            values[key] = q.text("New base image (full reference, or :TAG for each folder's "
                                 "own):", validate=_base_image_check(len(folders))
                                 ).unsafe_ask().strip()
        elif key == "index_url":
            values[key] = q.text("New index URL ({accel} = cuda13.0, rocm6.4, cpu):",
                                 validate=_index_url_check(len(folders))).unsafe_ask().strip()
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
        applies = [f for f in folders if any(_applies(f, k) for k in majors)]
        if not applies:
            raise UsageError("none of the chosen folders has the accelerator that changes")
        major_request = major.MajorRequest(**majors, sources=tuple(f.rel for f in applies),
                                           base_image=values.get("base_image"),
                                           index_url=values.get("index_url"),
                                           sets=values.get("sets", ()))
        return "major", major.plan_major(config, major_request)
    minor_request = minor.MinorRequest(dirs=tuple(f.rel for f in folders),
                                       base_image=values.get("base_image"),
                                       index_url=values.get("index_url"),
                                       sets=values.get("sets", ()),
                                       upgrade=bool(values.get("upgrade")))
    return "minor", minor.plan_minor(config, minor_request)


def explain(kind: str, plan: Any) -> list[str]:
    """The decision in words, one line per folder."""
    lines = []
    for folder in plan.folders:
        rw = folder.rewrite
        if kind == "major" and rw is not None:
            what = major.describe_change(rw.old, rw.new)
            lines.append(f"major bump: {what} changes the folder name, "
                         f"{rw.old_name} -> {rw.new_name}")
        else:
            lines.append(f"minor update: {folder.dst_rel} is edited in place (no version of "
                         "CUDA, ROCm, PyTorch, Training Hub or Python changes)")
    return lines


def _summary(plan: Any) -> None:
    click.echo(plan.subject)
    for detail in plan.details:
        if detail:
            click.echo(f"  {detail}")
    for warning in plan.warnings:
        click.echo(f"warning: {warning}")
    if not plan.leftovers:
        click.echo("leftovers: none")
        return
    click.echo("leftovers to review (old version tokens the bump did not rewrite):")
    for item in plan.leftovers:
        click.echo(f"  {item}")


def _report(subject: str, applied: Any) -> None:
    for finding in applied.carried:
        click.echo(f"warning: drift carried over from before: {finding}", err=True)
    for finding in applied.flagged:
        click.echo(f"warning: a leftover to fix by hand: {finding}", err=True)
    if applied.unchanged:
        click.echo("nothing to do: the result is what the folders already have (nothing written)")
    elif applied.commit:
        click.echo(f"committed {applied.commit[:12]}: {subject}")
    else:
        click.echo("changes left in the tree (not committed)")


def _ask(q: Any, config: Config) -> tuple[str, Any]:
    images = [discover.load(config, p) for p in discover.image_dirs(config)]
    folders = _pick_folders(q, images)
    keys = q.checkbox("What changes?", choices=[q.Choice(label, value=key)
                                                for key, label in CHANGES],
                      validate=_changes_check(folders)).unsafe_ask()
    return _decision(config, folders, _ask_values(q, keys, folders))


def run(ctx: Any) -> None:
    import questionary as q

    from bumper.apply import apply
    from bumper.output import colorize_diff
    from bumper.plan import render

    config: Config = ctx.config()
    try:
        kind, plan = _ask(q, config)
        for line in explain(kind, plan):
            click.echo(line)
        if not plan.folders:
            click.echo("nothing to do: every folder already has these values")
            return
        _summary(plan)
        if q.confirm("Show the full diff?", default=False).unsafe_ask():
            click.echo(colorize_diff(render(plan), ctx.color), nl=False)
        if not q.confirm("Apply this plan?", default=True).unsafe_ask():
            click.echo("nothing written")
            return
        subject = q.text("Commit message:", default=plan.subject).unsafe_ask().strip()
    except EOFError:  # Ctrl-D at a prompt: the same as Ctrl-C, nothing written
        raise KeyboardInterrupt from None
    plan.subject = subject or plan.subject
    _report(plan.subject, apply(plan, config, lock=True, commit=True))
