"""Find image folders and read each one's stack from its files.

The files win over the folder name: the name is only compared with what the
files say (see `check`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bumper.config import Config
from bumper.errors import UsageError
from bumper.findings import Finding
from bumper.formats import dockerfile, pyproject, requirements
from bumper.model import Accel, Stack

DOCKERFILE = "Dockerfile"
PYPROJECT = "pyproject.toml"
LOCK = "requirements.txt"
ANSWERS = ".copier-answers.yml"

INDEX_SEGMENT = re.compile(r"/(?P<seg>cuda[0-9]+\.[0-9]+|rocm[0-9]+\.[0-9]+|cpu)(?=[-/])")
PIN_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?\s*"
    r"==\s*(?P<version>[0-9][0-9A-Za-z.+!-]*)\s*(?:;.*)?$"
)
REQUIRES_PYTHON = re.compile(r"^\s*(?:==|~=|>=)\s*(?P<v>3\.[0-9]+)(?:\.\*)?\s*(?:,.*)?$")


@dataclass
class ImageDir:
    """One image folder: what its files say, and what could not be read."""

    path: Path
    rel: str
    texts: dict[str, str] = field(default_factory=dict)
    dockerfile: dockerfile.DockerfileFacts | None = None
    pyproject: pyproject.PyprojectFacts | None = None
    lock: requirements.LockFacts | None = None
    problems: list[Finding] = field(default_factory=list)
    stack: Stack | None = None
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def where(self, filename: str) -> str:
        return f"{self.rel}/{filename}"

    def index_url(self) -> str | None:
        """The folder's one source of the index URL: pyproject, else Dockerfile, else lock."""
        if self.pyproject and self.pyproject.index_url:
            return self.pyproject.index_url
        if self.dockerfile and self.dockerfile.index_urls:
            return self.dockerfile.index_urls[0][0]
        if self.lock and self.lock.index_url:
            return self.lock.index_url
        return None


def image_dirs(config: Config) -> list[Path]:
    root = config.images_root
    if not root.is_dir():
        raise UsageError(f"{config.images_rel}: images folder not found (set images-root in "
                         "[tool.bumper] or pass folders)")
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and ((p / DOCKERFILE).exists() or (p / PYPROJECT).exists()))


def resolve(config: Config, names: list[str] | tuple[str, ...]) -> list[Path]:
    """Folders named on the command line (a folder name or a path); all when none."""
    if not names:
        return image_dirs(config)
    out = []
    for name in names:
        candidates = [Path(name), config.images_root / name, config.repo / name]
        found = next((c.resolve() for c in candidates if c.is_dir()), None)
        if found is None:
            raise UsageError(f"{name}: no such image folder (expected a folder under "
                             f"{config.images_rel}/ or a path)")
        out.append(found)
    return out


def _rel(config: Config, path: Path) -> str:
    try:
        return path.relative_to(config.repo).as_posix()
    except ValueError:
        return path.as_posix()


def _read_text(image: ImageDir, filename: str) -> str | None:
    path = image.path / filename
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        image.problems.append(Finding(image.where(filename), 0, f"cannot read: {exc}",
                                      "make it a readable UTF-8 text file", "read"))
        return None
    image.texts[filename] = text
    return text


