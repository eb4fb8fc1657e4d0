"""The Node half of the benchmarks (bench/js): installed from its lockfile on first use.

node_modules is git-ignored, so a fresh checkout has none; `npm ci` reproduces exactly the
pinned versions in package-lock.json, which keeps the reference server the same across runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

JS_DIR = Path(__file__).resolve().parent / "js"
YWS_SERVER = JS_DIR / "node_modules" / "y-websocket" / "bin" / "server.js"
HOCUSPOCUS_SERVER = JS_DIR / "hocuspocus-server.mjs"
# Its presence tells a node_modules installed before Hocuspocus joined the lockfile.
HOCUSPOCUS_PACKAGE = JS_DIR / "node_modules" / "@hocuspocus" / "server" / "package.json"
LOADGEN = JS_DIR / "loadgen.mjs"


def node_binary() -> str:
    """Path of `node`, or a clear error when Node.js is missing."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; the benchmarks need Node.js >= 20")
    return node


def ensure_installed() -> None:
    """Run `npm ci` in bench/js when its node_modules is missing or incomplete."""
    installed = (JS_DIR / "node_modules" / "yjs").is_dir()
    if installed and YWS_SERVER.is_file() and HOCUSPOCUS_PACKAGE.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH; it is needed to install bench/js")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True)


def installed_version(package: str) -> str:
    """The version of a package as installed in bench/js/node_modules."""
    manifest = JS_DIR / "node_modules" / package / "package.json"
    return str(json.loads(manifest.read_text())["version"])
