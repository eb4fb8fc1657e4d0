"""A real nginx (Debian's, `.ci/run` installs it) in front of Widen processes, with the
production proxy config: deploy/nginx.conf, copied unchanged, beside the test's own
nginx-upstreams.conf (the given local ports) and nginx-listen.conf (a free port).

It runs as the compose file's nginx service does (`nginx -c ... -p ... -e stderr -g 'daemon
off;'`), from a directory of its own: pid file, temp directories and logs land there, so it
needs no root and no system path. Run as root, nginx's workers drop to an unprivileged user,
which must be able to reach that directory: it is made world-traversable.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.server import ROOT, free_port

NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str:
    """Debian installs nginx in /usr/sbin, which a non-root PATH may lack."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError("nginx is not installed (`apt-get install -y nginx`, as .ci/run does)")
    return found


def nginx_command(conf: str, prefix: str, *options: str, binary: str = "nginx") -> list[str]:
    """How nginx runs the proxy, here and in the compose file's nginx service: the config,
    a writable prefix for its relative paths, errors to stderr from the first line on."""
    return [binary, "-c", conf, "-p", prefix, "-e", "stderr", *options]


class NginxProxy:
    def __init__(self, upstream_ports: list[int], port: int | None = None) -> None:
        """`port`: where to listen, when the servers must know it first (as their allowed
        Origin); a free one otherwise."""
        self.upstream_ports = upstream_ports
        self.port = port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="widen-nginx-"))
        self.directory.chmod(0o755)
        self.conf = self.directory / "nginx.conf"
        self.log_path = self.directory / "nginx.log"
        self._process: subprocess.Popen[bytes] | None = None
        shutil.copyfile(NGINX_CONF, self.conf)
        (self.directory / "nginx-upstreams.conf").write_text(
            "".join(f"server 127.0.0.1:{port};\n" for port in upstream_ports))
        (self.directory / "nginx-listen.conf").write_text(f"listen 127.0.0.1:{self.port};\n")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def command(self, *options: str) -> list[str]:
        """The command the compose file's nginx service runs, on this proxy's files."""
        return nginx_command(str(self.conf), f"{self.directory}/", *options,
                             binary=nginx_binary())

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t`: nginx's own verdict on the config."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)

    def start(self, timeout: float = 10.0) -> NginxProxy:
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(self.command("-g", "daemon off;"),
                                         stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self._process.returncode}:\n"
                                   + self.logs())
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not listen:\n" + self.logs())
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM: nginx's fast shutdown (a graceful one would wait out open websockets); then
        its directory goes."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        shutil.rmtree(self.directory)
