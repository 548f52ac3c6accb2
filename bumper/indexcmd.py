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
    found = align.missing(images)
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


def align(ctx: Any, dirs: tuple[str, ...]) -> int:
    from bumper import align as alignment
    from bumper import output

    config = ctx.config()
    images = [discover.load(config, p) for p in discover.resolve(config, dirs)]
    reports = [(image, *report) for image, report in
               zip(images, alignment.concurrently(alignment.align, images), strict=True)]
    conflicts = [c for _, _, found in reports for c in found]
    if ctx.format == "json":
        output.emit_json({"command": "align", "ok": not conflicts,
                          "folders": [{"path": image.rel, "training_hub": version,
                                       "conflicts": [{"line": c.line, "requirement": c.requirement,
                                                      "message": c.message} for c in found]}
                                      for image, version, found in reports]})
        return 1 if conflicts else 0
    for conflict in conflicts:
        click.echo(str(conflict))
    for image, version, found in reports:
        if not found:
            click.echo(f"{image.rel}: training-hub {version} aligns with the image and its index",
                       err=True)
    return 1 if conflicts else 0
