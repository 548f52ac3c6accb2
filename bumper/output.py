"""Printing results for people (text) and for programs (json, a stable shape)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bumper.discover import ImageDir
from bumper.findings import Finding

SCHEMA_VERSION = 1


def emit_json(payload: dict[str, object]) -> None:
    click.echo(json.dumps({"schema": SCHEMA_VERSION, **payload}, indent=2, sort_keys=True))


def finding_line(finding: Finding) -> str:
    """``path:line: CODE message (fix)``, ruff's shape; warnings say so."""
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path
    level = " warning:" if finding.severity == "warning" else ""
    return f"{where}: {finding.code}{level} {finding.message} ({finding.fix})"


def findings(fmt: str, images: Sequence[ImageDir], found: Sequence[Finding],
             verbose: int = 0) -> None:
    if fmt == "json":
        emit_json({"command": "check", "ok": not found,
                   "folders": [i.rel for i in images],
                   "findings": [f.as_dict() for f in found]})
        return
    for finding in found:
        click.echo(finding_line(finding))
        shown = finding.details if verbose else finding.details[:3]
        for item in shown:
            click.echo(f"    {item}")
        if len(finding.details) > len(shown):
            click.echo(f"    ... and {len(finding.details) - len(shown)} more (-v or "
                       "--format json lists them all)")
    noun = "folder" if len(images) == 1 else "folders"
    if found:
        click.echo(f"{len(found)} finding{'s' if len(found) != 1 else ''} "
                   f"({len(images)} {noun} checked)", err=True)
    else:
        click.echo(f"{len(images)} {noun} checked: no findings", err=True)


def init_report(inferred: Any, rendered: tuple[Path, str, str], *, dry_run: bool) -> None:
    """What `bumper init` inferred and why, the diff of the settings file; written unless
    --dry-run or the folders disagree (then nothing is written: exit 2)."""
    import difflib

    from bumper.errors import UsageError
    from bumper.fsutil import atomic_write

    for reason in inferred.reasons:
        click.echo(f"inferred {reason}")
    if inferred.disagreements:
        for item in inferred.disagreements:
            click.echo(f"disagreement: {item}", err=True)
        raise UsageError(f"init: the folders disagree on {len(inferred.disagreements)} "
                         "point(s) (listed above); align the folders, or write those settings "
                         "by hand; nothing was written")
    target, before, after = rendered
    name = target.name
    click.echo("".join(difflib.unified_diff(before.splitlines(keepends=True),
                                            after.splitlines(keepends=True),
                                            f"a/{name}", f"b/{name}")), nl=False)
    if before == after:
        click.echo(f"{name}: [tool.bumper] already says this")
    elif not dry_run:
        atomic_write(target, after)
        click.echo(f"{name}: [tool.bumper] written (review the diff above, then commit)")


def lock_results(fmt: str, results: Sequence[object], check_only: bool) -> None:
    from bumper.discover import LOCK as LOCK_FILE
    from bumper.locking import LockResult

    rows = [r for r in results if isinstance(r, LockResult)]
    if fmt == "json":
        emit_json({"command": "lock", "check": check_only,
                   "ok": not (check_only and any(r.changed for r in rows)),
                   "folders": [{"path": r.rel, "changed": r.changed,
                                **({"lock": r.lock} if r.lock != LOCK_FILE else {})}
                               for r in rows]})
        return
    for row in rows:
        if check_only and row.changed:
            click.echo(f"{row.rel}/{row.lock}: out of date (run: bumper lock {row.rel})")
            click.echo(row.diff, nl=False)
        elif not check_only:
            state = "updated" if row.changed else "unchanged"
            click.echo(f"{row.rel}/{row.lock}: {state}")
    if check_only and not any(r.changed for r in rows):
        click.echo(f"{len(rows)} lock{'s' if len(rows) != 1 else ''} up to date", err=True)


def plan_payload(plan: Any, *, dry_run: bool, applied: Any) -> dict[str, object]:
    return {
        "command": plan.kind,
        "dry_run": dry_run,
        "subject": plan.subject,
        "folders": [{"from": "template" if Path(f.src_rel).is_absolute() else f.src_rel,
                     "to": f.dst_rel, "new": f.is_new,
                     "files_changed": sorted(f.new), "relock": f.relock,
                     "repins": [f"{p.name}=={p.version}" for p in f.repins]}
                    for f in plan.folders],
        "removed": list(plan.removals),
        "companions": [{"path": edit.rel, "action": edit.action, "from": edit.src}
                       for edit in plan.files],
        "leftovers": [{"path": item.path, "line": item.line, "text": item.text}
                      for item in plan.leftovers],
        "warnings": list(plan.warnings),
        "commit": applied.commit if applied is not None else None,
    }


def colorize_diff(text: str, color: bool) -> str:
    if not color:
        return text
    styles = (("+++", {"bold": True}), ("---", {"bold": True}), ("+", {"fg": "green"}),
              ("-", {"fg": "red"}), ("@@", {"fg": "cyan"}))
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        style = next((kw for prefix, kw in styles if body.startswith(prefix)), None)
        out.append((click.style(body, **style) if style else body) + line[len(body):])
    return "".join(out)


def template_results(fmt: str, results: Sequence[Any]) -> None:
    if fmt == "json":
        emit_json({"command": "template-update", "ok": not any(r.conflicts for r in results),
                   "folders": [{"path": r.rel, "state": r.state, "conflicts": list(r.conflicts)}
                               for r in results]})
        return
    for result in results:
        click.echo(f"{result.rel}: {result.state}")
        for path in result.conflicts:
            click.echo(f"{path}: conflict (resolve the markers or the .rej file, then commit)")
