"""The main job end to end, on the bundled examples, against a local index.

Starts the local package index, copies the bundled image folders into a new
git repository in a temp folder, runs `bumper major --cuda 12.8 --yes` there
(plan, rewrite, uv lock, check, commit), shows the commit and runs
`bumper check`, then stops the index. Nothing in this checkout is changed.

    .venv/bin/python scripts/demo.py [--keep]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from localindex.server import IndexServer  # noqa: E402


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
    print(f"\n$ {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, cwd=cwd, env=env, check=False).returncode


def main() -> int:
    keep = "--keep" in sys.argv
    bumper = str(Path(sys.executable).with_name("bumper"))
    work = Path(tempfile.mkdtemp(prefix="bumper-demo-"))
    try:
        shutil.copytree(ROOT / "images", work / "images")
        git = ["git", "-c", "user.name=bumper demo", "-c", "user.email=demo@example.invalid"]
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=work, check=True)
        subprocess.run([*git, "add", "-A"], cwd=work, check=True)
        subprocess.run([*git, "commit", "-qm", "bundled example images"], cwd=work, check=True)
        with IndexServer() as index:
            print(f"local index on {index.base_url} (BUMPER_INDEX_MAP={index.prefix_map})")
            env = dict(os.environ, BUMPER_INDEX_MAP=index.prefix_map, UV_PYTHON_DOWNLOADS="never",
                       GIT_AUTHOR_NAME="bumper demo", GIT_AUTHOR_EMAIL="demo@example.invalid",
                       GIT_COMMITTER_NAME="bumper demo",
                       GIT_COMMITTER_EMAIL="demo@example.invalid")
            rc = sh([bumper, "major", "--cuda", "12.8", "--yes"], work, env)
            if rc != 0:
                return rc
        sh(["git", "--no-pager", "log", "--stat", "-1"], work)
        rc = sh([bumper, "check"], work)
        print(f"\ndemo repository: {work}" if keep else "")
        return rc
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
