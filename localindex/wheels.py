"""Build tiny, deterministic, metadata-only wheels for every local index.

Resolvers only read a wheel's METADATA, so a wheel without code is enough to
lock against. The bytes must not depend on time or machine: lockfiles in the
example images carry the wheels' sha256 hashes and must stay valid.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from localindex.universe import UNIVERSE_PATH, Release, Universe, load_universe

__all__ = [
    "UNIVERSE_PATH",
    "FileEntry",
    "Universe",
    "build",
    "default_cache_dir",
    "ensure_built",
    "load_manifest",
    "load_universe",
    "universe_key",
]

# Bump when the wheel layout changes, so cached builds are rebuilt.
BUILDER_VERSION = "2"
MANIFEST = "manifest.json"
_DATE = (1980, 1, 1, 0, 0, 0)
_ATTR = (0o100644 & 0xFFFF) << 16
_EXTRA_RE = re.compile(r"""\bextra\s*==\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class FileEntry:
    """One built wheel as the server advertises it."""

    project: str
    version: str
    filename: str
    sha256: str
    size: int
    metadata_sha256: str
    late: bool


def universe_key(universe_path: Path = UNIVERSE_PATH) -> str:
    """Hash of the universe content and builder version: names a valid build."""
    digest = hashlib.sha256(f"localindex-wheels-{BUILDER_VERSION}\n".encode())
    digest.update(universe_path.read_bytes())
    return digest.hexdigest()


def default_cache_dir(universe_path: Path = UNIVERSE_PATH) -> Path:
    """Per-content build dir under the system temp dir, shared by test sessions."""
    return Path(tempfile.gettempdir()) / f"bumper-localindex-{universe_key(universe_path)[:16]}"


def ensure_built(universe_path: Path = UNIVERSE_PATH, out_dir: Path | None = None) -> Path:
    """Build (or reuse) the wheels and return the directory holding them."""
    out = out_dir or default_cache_dir(universe_path)
    build(universe_path, out)
    return out


def build(universe_path: Path, out_dir: Path) -> dict[str, list[Path]]:
    """Build every index's wheels into out_dir/<index>/; reuse a matching build."""
    key = universe_key(universe_path)
    if _stamp(out_dir) != key:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=_parent(out_dir)))
        try:
            _build_into(load_universe(universe_path), tmp, key)
            _publish(tmp, out_dir, key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        index: [out_dir / index / e.filename for e in entries]
        for index, entries in load_manifest(out_dir).items()
    }


def load_manifest(out_dir: Path) -> dict[str, list[FileEntry]]:
    """Read what `build` wrote: index name -> its wheels with hashes."""
    data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    return {idx: [FileEntry(**e) for e in files] for idx, files in data["indexes"].items()}


def wheel_filename(name: str, version: str) -> str:
    """`training-hub`, `0.5.0` -> `training_hub-0.5.0-py3-none-any.whl`."""
    return f"{_escape(name)}-{Version(version)}-py3-none-any.whl"


def metadata_text(release: Release) -> str:
    """Core metadata (2.1) with one Requires-Dist per requirement and its extras."""
    lines = ["Metadata-Version: 2.1", f"Name: {release.name}", f"Version: {release.version}"]
    if release.requires_python:
        lines.append(f"Requires-Python: {release.requires_python}")
    extras: list[str] = []
    for raw in release.requires:
        req = str(Requirement(raw))
        lines.append(f"Requires-Dist: {req}")
        extras += [e for e in _EXTRA_RE.findall(req) if e not in extras]
    lines += [f"Provides-Extra: {e}" for e in extras]
    return "\n".join(lines) + "\n"


def wheel_bytes(release: Release) -> tuple[bytes, bytes]:
    """The wheel and its METADATA, both byte-stable."""
    metadata = metadata_text(release).encode()
    wheel_meta = (
        b"Wheel-Version: 1.0\nGenerator: localindex (1)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    dist_info = f"{_escape(release.name)}-{Version(release.version)}.dist-info"
    files = {f"{dist_info}/METADATA": metadata, f"{dist_info}/WHEEL": wheel_meta}
    record = "".join(f"{path},sha256={_b64(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = f"{record}{dist_info}/RECORD,,\n".encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=_DATE)
            # Stored, not deflated: the bytes (and so the hashes in the
            # committed locks) must not depend on the machine's zlib.
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = _ATTR
            zf.writestr(info, data)
    return buf.getvalue(), metadata


def _build_into(universe: Universe, root: Path, key: str) -> None:
    indexes: dict[str, list[dict[str, object]]] = {}
    for index in sorted(universe.indexes):
        (root / index).mkdir()
        entries = []
        for rel in universe.releases(index):
            wheel, metadata = wheel_bytes(rel)
            name = wheel_filename(rel.name, rel.version)
            (root / index / name).write_bytes(wheel)
            (root / index / f"{name}.metadata").write_bytes(metadata)
            entry = FileEntry(
                project=str(canonicalize_name(rel.name)),
                version=rel.version,
                filename=name,
                sha256=hashlib.sha256(wheel).hexdigest(),
                size=len(wheel),
                metadata_sha256=hashlib.sha256(metadata).hexdigest(),
                late=rel.late,
            )
            entries.append(asdict(entry))
        indexes[index] = entries
    manifest = {"key": key, "indexes": indexes}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _publish(tmp: Path, out_dir: Path, key: str) -> None:
    """Move a finished build into place; tolerate a concurrent builder."""
    if out_dir.exists():
        shutil.rmtree(out_dir, ignore_errors=True)
    try:
        tmp.rename(out_dir)
    except OSError:
        if _stamp(out_dir) != key:  # someone else won the race with a good build?
            raise


def _stamp(out_dir: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        return str(json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))["key"])
    return None


def _parent(out_dir: Path) -> Path:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return out_dir.parent


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
