"""The four apps as real processes on free loopback ports, started the way the container
images and ``make run`` start them: ``python -m <app> migrate | seed | serve``. Used by the
end-to-end tests and by the ops tests (logs, metrics, signals)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.support.databases import APPS, DatabaseSet

POLL_SECONDS = 0.05
EXIT_TIMEOUT_SECONDS = 30
# Generous: a process's start costs seconds of CPU (imports, migrations), and on a loaded
# 2-core machine that is minutes of wall time; a real hang still fails, only later.
READY_TIMEOUT_SECONDS = 180
COMMAND_TIMEOUT_SECONDS = 180
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    ports: dict[str, int]
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    logs: Path

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    def command(self, app: str, *args: str) -> str:
        """Run ``python -m app args`` with the stack's environment; its stdout."""
        result = subprocess.run(
            [sys.executable, "-m", app, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return result.stdout.decode().strip()

    async def restart(self, app: str, *, extra_env: dict[str, str] | None = None) -> None:
        """Start ``app`` again (after it died or was stopped), with ``extra_env`` on top of
        the stack's environment, and wait until it is ready."""
        process = self.processes[app]
        if process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait, EXIT_TIMEOUT_SECONDS)
        _start(self, app, extra_env=extra_env, append=True).close()
        await _ready(self, app)


def stack_environment(databases: DatabaseSet, ports: dict[str, int]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(tuple(f"{a.upper()}_" for a in APPS))
    }
    for app in APPS:
        prefix = app.upper()
        env[f"{prefix}_DATABASE_URL"] = databases.urls[app]
        env[f"{prefix}_PORT"] = str(ports[app])
        env[f"{prefix}_HOST"] = "127.0.0.1"
        if app != "gateway":
            env[f"{prefix}_GATEWAY_URL"] = f"http://127.0.0.1:{ports['gateway']}"
            env["GATEWAY_" + prefix + "_URL"] = f"http://127.0.0.1:{ports[app]}"
    # E-mail goes nowhere unless a test starts a catcher (never to a `make run` catcher).
    env["GATEWAY_SMTP_PORT"] = str(free_port())
    return env


def serve_command(app: str) -> list[str]:
    """What the Dockerfile's CMD and the Procfile run."""
    return [sys.executable, "-m", app, "serve"]


@asynccontextmanager
async def started_processes(
    databases: DatabaseSet,
    logs: Path,
    *,
    apps: Sequence[str] = APPS,
    seed: bool = True,
    prepared: bool = False,
    app_logs: bool = False,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[RunningStack]:
    """``apps`` migrated (and seeded) on ``databases``, started and ready; on the way out
    SIGTERM whatever still runs. ``app_logs``: INFO and access lines on their stdout;
    ``settings``: more environment variables (``GATEWAY_MAX_CONNECTIONS``...);
    ``prepared``: the databases are already migrated (and seeded) for ``apps``."""
    ports = {app: free_port() for app in APPS}
    env = stack_environment(databases, ports) | dict(settings or {})
    if app_logs:
        for app in apps:
            env[f"{app.upper()}_LOG_LEVEL"] = "INFO"
            env[f"{app.upper()}_ACCESS_LOG"] = "true"
    stack = RunningStack(ports=ports, env=env, processes={}, logs=logs)
    if not prepared:
        await asyncio.gather(*(asyncio.to_thread(_prepare, stack, app, seed) for app in apps))
    log_files: list[IO[bytes]] = []
    try:
        log_files = [_start(stack, app) for app in apps]
        await asyncio.gather(*(_ready(stack, app) for app in apps))
        yield stack
    finally:
        for process in stack.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a test may have left one frozen
                process.send_signal(signal.SIGTERM)
        for process in stack.processes.values():
            try:
                process.wait(timeout=EXIT_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in log_files:
            log.close()


def _start(
    stack: RunningStack,
    app: str,
    *,
    extra_env: dict[str, str] | None = None,
    append: bool = False,
) -> IO[bytes]:
    log = (stack.logs / f"{app}.log").open("ab" if append else "wb")
    stack.processes[app] = subprocess.Popen(
        serve_command(app),
        env={**stack.env, **(extra_env or {})},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return log


def _prepare(stack: RunningStack, app: str, seed: bool) -> None:
    stack.command(app, "migrate")
    if seed:
        stack.command(app, "seed")


async def _ready(stack: RunningStack, app: str) -> None:
    process = stack.processes[app]

    async def is_ready(client: httpx.AsyncClient) -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited with {process.returncode}; see {stack.logs}")
        try:
            return (await client.get(stack.url(app) + "/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=2) as client:
        while not await is_ready(client):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{app} not ready after {READY_TIMEOUT_SECONDS} s")
            await asyncio.sleep(POLL_SECONDS)
