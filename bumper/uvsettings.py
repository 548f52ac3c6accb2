"""The folder's own uv settings, as every uv run of bumper gets them (lock, lock --check,
align): one reader of ``[tool.uv]``, one builder of what uv is handed.

uv's ``pip compile pyproject.toml`` reads two things from a project (see docs/uv-settings.md
for the experiments): ``[tool.uv.sources]`` with the ``[[tool.uv.index]]`` they name, from
the *input* pyproject (even under ``--no-config``); every other ``[tool.uv]`` setting
(``constraint-dependencies``, ``override-dependencies``, ``index-strategy``,
``environments``, ``prerelease``, ``resolution``, ``exclude-newer``...) only from the
project found from the *working directory*, and not at all under ``--no-config``. With
``--no-config --config-file FILE`` uv reads FILE and nothing else: user-level and
system-level configuration stay out. So bumper runs uv in a private temporary folder holding

- ``pyproject.toml``: the folder's, with each ``[[tool.uv.index]]`` URL mapped
  (BUMPER_INDEX_MAP) and without userinfo (credentials go in the one memfd netrc);
- ``uv.toml``: the folder's ``[tool.uv]`` without the keys that name indexes, which bumper
  passes itself (``--index-url``, ``--extra-index-url``, mapped likewise).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bumper.urls import IndexUrl, with_env_credentials

# [tool.uv] keys that name indexes (bumper passes them itself) or only a project can hold
INDEX_KEYS = ("index-url", "extra-index-url", "index", "default-index", "find-links")
PROJECT_ONLY = ("sources", "workspace", "dev-dependencies", "managed", "package",
                "default-groups", "conflicts", "build-backend", "environments",
                "required-environments")  # uv refuses these in a uv.toml


@dataclass(frozen=True)
class NamedIndex:
    name: str
    url: str  # as written (the public URL)
    explicit: bool = False
    default: bool = False


@dataclass(frozen=True)
class UvSettings:
    """What a folder's ``[tool.uv]`` says about resolution."""

    extra_index_urls: tuple[str, ...] = ()
    named: tuple[NamedIndex, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)  # canonical project -> index name
    settings: dict[str, object] = field(default_factory=dict)  # for uv.toml
    constraints: tuple[str, ...] | None = None  # constraint-dependencies (None: no list)
    overrides: tuple[str, ...] | None = None

    def index_of(self, name: str) -> NamedIndex | None:
        """The named index a project must come from ([tool.uv.sources]), if any."""
        from bumper.formats.requirements import canonical

        chosen = self.sources.get(canonical(name))
        return next((idx for idx in self.named if idx.name == chosen), None)

    def other_urls(self) -> list[str]:
        """Every index URL the folder names besides its main one."""
        return list(dict.fromkeys([*self.extra_index_urls, *(i.url for i in self.named)]))

    def config_text(self) -> str:
        import tomlkit

        return tomlkit.dumps(self.settings)


def read(pyproject_text: str) -> UvSettings:
    """The folder's uv settings ({} when it has none or its TOML does not parse)."""
    from bumper.formats.requirements import canonical

    try:
        tool = tomllib.loads(pyproject_text.lstrip("\ufeff")).get("tool")
    except tomllib.TOMLDecodeError:
        return UvSettings()
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if not isinstance(uv, dict):
        return UvSettings()
    extra = uv.get("extra-index-url")
    extras = [extra] if isinstance(extra, str) else [u for u in extra or [] if isinstance(u, str)]
    named = []
    entries = uv.get("index")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            named.append(NamedIndex(str(entry.get("name", "")), entry["url"],
                                    bool(entry.get("explicit")), bool(entry.get("default"))))
    sources = {}
    for project, source in (uv.get("sources") or {}).items():
        if isinstance(source, dict) and isinstance(source.get("index"), str):
            sources[canonical(project)] = source["index"]
    settings = {k: v for k, v in uv.items() if k not in INDEX_KEYS + PROJECT_ONLY}
    return UvSettings(tuple(extras), tuple(named), sources, settings,
                      _strings(uv.get("constraint-dependencies")),
                      _strings(uv.get("override-dependencies")))


def _strings(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(item for item in value if isinstance(item, str))


def indexes(urls: list[str] | tuple[str, ...], main: IndexUrl) -> tuple[IndexUrl, ...]:
    """Index URLs as uv gets them (mapped; the URL's own credentials, else the environment's),
    without the main index and without repeats."""
    out: list[IndexUrl] = []
    for url in dict.fromkeys(urls):
        index = with_env_credentials(url)
        if index.public != main.public and index not in out:
            out.append(index)
    return tuple(out)


def uv_pyproject(pyproject_text: str, indexes: tuple[IndexUrl, ...]) -> str:
    """The pyproject uv is given: each ``[[tool.uv.index]]`` URL replaced by the request URL
    (mapped, no userinfo) of the same index."""
    settings = read(pyproject_text)
    if not settings.named:
        return pyproject_text
    import tomlkit

    doc = tomlkit.parse(pyproject_text)
    by_public = {index.public: index.request_url() for index in indexes}
    for entry in doc["tool"]["uv"]["index"]:
        url = str(entry.get("url"))
        entry["url"] = by_public.get(IndexUrl.parse(url).public, url)
    return tomlkit.dumps(doc)


def write_inputs(where: Path, pyproject_text: str, indexes: tuple[IndexUrl, ...]) -> list[str]:
    """Write uv's pyproject.toml and uv.toml into ``where``; the arguments that make uv read
    that config file and nothing else."""
    (where / "pyproject.toml").write_text(uv_pyproject(pyproject_text, indexes),
                                          encoding="utf-8")
    config = where / "uv.toml"
    config.write_text(read(pyproject_text).config_text(), encoding="utf-8")
    return ["--no-config", f"--config-file={config}"]
