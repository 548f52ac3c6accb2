"""What an image folder is: its stack of versions and the name rendered from it.

Folder names are lossy (``torch210`` is 2.1.0 or 2.10.0; ROCm 6.4.3 becomes
``rocm64``), so the versions in the files are the truth and names are only
ever rendered from them, by a configurable scheme.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, replace

from bumper.errors import UsageError

ACCEL_KINDS = ("cuda", "rocm", "cpu")
ACCEL_LABELS = {"cuda": "CUDA", "rocm": "ROCm", "cpu": "CPU"}
DEFAULT_SCHEME = "th{th}-{accel}-torch{torch}-py{python}"
# A folder name that is safe in a path, a TOML string, a README row and a commit subject.
FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_folder_name(name: str, rendered: bool = False) -> str:
    """``name`` when it is one safe folder name (ASCII letters, digits, '.', '_', '-', no
    '..'); else a usage error naming where it came from (given, or the naming scheme)."""
    if FOLDER_NAME.fullmatch(name) and ".." not in name:
        return name
    where = "the naming scheme gives" if rendered else "--name"
    fix = "pass --name NEW_DIR_NAME" if rendered else "not a path, no spaces or accents"
    shown = name if name.isprintable() and not any(c.isspace() for c in name) else repr(name)
    raise UsageError(f"{where} {shown}: not a safe folder name (ASCII letters, digits, '.', "
                     f"'_', '-'; {fix})")


def parts(version: str) -> list[str]:
    """Release segments of a plain dotted version (``2.10.0`` -> ``['2', '10', '0']``)."""
    return version.split(".")


def major_minor(version: str) -> str:
    """``6.4.3`` -> ``6.4``: the form index URLs and names use."""
    return ".".join(parts(version)[:2])


@dataclass(frozen=True)
class Accel:
    """Accelerator of an image: kind ``cuda``/``rocm``/``cpu`` and its version."""

    kind: str
    version: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACCEL_KINDS:
            raise ValueError(f"unknown accelerator {self.kind!r}")
        if (self.kind == "cpu") != (self.version is None):
            raise ValueError(f"{self.kind} needs {'no' if self.kind == 'cpu' else 'a'} version")

    @property
    def index_segment(self) -> str:
        """The accelerator part of an index URL: ``cuda13.0``, ``rocm6.4``, ``cpu``."""
        return self.kind if self.version is None else f"{self.kind}{major_minor(self.version)}"

    @property
    def compact(self) -> str:
        """The accelerator part of a folder name: ``cuda130``, ``rocm64``, ``cpu``."""
        if self.version is None:
            return self.kind
        return self.kind + "".join(parts(self.version)[:2])

    @property
    def label(self) -> str:
        """Human form used in LABEL texts: ``CUDA 13.0``, ``ROCm 6.4.3``, ``CPU``."""
        name = ACCEL_LABELS[self.kind]
        return name if self.version is None else f"{name} {self.version}"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Stack:
    """The versions that define an image variant; any change of them is a major bump."""

    training_hub: str
    accel: Accel
    torch: str
    python: str

    def with_changes(self, **changes: object) -> Stack:
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        return (
            f"Training Hub {self.training_hub}, {self.accel.label}, "
            f"PyTorch {self.torch}, Python {self.python}"
        )


def compact_th(version: str) -> str:
    """Training Hub 0.5.0 -> ``05`` (major and minor digits)."""
    return "".join(parts(version)[:2])


def compact_torch(version: str) -> str:
    """2.9.1 -> ``291``, 2.8.0 -> ``280``, but 2.10.0 -> ``210`` as the real names do."""
    segs = parts(version)
    if len(segs) >= 3 and segs[2] == "0" and len(segs[1]) > 1:
        return segs[0] + segs[1]
    return "".join(segs[:3])


def compact_python(version: str) -> str:
    """3.12 -> ``312``."""
    return "".join(parts(version)[:2])


FIELDS: dict[str, Callable[[Stack], str]] = {
    "th": lambda s: compact_th(s.training_hub),
    "th_version": lambda s: s.training_hub,
    "accel": lambda s: s.accel.compact,
    "accel_kind": lambda s: s.accel.kind,
    "accel_version": lambda s: s.accel.version or "",
    "torch": lambda s: compact_torch(s.torch),
    "torch_version": lambda s: s.torch,
    "python": lambda s: compact_python(s.python),
    "python_version": lambda s: s.python,
}

_FIELD_PATTERNS: dict[str, str] = {
    "th": r"[0-9]+",
    "th_version": r"[0-9.]+",
    "accel": r"cuda[0-9]+|rocm[0-9]+|cpu",
    "accel_kind": r"cuda|rocm|cpu",
    "accel_version": r"[0-9.]*",
    "torch": r"[0-9]+",
    "torch_version": r"[0-9.]+",
    "python": r"[0-9]+",
    "python_version": r"[0-9.]+",
}


@dataclass(frozen=True)
class NamingScheme:
    """Renders folder names from stacks and reads the fields back, tolerantly."""

    template: str = DEFAULT_SCHEME

    def __post_init__(self) -> None:
        try:
            pieces = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise ValueError(f"naming scheme {self.template!r}: {exc}") from exc
        fields = [field for _, field, _, _ in pieces if field is not None]
        for _, field, spec, conversion in pieces:
            if field is not None and field not in FIELDS:
                known = ", ".join(sorted(FIELDS))
                raise ValueError(f"unknown field {{{field}}} in naming scheme {self.template!r} "
                                 f"(known: {known})")
            if spec or conversion:
                raise ValueError(f"naming scheme {self.template!r}: write plain {{{field}}} "
                                 "fields, without a format spec or conversion")
        if not fields:
            raise ValueError(f"naming scheme {self.template!r} has no {{field}}: every folder "
                             "would get the same name")
        if any(sep in self.template for sep in "/\\"):
            raise ValueError(f"naming scheme {self.template!r}: a folder name has no / or \\")

    def render(self, stack: Stack) -> str:
        values = {name: fn(stack) for name, fn in FIELDS.items()}
        return self.template.format(**values)

    def _pattern(self) -> str:
        pattern = ""
        seen: set[str] = set()
        for literal, field, _, _ in string.Formatter().parse(self.template):
            pattern += re.escape(literal)
            if field is None:
                continue
            if field in seen:
                pattern += f"(?P={field})"
            else:
                pattern += f"(?P<{field}>{_FIELD_PATTERNS[field]})"
                seen.add(field)
        return pattern

    def search_pattern(self) -> re.Pattern[str]:
        """Finds names of this scheme inside free text (labels, comments, paths)."""
        return re.compile(rf"(?<![A-Za-z0-9]){self._pattern()}(?![A-Za-z0-9])")

    def parse(self, name: str) -> dict[str, str] | None:
        """Fields of ``name`` as written (compact forms, lower case), or None when it doesn't fit.

        Case is ignored and a trailing ``/`` or path is dropped: names come
        from command lines and file listings as often as from ``ls``.
        """
        base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        match = re.fullmatch(self._pattern(), base, flags=re.IGNORECASE)
        if match is None:
            return None
        return {key: value.lower() for key, value in match.groupdict().items()}

    def mismatches(self, name: str, stack: Stack) -> dict[str, tuple[str, str]]:
        """Fields where ``name`` disagrees with ``stack``: field -> (in name, from files).

        ``{"name": (name, expected)}`` when the name doesn't fit the scheme at
        all, or fits it but still differs (case, or a field the files can't
        tell apart).
        """
        expected = self.render(stack)
        if name == expected:
            return {}
        parsed = self.parse(name)
        if parsed is None:
            return {"name": (name, expected)}
        out = {}
        for field, written in parsed.items():
            want = FIELDS[field](stack)
            if written != want.lower():
                out[field] = (written, want)
        return out or {"name": (name, expected)}


def same_release(written: str, version: str) -> bool:
    """``written`` names ``version``: equal, or a shorter form of it (6.4 for 6.4.3, 0.3.0 for
    0.3); trailing ``.0`` segments don't count."""
    def norm(v: str) -> list[str]:
        segs = parts(v)
        while len(segs) > 1 and segs[-1] == "0":
            segs.pop()
        return segs

    if norm(written) == norm(version):
        return True
    w, v = parts(written), parts(version)
    return len(w) >= 2 and w == v[:len(w)]


