"""Check rules about which index each lock pin comes from: ``[tool.uv.sources]`` names an
index of ``[[tool.uv.index]]``, and the lock names every index its pins come from (else
``pip install -r requirements.txt`` looks for them on the folder's index alone)."""

from __future__ import annotations

from collections.abc import Iterator

from bumper import uvsettings
from bumper.config import Config
from bumper.discover import LOCK, PYPROJECT, ImageDir
from bumper.findings import Finding
from bumper.formats.requirements import INDEX_LINE


def _lock_indexes(text: str) -> set[str]:
    """The index URLs the lock's option lines name (--index-url, --extra-index-url)."""
    out = set()
    for line in text.splitlines():
        match = INDEX_LINE.match(line.strip())
        if match:
            out.add(match["url"])
        elif line.startswith("--extra-index-url"):
            out.add(line.split("=", 1)[-1].split()[-1])
    return out


def rule_sources(image: ImageDir, config: Config) -> Iterator[Finding]:
    del config
    text = image.texts.get(PYPROJECT)
    if text is None:
        return
    settings = uvsettings.read(text)
    names = {index.name for index in settings.named}
    for project, index in sorted(settings.sources.items()):
        if index not in names:
            yield Finding(image.where(PYPROJECT), 0, f"[tool.uv.sources] {project} names index "
                          f"{index!r}, which no [[tool.uv.index]] defines",
                          f'add [[tool.uv.index]] name = "{index}" with its url', code="L009")
    if image.lock is None:
        return
    named = _lock_indexes(image.texts.get(LOCK, ""))
    for pin in image.lock.pins:
        source = settings.index_of(pin.name)
        if source is not None and source.url not in named:
            yield Finding(image.where(LOCK), pin.line, f"{pin.name}=={pin.version} comes from "
                          f"index {source.name!r} ({source.url}, [tool.uv.sources]), which the "
                          "lock does not name: pip would look for it on the folder's index",
                          f"run: bumper lock {image.rel} (it writes --extra-index-url="
                          f"{source.url})", code="L010")


def rule_other_locks(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The folder's other locks (bumper.locks): their inputs exist, their form is one form,
    their first line names their index."""
    from bumper import locks
    from bumper.formats.requirements import read as read_lock
    from bumper.fsutil import read_text

    for spec in locks.find(image.path, config.locks)[1:]:
        where = image.where(spec.name)
        for name in spec.inputs:
            if not (image.path / name).is_file():
                yield Finding(where, 0, f"its header names {name}, which the folder lacks",
                              "restore it, or fix the header command", code="L011")
        facts = read_lock(read_text(image.path / spec.name))
        bare = [pin for pin in facts.pins if not pin.hashes]
        if bare and len(bare) < len(facts.pins):
            yield Finding(where, bare[0].line, f"{len(bare)} of {len(facts.pins)} pins have no "
                          "--hash, the others do", f"run: bumper lock {image.rel}", code="L004")
        if facts.pins and spec.index_url is None:
            yield Finding(where, 1, "the lock does not start with the --index-url line of its "
                          "index", f"write --index-url=<its index> as line 1, then run: "
                          f"bumper lock {image.rel}", code="L001")
