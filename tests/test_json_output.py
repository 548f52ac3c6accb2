"""`--format json`: every command's output validates against its schema in tests/schemas/.

The schemas close every object (additionalProperties: false), so a key added,
renamed or dropped fails here first; change the schema and docs/json-output.md
with it (and raise "schema" for a change that breaks readers).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from localindex.server import IndexServer
from tests.helpers import CPU, CUDA, FOLDERS, IMAGES, REPO, replace, run_cli

SCHEMAS = Path(__file__).parent / "schemas"
DOCS = REPO / "docs" / "json-output.md"
COMMANDS = {"check": "check", "lock": "lock", "major": "major", "minor": "minor",
            "index versions": "index-versions", "index missing": "index-missing",
            "align": "align"}


def _load() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.glob("*.json")}


LOADED = _load()
REGISTRY: Registry[Any] = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in LOADED.values())


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(LOADED[name], registry=REGISTRY)


def payload(root: Path, *args: str, code: int = 0) -> dict[str, Any]:
    """Run bumper, check the exit status, and parse stdout: one JSON document, nothing else."""
    result = run_cli(root, *args)
    assert result.returncode == code, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def valid(data: dict[str, Any], command: str) -> dict[str, Any]:
    assert data["command"] == command
    validator(COMMANDS[command]).validate(data)
    return data


@pytest.fixture
def index(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> IndexServer:
    """The local index stands in for the examples' public index in every bumper run."""
    monkeypatch.setenv("BUMPER_INDEX_MAP", index_server.prefix_map)
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    return index_server


def rels(*folders: str) -> list[str]:
    return [f"{IMAGES}/{f}" for f in folders]


# --- the schemas themselves --------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LOADED))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(LOADED[name])


@pytest.mark.parametrize(("name", "data"), [
    ("check", {"schema": 1, "command": "check", "ok": True, "folders": [], "findings": [],
               "extra": 1}),
    ("check", {"schema": 2, "command": "check", "ok": True, "folders": [], "findings": []}),
    ("check", {"schema": 1, "command": "check", "ok": True, "folders": [],
               "findings": [{"path": "a", "line": 1, "rule": "r", "message": "m", "fix": "f"}]}),
    ("check", {"schema": 1, "command": "check", "ok": False, "folders": [], "findings": []}),
    ("lock", {"schema": 1, "command": "lock", "check": False, "ok": False, "folders": []}),
    ("major", {"schema": 1, "command": "major", "dry_run": True, "subject": "s", "folders": [],
               "removed": [], "leftovers": [], "warnings": [], "commit": "0" * 40}),
    ("minor", {"schema": 1, "command": "minor", "dry_run": False, "subject": "s",
               "folders": [{"from": "a", "to": "b", "new": True, "files_changed": [],
                            "relock": False, "repins": []}],
               "removed": [], "leftovers": [], "warnings": [], "commit": None}),
    ("index-versions", {"schema": 1, "command": "index versions", "package": "x", "spec": None,
                        "indexes": [{"index": "https://user:secret@host/simple/",
                                     "versions": []}]}),
    ("align", {"schema": 1, "command": "align", "ok": False,
               "folders": [{"path": "a", "training_hub": "0.5.0", "conflicts": []}]}),
], ids=["extra-key", "schema-2", "ok-with-findings", "not-ok-without", "lock-not-ok",
        "dry-run-commit", "minor-new-folder", "credentials", "align-not-ok-without"])
