"""Show a plan, confirm, apply it, and report: the part of a bump that talks to the user."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from bumper import output
from bumper.apply import Applied, apply
from bumper.apply import exclusive as apply_exclusive
from bumper.config import Config
from bumper.git import detached
from bumper.plan import Plan, render
from bumper.signals import Deferred


def _summary(plan: Plan) -> list[str]:
    lines = [plan.subject]
    lines += [f"  {d}" for d in plan.details if d]
    return lines


def run(ctx: Any, config: Config, plan: Plan, *, lock: bool, commit: bool, dry_run: bool,
        yes: bool) -> None:
    json_out = ctx.format == "json"
    if not plan.folders or dry_run:
        _show(ctx, plan, lock, dry_run=dry_run)
        return
    if not json_out:
        for line in _summary(plan):
            click.echo(line)
    if not yes and sys.stdin.isatty() and not json_out and not click.confirm(
            "Apply this plan?", default=True):
        click.echo("nothing written", err=True)
        return
    warn_detached(config, commit)
    deferred = Deferred()  # from the swap until the commit is reported: never cut between
    try:
        applied = apply(plan, config, lock=lock, commit=commit, deferred=deferred)
        if json_out:
            output.emit_json(output.plan_payload(plan, dry_run=False, applied=applied))
        else:
            _tell(plan, lock)
            _report(plan, applied)
    finally:
        held = deferred.stop()
    if held:
        click.echo("warning: interrupt received while the result was being put in place and "
                   "reported; it was finished rather than left half done", err=True)


@contextmanager
def exclusive(config: Config, dry_run: bool) -> Iterator[None]:
    """One bump at a time in a repository, from planning to the report, after clearing what
    a killed bump left (said on stderr). A dry run writes nothing: it takes neither."""
    if dry_run:
        yield
        return
    with apply_exclusive(config, notify=lambda note: click.echo(f"note: {note}", err=True)):
        yield


def warn_detached(config: Config, commit: bool) -> None:
    """A commit on a detached HEAD is on no branch: say so, and how to keep it."""
    if commit and detached(config.repo):
        click.echo("warning: HEAD is detached: the commit will be on no branch (keep it with "
                   "git switch -c NAME afterwards)", err=True)


def _show(ctx: Any, plan: Plan, lock: bool, *, dry_run: bool) -> None:
    """Nothing to apply (an empty plan) or nothing to write (a dry run)."""
    if ctx.format == "json":
        output.emit_json(output.plan_payload(plan, dry_run=dry_run, applied=None))
    elif not plan.folders:
        click.echo("nothing to do: every folder already has these values", err=True)
    else:
        click.echo(output.colorize_diff(render(plan), ctx.color), nl=False)
        _tell(plan, lock)


def _report(plan: Plan, applied: Applied) -> None:
    for finding in applied.carried:
        click.echo(f"warning: drift carried over from before: {finding}", err=True)
    for finding in applied.accepted:
        click.echo(f"warning: as asked: {finding}", err=True)
    for finding in applied.flagged:
        click.echo(f"warning: a leftover to fix by hand: {finding}", err=True)
    if applied.unchanged:
        click.echo("nothing to do: the result is what the folders already have (nothing "
                   "written)")
    elif applied.commit:
        click.echo(f"committed {applied.commit[:12]}: {plan.subject}")
    else:
        click.echo("changes left in the tree (not committed)")


def _tell(plan: Plan, lock: bool) -> None:
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if plan.leftovers:
        click.echo("leftovers to review (old version tokens the bump did not rewrite):")
        for item in plan.leftovers:
            click.echo(f"  {item}")
    else:
        click.echo("leftovers: none")
    if not lock:
        for folder in plan.folders:
            if folder.relock:
                click.echo(f"lock not regenerated: run bumper lock {folder.dst_rel}", err=True)