def names_release(written: str, accel: Accel) -> bool:
    """``written`` names the accelerator's release. A release known only as major.minor
    (CUDA always; ROCm when only the index URL tells it) is named by any patch of it:
    13.0.1 names CUDA 13.0."""
    version = accel.version
    if version is None:
        return False
    if same_release(written, version):
        return True
    return len(parts(version)) == 2 and major_minor(written) == version



@dataclass(frozen=True)
class TextPattern:
    """A name-bearing text (``[project] name``, ``LABEL name``) as the repo writes it: the
    naming fields plus ``{name}``, the folder name (``universal-training-{name}``,
    ``th-torch-{accel_kind}-universal-image``)."""

    template: str

    def __post_init__(self) -> None:
        try:
            pieces = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise ValueError(f"pattern {self.template!r}: {exc}") from exc
        for _, field, spec, conversion in pieces:
            if field is not None and field != "name" and field not in FIELDS:
                known = ", ".join(["name", *sorted(FIELDS)])
                raise ValueError(f"unknown field {{{field}}} in pattern {self.template!r} "
                                 f"(known: {known})")
            if spec or conversion:
                raise ValueError(f"pattern {self.template!r}: write plain {{{field}}} fields")

    def render(self, stack: Stack, name: str) -> str:
        values = {key: fn(stack) for key, fn in FIELDS.items()}
        return self.template.format(name=name, **values)


# Fields a learned template may use, longest rendering first where two render alike.
_LEARN_ORDER = ("accel", "accel_kind", "torch_version", "th_version", "python_version",
                "accel_version", "torch", "th", "python")


def derive(text: str, stack: Stack, name: str | None = None) -> set[str]:
    """Templates that render ``text`` from ``stack`` (and the folder ``name``): every field
    value found in it, not glued to other digits, becomes its ``{field}``. Several when a
    value renders alike for two fields (``cpu`` is both {accel} and {accel_kind})."""
    out: set[str] = set()
    base = text.replace("{", "{{").replace("}", "}}")
    if name and name in text:
        out.add(base.replace(name.replace("{", "{{").replace("}", "}}"), "{name}"))
    values = {key: FIELDS[key](stack) for key in _LEARN_ORDER}
    for variant in _variants(values):
        template = base
        for key in variant:
            value = values[key]
            if value:
                template = re.sub(rf"(?<![0-9.]){re.escape(value)}(?![0-9])",
                                  "{" + key + "}", template)
        out.add(template)
    return {t for t in out if "{" in t.replace("{{", "")} or {base}


def _variants(values: dict[str, str]) -> list[tuple[str, ...]]:
    """Orders of the fields to try: equal renderings (cpu = accel = accel_kind) either way."""
    order = list(_LEARN_ORDER)
    alt = list(order)
    if values["accel"] == values["accel_kind"]:
        alt[0], alt[1] = alt[1], alt[0]
    return [tuple(order)] if alt == order else [tuple(order), tuple(alt)]
