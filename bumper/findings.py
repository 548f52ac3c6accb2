"""A finding: one problem in one place, with the fix, its rule code and severity.

Every finding carries a rule code (``L004``, like ruff's ``E501``) from the registry
below; the code decides the severity (``error`` for a bug, ``warning`` for a broken
convention) and is what ``bumper check --select/--ignore`` match, by code, by prefix
(``L`` = every lock rule) or by the family name (``lock``). A rule that finds one
systematic problem (233 pins without a hash) reports it once, with the per-item
``details`` inside (shown by ``--format json`` and ``-v``).

A new rule registers its code with `register` and passes ``code=`` to its findings;
a finding without a code gets its family's first code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class RuleInfo:
    code: str
    family: str  # the short name findings carry as ``rule`` (lock, name, index...)
    severity: str
    summary: str


REGISTRY: dict[str, RuleInfo] = {}
_FAMILY_DEFAULT: dict[str, str] = {}


def register(code: str, family: str, severity: str, summary: str) -> RuleInfo:
    if severity not in (ERROR, WARNING):
        raise ValueError(f"{code}: severity {severity!r}")
    info = REGISTRY.setdefault(code, RuleInfo(code, family, severity, summary))
    _FAMILY_DEFAULT.setdefault(family, code)
    return info


for _code, _family, _severity, _summary in (
    ("F001", "files", ERROR, "a file every image folder needs is missing"),
    ("F002", "read", ERROR, "a file cannot be read as UTF-8 text"),
    ("F003", "toml", ERROR, "pyproject.toml is not valid TOML"),
    ("F004", "stack", ERROR, "the files do not tell the stack (torch, Training Hub, "
                             "Python, accelerator)"),
    ("N001", "name", WARNING, "the folder name differs from what its naming scheme renders"),
    ("N002", "name", WARNING, "the folder name fits no configured naming scheme"),
    ("N003", "project-name", WARNING, "[project] name does not follow the repo's pattern"),
    ("N004", "label-name", WARNING, "LABEL name does not follow the repo's pattern"),
    ("N005", "duplicate", ERROR, "two folders hold the same stack"),
    ("V001", "python", ERROR, "Python versions disagree"),
    ("V002", "accel", ERROR, "the accelerator (and its version) named in the files disagree"),
    ("V003", "labels", WARNING, "a LABEL, description or header comment names another "
                                "version"),
    ("V004", "base-image", ERROR, "ARG BASE_IMAGE is missing, late or unused"),
    ("I001", "index", ERROR, "the places that repeat the index URL disagree"),
    ("L001", "lock", WARNING, "the lock does not start with the --index-url line"),
    ("L002", "lock", ERROR, "a dependency of pyproject.toml is not locked"),
    ("L003", "lock", ERROR, "a lock pin does not satisfy pyproject.toml"),
    ("L004", "lock", ERROR, "the lock's hashes do not follow the repo's hash policy"),
    ("L005", "lock", ERROR, "a dependency of pyproject.toml is not a valid requirement"),
    ("L006", "lock", ERROR, "a lock pin violates a [tool.uv] constraint-dependencies entry"),
    ("L007", "lock", ERROR, "the lock is missing or empty"),
    ("L008", "lock", ERROR, "the lock holds a -r, -c or -e line"),
    ("L009", "sources", ERROR, "[tool.uv.sources] names an index [[tool.uv.index]] lacks"),
    ("L010", "sources", ERROR, "a lock pin comes from an index the lock does not name"),
    ("L011", "lock", ERROR, "another lock's header names an input the folder lacks"),
    ("D001", "markers", ERROR, "MIDSTREAM ONLY banners are unbalanced"),
    ("D002", "downstream", ERROR, "a midstream-only step is not guarded by ARG DOWNSTREAM"),
    ("D003", "downstream", ERROR, "ARG DOWNSTREAM is missing or does not default to false"),
    ("C001", "companion", ERROR, "a companion file names a folder that does not exist"),
):
    register(_code, _family, _severity, _summary)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    message: str
    fix: str
    rule: str = ""
    code: str = ""
    details: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", _FAMILY_DEFAULT.get(self.rule, ""))
        elif not self.rule:
            info = REGISTRY.get(self.code)
            object.__setattr__(self, "rule", info.family if info else "")

    @property
    def severity(self) -> str:
        info = REGISTRY.get(self.code)
        return info.severity if info else ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message} ({self.fix})"

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "rule": self.rule, "code": self.code,
                "severity": self.severity, "message": self.message, "fix": self.fix,
                "details": list(self.details)}


def selected(finding: Finding, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """``--select``/``--ignore`` as ruff reads them: a code, a code prefix or a family name;
    the longer match wins when both name the finding (``--select L --ignore L004``)."""
    def best(words: tuple[str, ...]) -> int:
        hits = [len(w) for w in words
                if finding.code.startswith(w.upper()) or w.lower() == finding.rule]
        return max(hits, default=-1)

    chosen = best(select) if select else 0
    dropped = best(ignore)
    return chosen >= 0 and (dropped < 0 or chosen > dropped)


def rule_words(values: tuple[str, ...], option: str) -> tuple[str, ...]:
    """The rules of repeated or comma-separated ``--select``/``--ignore`` values."""
    from bumper.errors import UsageError

    words = tuple(w.strip() for value in values for w in value.split(",") if w.strip())
    for word in words:
        if not known_rule(word):
            raise UsageError(f"{option} {word}: no such rule (a code like L004, a prefix like "
                             "L, or a family like lock; bumper check --format json shows them)")
    return words


def known_rule(word: str) -> bool:
    """A code, code prefix or family name that names at least one registered rule."""
    return any(code.startswith(word.upper()) or info.family == word.lower()
               for code, info in REGISTRY.items())