def test_schemas_reject_what_they_should(name: str, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validator(name).validate(data)


def test_docs_describe_every_key() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert '"schema": 1' in docs
    for command, name in COMMANDS.items():
        assert re.search(rf"^## .*`bumper {command}`", docs, re.M), command
        assert f"tests/schemas/{name}.json" in docs, name
    keys: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(list(LOADED.values()))
    for key in sorted(keys):
        assert f"`{key}`" in docs, key


# --- each command, through the real CLI ---------------------------------------------------

@pytest.mark.parametrize("where", ["before", "after"])
def test_check_clean(examples: Path, where: str) -> None:
    args = ("--format", "json", "check") if where == "before" else ("check", "--format", "json")
    data = valid(payload(examples, *args), "check")
    assert data["ok"] is True
    assert data["folders"] == rels(*sorted(FOLDERS))
    assert data["schema"] == 1


def test_an_error_leaves_stdout_empty(examples: Path) -> None:
    result = run_cli(examples, "--format", "json", "check", "no-such-folder")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("bumper: error: no-such-folder: no such image folder")


def test_check_with_findings(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "# END MIDSTREAM ONLY\n", "")
    data = valid(payload(examples, "check", CUDA, "--format", "json", code=1), "check")
    assert data["ok"] is False
    assert data["folders"] == rels(CUDA)
    assert {f["rule"] for f in data["findings"]} >= {"markers"}
    assert all(f["path"].startswith(f"{IMAGES}/{CUDA}") for f in data["findings"])


def test_lock_check_and_lock(examples: Path, index: IndexServer) -> None:
    data = valid(payload(examples, "--format", "json", "lock", "--check"), "lock")
    assert data["ok"] is True and data["check"] is True
    assert [f["path"] for f in data["folders"]] == rels(*sorted(FOLDERS))
    replace(examples, f"{CPU}/pyproject.toml", '"numpy>=2.0.0,<2.4"', '"numpy>=2.0.0,<2.3"')
    data = valid(payload(examples, "--format", "json", "lock", "--check", CPU, code=1), "lock")
    assert data["ok"] is False
    assert data["folders"] == [{"path": f"{IMAGES}/{CPU}", "changed": True}]
    data = valid(payload(examples, "--format", "json", "lock", CPU), "lock")
    assert data == {"schema": 1, "command": "lock", "check": False, "ok": True,
                    "folders": [{"path": f"{IMAGES}/{CPU}", "changed": True}]}


def test_major_dry_run(examples: Path, index: IndexServer) -> None:
    data = valid(payload(examples, "--format", "json", "major", "--torch", "2.10.0",
                         "--retire", "--dry-run"), "major")
    assert data["dry_run"] is True and data["commit"] is None
    assert sorted(f["to"] for f in data["folders"]) == rels(
        *sorted(f.replace("torch291", "torch210") for f in FOLDERS))
    assert sorted(data["removed"]) == rels(*sorted(FOLDERS))
    assert data["subject"] == "major: PyTorch 2.9.1 -> 2.10.0 (3 folders)"
    assert not (examples / IMAGES / CUDA.replace("torch291", "torch210")).exists()


def test_major_applied(git_repo: Path, index: IndexServer) -> None:
    data = valid(payload(git_repo, "major", "--torch", "2.10.0", "--from", CUDA, "--yes",
                         "--format", "json"), "major")
    head = (git_repo / ".git").joinpath("HEAD").read_text(encoding="utf-8")
    assert head.startswith("ref: ")
    sha = (git_repo / ".git" / head[5:].strip()).read_text(encoding="utf-8").strip()
    assert data["commit"] == sha
    assert data["dry_run"] is False
    assert data["folders"][0]["from"] == f"{IMAGES}/{CUDA}"
    assert "requirements.txt" in data["folders"][0]["files_changed"]


def test_minor_dry_run_and_applied(git_repo: Path, index: IndexServer) -> None:
    data = valid(payload(git_repo, "--format", "json", "minor", "--base-image", ":2025b-v1.40",
                         "--dry-run"), "minor")
    assert data["commit"] is None
    assert [f["to"] for f in data["folders"]] == rels(*sorted(FOLDERS))
    assert all(f["from"] == f["to"] for f in data["folders"])
    data = valid(payload(git_repo, "--format", "json", "minor", CUDA, "--set",
                         "starlette~=1.3.1", "--no-lock", "--yes"), "minor")
    assert data["folders"][0]["repins"] == ["starlette==1.3.1"]  # transitive: the lock alone
    assert isinstance(data["commit"], str)


def test_minor_nothing_to_do(examples: Path) -> None:
    base = "registry.example.com/opendatahub/odh-workbench-jupyter-minimal-cuda-py312-ubi9"
    data = valid(payload(examples, "--format", "json", "minor", CUDA, "--base-image",
                         f"{base}:2025b-v1.39", "--yes"), "minor")
    assert data["folders"] == [] and data["commit"] is None


def test_index_versions(examples: Path, index: IndexServer) -> None:
    data = valid(payload(examples, "--format", "json", "index", "versions", "torch",
                         "--spec", ">=2.10"), "index versions")
    assert data["package"] == "torch" and data["spec"] == ">=2.10"
    assert len(data["indexes"]) == 3
    for row in data["indexes"]:
        assert row["versions"] == [{"version": "2.10.0", "matches": True},
                                   {"version": "2.9.1", "matches": False}]
    data = valid(payload(examples, "--format", "json", "index", "versions", "no-such-package",
                         "--image", CUDA), "index versions")
    assert data["spec"] is None
    assert data["indexes"][0]["versions"] == []


def test_index_missing(examples: Path, index: IndexServer) -> None:
    data = valid(payload(examples, "--format", "json", "index", "missing"), "index missing")
    assert data["ok"] is True and data["missing"] == []
    index.hide("starlette", "1.2.0")
    data = valid(payload(examples, "--format", "json", "index", "missing", CUDA, code=1),
                 "index missing")
    assert data["ok"] is False
    assert [(m["name"], m["version"], m["folder"]) for m in data["missing"]] == [
        ("starlette", "1.2.0", f"{IMAGES}/{CUDA}")]


def test_align(examples: Path, index: IndexServer) -> None:
    data = valid(payload(examples, "--format", "json", "align"), "align")
    assert data["ok"] is True
    assert {f["training_hub"] for f in data["folders"]} == {"0.5.0"}
    replace(examples, f"{CUDA}/pyproject.toml", '"numpy>=2.0.0,<2.4"', '"numpy<1.20"')
    data = valid(payload(examples, "--format", "json", "align", CUDA, code=1), "align")
    assert data["ok"] is False
    [conflict] = data["folders"][0]["conflicts"]
    assert conflict["requirement"].startswith("numpy")
    assert conflict["line"] > 0