def load(config: Config, path: Path) -> ImageDir:
    image = ImageDir(path=path, rel=_rel(config, path))
    text = _read_text(image, DOCKERFILE)
    if text is None and DOCKERFILE not in image.texts:
        image.problems.append(Finding(image.where(DOCKERFILE), 0, "missing",
                                      "every image folder needs a Dockerfile", "files"))
    elif text is not None:
        image.dockerfile = dockerfile.read(text)
    text = _read_text(image, PYPROJECT)
    if text is None:
        image.problems.append(Finding(image.where(PYPROJECT), 0, "missing",
                                      "every image folder needs a pyproject.toml", "files"))
    else:
        try:
            image.pyproject = pyproject.read(text)
        except pyproject.TomlError as exc:
            image.problems.append(Finding(image.where(PYPROJECT), exc.line, exc.message,
                                          "fix the TOML syntax", "toml"))
    text = _read_text(image, LOCK)
    if text is None:
        image.problems.append(Finding(image.where(LOCK), 0, "missing",
                                      f"run: bumper lock {image.rel}", "lock"))
    elif not text.strip():
        image.problems.append(Finding(image.where(LOCK), 0, "empty lock",
                                      f"run: bumper lock {image.rel}", "lock"))
        image.lock = requirements.read(text)
    else:
        image.lock = requirements.read(text)
    for extra in ("rocm.repo", "cuda.repo", "mellanox.repo", ANSWERS):
        _read_text(image, extra)
    image.stack, image.sources = read_stack(image)
    return image


def pinned(image: ImageDir, project: str) -> tuple[str, str, int] | None:
    """(version, extras, line) of an exact ``project==version`` pin in pyproject.toml."""
    if image.pyproject is None:
        return None
    for dep in image.pyproject.dependencies:
        match = PIN_RE.match(dep.text)
        if match and requirements.canonical(match["name"]) == project:
            return match["version"], match["extras"] or "", dep.line
    return None


def _python(image: ImageDir) -> tuple[str, str, int] | None:
    facts = image.pyproject
    if facts and facts.requires_python:
        match = REQUIRES_PYTHON.match(facts.requires_python)
        if match:
            return match["v"], PYPROJECT, facts.requires_python_line
    if image.dockerfile and "PYTHON_VERSION" in image.dockerfile.args:
        value, line = image.dockerfile.args["PYTHON_VERSION"]
        if value:
            return value, DOCKERFILE, line
    return None


def _accel(image: ImageDir) -> tuple[Accel, str, int] | None:
    segment, seg_where = None, ("", 0)
    url = image.index_url()
    if url and (match := INDEX_SEGMENT.search(url)):
        segment = match["seg"]
        seg_where = (PYPROJECT, image.pyproject.index_url_line) if (
            image.pyproject and image.pyproject.index_url) else (DOCKERFILE, 0)
    facts = image.dockerfile
    cuda = Counter(v for _, v, _ in facts.cuda_packages) if facts else Counter()
    rocm = Counter(v for v, _ in facts.rocm_versions) if facts else Counter()
    kind = (segment.rstrip("0123456789.") if segment
            else "cuda" if cuda or "cuda.repo" in image.texts
            else "rocm" if rocm or "rocm.repo" in image.texts
            else "cpu" if facts else None)
    if kind == "cuda" and cuda:
        version = cuda.most_common(1)[0][0].replace("-", ".")
        line = next(n for _, v, n in facts.cuda_packages if v.replace("-", ".") == version)  # type: ignore[union-attr]
        return Accel("cuda", version), DOCKERFILE, line
    if kind == "rocm" and rocm:
        version = rocm.most_common(1)[0][0]
        line = next(n for v, n in facts.rocm_versions if v == version)  # type: ignore[union-attr]
        return Accel("rocm", version), DOCKERFILE, line
    if kind in ("cuda", "rocm") and segment:
        return Accel(kind, segment[len(kind):]), *seg_where
    if kind == "cpu":
        return Accel("cpu"), *seg_where
    return None


def read_stack(image: ImageDir) -> tuple[Stack | None, dict[str, tuple[str, int]]]:
    sources: dict[str, tuple[str, int]] = {}
    torch = pinned(image, "torch")
    hub = pinned(image, "training-hub")
    python = _python(image)
    accel = _accel(image)
    if torch:
        sources["torch"] = (PYPROJECT, torch[2])
    if hub:
        sources["th"] = (PYPROJECT, hub[2])
    if python:
        sources["python"] = (python[1], python[2])
    if accel:
        sources["accel"] = (accel[1], accel[2])
    if not (torch and hub and python and accel):
        return None, sources
    return Stack(training_hub=hub[0], accel=accel[0], torch=torch[0], python=python[0]), sources
