"""The images run what the tests run, and compose wires them as the README says.

There is no Docker engine here: the Dockerfiles are linted by hadolint and the compose file
is validated against the compose specification in CI (`make check-deploy`). These tests pin
what those tools cannot know: the image's command is the entrypoint the Procfile and the
process tests start, each app's migration step runs before it, only the gateway is published.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from kit.settings import AppSettings
from tests.ops.processes import serve_command

ROOT = Path(__file__).resolve().parents[2]
APPS = ("gateway", "training", "coaching", "incidents")
SERVICES = ("training", "coaching", "incidents")
DOCKERFILES = {
    "gateway": ROOT / "gateway" / "Dockerfile",
    **{app: ROOT / "services" / app / "Dockerfile" for app in SERVICES},
}


def instructions(app: str, keyword: str) -> list[str]:
    """The arguments of every ``keyword`` instruction, continuation lines joined."""
    text = DOCKERFILES[app].read_text().replace("\\\n", " ")
    pattern = re.compile(rf"^{keyword}\s+(.*)$", re.MULTILINE)
    return [match.group(1).strip() for match in pattern.finditer(text)]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(ROOT / "docker-compose.yml")
    return loaded


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


@pytest.mark.parametrize("app", APPS)
class TestImage:
    def test_it_runs_the_procfile_entrypoint_the_process_tests_start(self, app: str) -> None:
        [cmd] = instructions(app, "CMD")

        assert json.loads(cmd) == ["python", "-m", app, "serve"]
        assert procfile()[app] == " ".join(json.loads(cmd))
        assert serve_command(app)[1:] == json.loads(cmd)[1:]

    def test_it_installs_only_its_member_from_the_lock_file(self, app: str) -> None:
        syncs = [line for line in instructions(app, "RUN") if "uv sync" in line]

        assert syncs
        assert all(f"--frozen --no-dev --package smp-{app}" in line for line in syncs)

    def test_it_runs_slim_as_a_non_root_user_with_a_health_check(self, app: str) -> None:
        [user] = instructions(app, "USER")
        [healthcheck] = instructions(app, "HEALTHCHECK")

        assert instructions(app, "FROM")[-1] == "python:3.12-slim"
        assert user.split(":")[0] not in ("root", "0")
        assert "/healthz" in healthcheck
        assert f"{app.upper()}_HOST=0.0.0.0" in " ".join(instructions(app, "ENV"))

    def test_it_bakes_in_no_secret(self, app: str) -> None:
        settings = " ".join(instructions(app, "ENV") + instructions(app, "ARG")).upper()

        assert "SECRET" not in settings
        assert "PASSWORD" not in settings


class TestCompose:
    @pytest.mark.parametrize("app", APPS)
    def test_each_app_waits_for_its_migration_step_on_the_same_image(self, app: str) -> None:
        services = compose()["services"]
        migrate = services[f"{app}-migrate"]

        assert migrate["command"] == ["python", "-m", app, "migrate"]
        assert migrate["image"] == services[app]["image"]
        assert migrate["build"] == services[app]["build"]
        assert services[app]["depends_on"][f"{app}-migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}

    def test_only_the_reverse_proxy_publishes_ports(self) -> None:
        services = compose()["services"]

        assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
        assert services["proxy"]["image"].startswith("caddy:")

    def test_the_proxy_reaches_the_gateway_alone_and_the_gateway_trusts_only_it(self) -> None:
        config = compose()
        services = config["services"]
        edge = [name for name, service in services.items() if "edge" in service["networks"]]
        trusted = services["gateway"]["environment"]["GATEWAY_TRUSTED_PROXIES"]

        assert sorted(edge) == ["gateway", "proxy"]
        assert config["networks"]["edge"]["ipam"]["config"][0]["subnet"] in trusted

    def test_the_proxy_cuts_off_slow_clients_as_the_apps_do(self) -> None:
        caddyfile = (ROOT / "docker" / "caddy" / "Caddyfile").read_text()
        defaults = {name: field.default for name, field in AppSettings.model_fields.items()}

        assert f"read_header {defaults['header_timeout_seconds']:g}s" in caddyfile
        assert f"read_body {defaults['body_timeout_seconds']:g}s" in caddyfile
        assert "reverse_proxy gateway:8000" in caddyfile

    def test_the_services_and_the_database_are_only_on_the_internal_network(self) -> None:
        config = compose()

        assert config["networks"]["internal"]["internal"] is True
        for name in ("postgres", *SERVICES):
            assert config["services"][name]["networks"] == ["internal"]

    @pytest.mark.parametrize("app", APPS)
    def test_each_app_uses_its_own_database_and_role(self, app: str) -> None:
        environment = compose()["services"][app]["environment"]

        url = environment[f"{app.upper()}_DATABASE_URL"]
        assert url.startswith(f"postgresql+asyncpg://{app}:")
        assert url.endswith(f"@postgres:5432/{app}")
