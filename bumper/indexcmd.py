"""`bumper index versions|missing` and `bumper align`: queries and their output."""

from __future__ import annotations

from typing import Any

import click
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from bumper import discover
from bumper.errors import UsageError
from bumper.formats.requirements import canonical
from bumper.urls import strip_userinfo, with_env_credentials


def _indexes(ctx: Any, image_dir: str | None, index_url: str | None) -> list[str]:
    if image_dir and index_url:
        raise UsageError("pass --image DIR or --index-url URL, not both")
    if index_url:
        return [index_url]
    config = ctx.config()
    images = [discover.load(config, p) for p in discover.resolve(
        config, (image_dir,) if image_dir else ())]
    urls = [u for u in dict.fromkeys(i.index_url() for i in images) if u]
    if not urls:
        raise UsageError("no index URL found in the image folders; pass --index-url URL")
    return urls


def _spec(spec: str | None, package: str) -> SpecifierSet | None:
    """--spec as a specifier (``~=1.3.1``) or a requirement (``starlette~=1.3.1``)."""
    if not spec:
        return None
    try:
        return SpecifierSet(spec)
    except InvalidSpecifier:
        pass
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        req = None
    if req is None or canonical(req.name) != canonical(package):
        raise UsageError(f"--spec {spec}: not a version specifier such as ~=1.3.1")
    return req.specifier


def versions(ctx: Any, package: str, image_dir: str | None, index_url: str | None,
             spec: str | None) -> None:
    from bumper import output
    from bumper.align import concurrently
    from bumper.index import IndexClient, sorted_versions

    wanted = _spec(spec, package)
    urls = _indexes(ctx, image_dir, index_url)

    def query(url: str) -> list[str]:
        with IndexClient(with_env_credentials(url)) as client:
            return sorted_versions(list(client.versions(package)))

    results = concurrently(query, urls)
    rows: list[dict[str, Any]] = [
        {"index": strip_userinfo(url),
         "versions": [{"version": v, "matches": wanted is not None and wanted.contains(v, True)}
                      for v in found]}
        for url, found in zip(urls, results, strict=True)]
    if ctx.format == "json":
        output.emit_json({"command": "index versions", "package": package, "spec": spec,
                          "indexes": rows})
        return
    for row in rows:
        found = row["versions"]
        count = f"{len(found)} version{'s' if len(found) != 1 else ''}" if found else "no versions"
        click.echo(f"{package} on {row['index']}: {count}")
        for item in found:
            mark = f"  * matches {spec}" if item["matches"] else ""
            click.echo(f"  {item['version']}{mark}")


def missing(ctx: Any, dirs: tuple[str, ...]) -> int:
    from bumper import align, output

    config = ctx.config()
    images = [discover.load(config, p) for p in discover.resolve(config, dirs)]
    found = align.missing(images, config.locks)
    if ctx.format == "json":
        output.emit_json({"command": "index missing", "ok": not found,
                          "folders": [i.rel for i in images],
                          "missing": [{"index": m.index, "name": m.name, "version": m.version,
                                       "reason": m.reason, "folder": m.folder} for m in found]})
        return 1 if found else 0
    if not found:
        pins = sum(len(i.lock.pins) for i in images if i.lock)
        click.echo(f"all {pins} pins of {len(images)} lock{'s' if len(images) != 1 else ''} "
                   "are on their index", err=True)
        return 0
    by_index: dict[str, list[align.Missing]] = {}
    for item in found:
        by_index.setdefault(item.index, []).append(item)
    for index, items in by_index.items():
        click.echo(f"Please add to {index}:")
        for request in sorted(dict.fromkeys(i.request() for i in items), key=canonical):
            reasons = sorted({f"{i.reason} ({i.folder})" for i in items if i.request() == request})
            click.echo(f"  {request}    # {'; '.join(reasons)}")
    return 1


def align(ctx: Any, dirs: tuple[str, ...], target: str | None, extras: str | None) -> int:
    """Every folder's report, even when one fails; the exit code is the worst one."""
    from bumper import align as alignment

    config = ctx.config()
    if target is None:
        if extras is not None:
            raise UsageError("--extras goes with --training-hub VERSION (the extras of a "
                             "pinned Training Hub are the pin's own)")
        images = [discover.load(config, p) for p in discover.resolve(config, dirs)]
        subjects = [alignment.subject_of(image) for image in images]
    else:
        subjects = alignment.target_subjects(config, dirs, target, extras)
    reports = alignment.check_all(subjects)
    if ctx.format == "json":
        _align_json(reports, target)
    else:
        _align_text(reports, target)
    return max(report.code for report in reports) if reports else 0


def _changes(report: Any) -> None:
    """What the resolution moves in each lock of the folder."""
    for name, change in [("requirements.txt", c) for c in report.changes] + report.lock_changes:
        click.echo(f"{report.folder}/{name}: {change} (with {report.label()})")


def _align_text(reports: list[Any], target: str | None) -> None:
    """Findings on stdout (by folder, then line), then the request list; the summary and
    the errors on stderr."""
    for report in reports:
        for found in sorted([*report.found, *report.floors], key=lambda c: c.line):
            click.echo(str(found))
        if target is not None and report.resolved:
            _changes(report)
    requests: dict[str, list[tuple[str, str]]] = {}
    for report in reports:
        for request in report.requests:
            requests.setdefault(report.indexes[0], []).append((request, report.folder))
    for index, items in requests.items():
        click.echo(f"Please add to {index}:")
        for request in dict.fromkeys(r for r, _ in items):
            folders = ", ".join(dict.fromkeys(f for r, f in items if r == request))
            click.echo(f"  {request}    # for training-hub ({folders})")
    for report in reports:
        if report.error is not None:
            click.echo(f"bumper: error: {report.error.message}", err=True)
        elif report.resolved:
            click.echo(report.line(), err=True)
        else:
            count = len(report.found)
            click.echo(f"{report.folder}: {report.label()} does not resolve with the image "
                       f"({count} finding{'s' if count != 1 else ''})", err=True)


def _align_json(reports: list[Any], target: str | None) -> None:
    from bumper import output

    output.emit_json({
        "command": "align", "ok": all(r.code == 0 for r in reports), "target": target,
        "folders": [{
            "path": r.folder, "training_hub": r.training_hub, "extras": r.extras,
            "python": r.python, "indexes": r.indexes, "resolved": r.resolved,
            "error": r.error.message if r.error else None,
            "conflicts": [_conflict_json(c) for c in r.found],
            "floors": [_conflict_json(c) for c in r.floors],
            "changes": [{"name": c.name, "from": c.old, "to": c.new} for c in r.changes],
            "requests": r.requests,
        } for r in reports]})


def _conflict_json(c: Any) -> dict[str, Any]:
    return {"line": c.line, "requirement": c.requirement, "message": c.message, "kind": c.kind,
            "uv": list(c.uv)}
