"""Find image folders and read each one's stack from its files.

The files win over the folder name: the name is only compared with what the
files say (see `check`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bumper.config import Config
from bumper.errors import UsageError
from bumper.findings import Finding
from bumper.formats import dockerfile, pyproject, requirements
from bumper.fsutil import read_text, repo_rel
from bumper.model import Accel, Stack, major_minor

DOCKERFILE = "Dockerfile"
PYPROJECT = "pyproject.toml"
LOCK = "requirements.txt"
ANSWERS = ".copier-answers.yml"

INDEX_SEGMENT = re.compile(r"/(?P<seg>cuda[0-9]+\.[0-9]+|rocm[0-9]+\.[0-9]+|cpu)(?=[-/])")
PIN_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?\s*"
    r"==\s*(?P<version>[0-9][0-9A-Za-z.+!-]*)\s*(?:;.*)?$"
)
REQUIRES_PYTHON = re.compile(
    r"^\s*(?:==|~=|>=)\s*(?P<v>3\.[0-9]+)(?:\.\*|\.[0-9]+)?\s*(?:,.*)?$"
)


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
    # what check assumes about the folder (bumper.conventions); None: from the settings alone
    conventions: Any = None

    @property
    def name(self) -> str:
        return self.path.name

    def where(self, filename: str) -> str:
        return f"{self.rel}/{filename}"

    def index_url(self) -> str | None:
        """The folder's one source of the index URL: pyproject, else Dockerfile, else lock."""
        source = self.index_url_source()
        return source[2] if source else None

    def index_url_source(self) -> tuple[str, int, str] | None:
        """(file, line, url) of the index URL that `index_url` returns."""
        if self.pyproject and self.pyproject.index_url:
            return PYPROJECT, self.pyproject.index_url_line, self.pyproject.index_url
        if self.dockerfile and self.dockerfile.index_urls:
            url, line = self.dockerfile.index_urls[0]
            return DOCKERFILE, line, url
        if self.lock and self.lock.index_url:
            return LOCK, self.lock.index_url_line, self.lock.index_url
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
    out: list[Path] = []
    for name in names:
        # the repo's own folders first: with --repo, a relative name means that repo's folder
        # even when the working directory holds a folder of the same relative path
        candidates = [config.images_root / name, config.repo / name, Path(name)]
        found = next((c.resolve() for c in candidates if c.is_dir()), None)
        if found is None:
            raise UsageError(f"{name}: no such image folder (expected a folder under "
                             f"{config.images_rel}/ or a path)")
        if found not in out:  # the same folder named twice is checked once
            out.append(found)
    return out


def _read_text(image: ImageDir, filename: str) -> str | None:
    """The file's text; None when it is absent or unreadable (the latter is a problem)."""
    path = image.path / filename
    if not path.exists():
        return None
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else exc.strerror or str(exc)
        image.problems.append(Finding(image.where(filename), 0, f"cannot read: {reason}",
                                      "make it a readable UTF-8 text file", code="F002"))
        return None
    image.texts[filename] = text
    return text


def _required(image: ImageDir, filename: str, fix: str, code: str) -> str | None:
    text = _read_text(image, filename)
    if text is None and not (image.path / filename).exists():
        image.problems.append(Finding(image.where(filename), 0, "missing", fix, code=code))
    return text


def load(config: Config, path: Path) -> ImageDir:
    image = ImageDir(path=path, rel=repo_rel(config.repo, path))
    text = _required(image, DOCKERFILE, "every image folder needs a Dockerfile", "F001")
    if text is not None:
        image.dockerfile = dockerfile.read(text)
    text = _required(image, PYPROJECT, "every image folder needs a pyproject.toml", "F001")
    if text is not None:
        try:
            image.pyproject = pyproject.read(text)
        except pyproject.TomlError as exc:
            image.problems.append(Finding(image.where(PYPROJECT), exc.line, exc.message,
                                          "fix the TOML syntax", code="F003"))
    text = _required(image, LOCK, f"run: bumper lock {image.rel}", "L007")
    if text is not None:
        if not text.strip():
            image.problems.append(Finding(image.where(LOCK), 0, "empty lock",
                                          f"run: bumper lock {image.rel}", code="L007"))
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
    """The accelerator, and where the files say it.

    The index URL's segment (``cuda13.0``, ``rocm6.4``, ``cpu``) decides: the
    Python packages, torch above all, come from that index. ROCm's patch
    release is only in the dnf names and paths, so it is taken from those
    when they agree with the index on major.minor. Without an index URL the
    Dockerfile's dnf names, paths and the .repo files tell.
    """
    facts = image.dockerfile
    cuda = Counter(v.replace("-", ".") for _, v, _ in facts.cuda_packages) if facts else Counter()
    if facts:
        cuda.update(v for v, _ in facts.cuda_paths)
    rocm = Counter(v for v, _ in facts.rocm_versions) if facts else Counter()
    source = image.index_url_source()
    match = INDEX_SEGMENT.search(source[2]) if source else None
    if source and match:
        segment = match["seg"]
        kind = segment.rstrip("0123456789.")
        version = segment[len(kind):] or None
        if kind == "rocm" and version:
            full = [v for v, _ in rocm.most_common() if major_minor(v) == version]
            version = full[0] if full else version
        return Accel(kind, version), source[0], source[1]
    if cuda and (not rocm or "cuda.repo" in image.texts):
        version = cuda.most_common(1)[0][0]
        return Accel("cuda", version), DOCKERFILE, _cuda_line(image, version)
    if rocm:
        version = rocm.most_common(1)[0][0]
        line = next((n for v, n in facts.rocm_versions if v == version), 0) if facts else 0
        return Accel("rocm", version), DOCKERFILE, line
    if facts and not {"cuda.repo", "rocm.repo"} & image.texts.keys():
        return Accel("cpu"), DOCKERFILE, 0
    return None


def _cuda_line(image: ImageDir, version: str) -> int:
    facts = image.dockerfile
    if facts is None:
        return 0
    lines = [n for _, v, n in facts.cuda_packages if v.replace("-", ".") == version]
    lines += [n for v, n in facts.cuda_paths if v == version]
    return min(lines, default=0)


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
    # a local version (2.9.1+cu130) names the build, not the release the folder is named for
    return Stack(training_hub=hub[0].split("+")[0], accel=accel[0],
                 torch=torch[0].split("+")[0], python=python[0]), sources
