"""The fast direct check: Training Hub's own Requires-Dist against the image's lines.

Never the verdict (the resolver is): it tells which of the image's floors a new Training
Hub raises, so that the maintainers raise the line too.
"""

from __future__ import annotations

from email.parser import HeaderParser

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_version
from packaging.version import Version

from bumper.conflict import HUB, Conflict, Hub
from bumper.formats.requirements import canonical
from bumper.index import IndexClient
from bumper.urls import IndexUrl


def floors(hub: Hub, python: str, indexes: tuple[IndexUrl, ...]) -> list[Conflict]:
    """The image's own lines whose floor is below what the Training Hub requires (the
    resolver moves the pin anyway; the maintainers raise the line to say so)."""
    with IndexClient(indexes[0]) as client:
        links = next((files for v, files in client.versions(HUB).items()
                      if canonicalize_version(v) == canonicalize_version(hub.version)), [])
        wheel = next((link for link in links if link.filename.endswith(".whl")), None)
        if wheel is None:
            return []
        metadata = client.metadata(wheel)
    env = _environment(python)
    out = []
    for req in _requires(metadata, set(hub.extras.split(",")) - {""}, env):
        needs = _floor(req.specifier)
        mine = [(dep, r) for dep in hub.facts.dependencies if _parses(dep.text)
                and canonical((r := Requirement(dep.text)).name) == canonical(req.name)
                and (r.marker is None or r.marker.evaluate(env))]
        if needs is None or not mine:
            continue
        has = max((f for _, r in mine if (f := _floor(r.specifier)) is not None), default=None)
        if has is None or has < needs:
            dep = mine[0][0]
            out.append(Conflict(hub.rel, dep.line, str(req),
                                f"{hub.label()} requires {req.name}{req.specifier}, above this "
                                f"line's floor ({dep.text}): raise it to match", "floor"))
    return sorted(out, key=lambda c: c.line)


def _environment(python: str) -> dict[str, str]:
    env = {key: str(value) for key, value in default_environment().items()}
    env.update(sys_platform="linux", platform_system="Linux", os_name="posix",
               python_version=python, python_full_version=f"{python}.0", extra="")
    return env


def _requires(metadata: str, extras: set[str], env: dict[str, str]) -> list[Requirement]:
    """Requires-Dist lines that apply to the image (its extras, Linux, its Python), once."""
    out: dict[str, Requirement] = {}
    for raw in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []:
        if not _parses(raw):
            continue
        req = Requirement(raw)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e})
                                     for e in sorted(extras) or [""]):
            out.setdefault(str(req), req)
    return list(out.values())


def _parses(text: str) -> bool:
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


def _floor(spec: SpecifierSet) -> Version | None:
    """The lowest version a specifier allows, as its lower bounds say (None: no bound)."""
    bounds = [Version(s.version.rstrip(".*")) for s in spec
              if s.operator in (">=", ">", "==", "~=", "===") and not s.version.endswith("*")]
    return max(bounds, default=None)
