"""The four apps as real processes on free loopback ports, started the way the container
image and ``make run`` start them: ``python -m <app> migrate | seed | serve``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.support.databases import APPS, DatabaseSet, create_databases, drop_databases

READY_TIMEOUT_SECONDS = 60
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
            timeout=60,
        )
        return result.stdout.decode().strip()


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
    return env


async def wait_until_ready(stack: RunningStack) -> None:
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=2) as client:
        for app in APPS:
            while True:
                process = stack.processes[app]
                if process.poll() is not None:
                    raise RuntimeError(f"{app} exited with {process.returncode}; see {stack.logs}")
                try:
                    if (await client.get(stack.url(app) + "/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(
                        f"{app} not ready after {READY_TIMEOUT_SECONDS} s; see {stack.logs}"
                    )
                await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def e2e_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseSet]:
    databases = create_databases(f"smp_e2e_{os.getpid()}", tmp_path_factory.mktemp("e2e"))
    yield databases
    drop_databases(databases)


@pytest.fixture(scope="module")
async def running_processes(
    e2e_databases: DatabaseSet, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    ports = {app: free_port() for app in APPS}
    env = stack_environment(e2e_databases, ports)
    stack = RunningStack(ports=ports, env=env, processes={}, logs=logs)
    await asyncio.gather(*(asyncio.to_thread(_prepare, stack, app) for app in APPS))
    log_files = [_start(stack, app) for app in APPS]
    try:
        await wait_until_ready(stack)
        yield stack
    finally:
        for process in stack.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in stack.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in log_files:
            log.close()


def _start(stack: RunningStack, app: str) -> IO[bytes]:
    """Start ``python -m <app> serve``: the same entrypoint the Procfile and the images use."""
    log = (stack.logs / f"{app}.log").open("wb")
    stack.processes[app] = subprocess.Popen(
        [sys.executable, "-m", app, "serve"],
        env=stack.env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return log


def _prepare(stack: RunningStack, app: str) -> None:
    stack.command(app, "migrate")
    stack.command(app, "seed")
