"""What the gateway adds to a request: the same GET, straight to a service and through the
gateway, measured with ``wrk`` at concurrency 1 and 16.

    .venv/bin/python -m bench.proxy_overhead [--seconds 2] [--rounds 9]

Starts the coaching service and the gateway as real processes (``python -m <app> serve``,
as ``make run`` does) on free loopback ports, each on its own fresh SQLite database that
is migrated and seeded, then asks both for one demo coach (``GET
/api/v1/coaching/coaches/{id}``: a primary-key read plus the coach's open load, from
coaching's database on every request). Beside them it starts this machine's floors
(``bench.floor``): a proxy that does no work, in front of the same service, and an empty
FastAPI route. Each round makes all six runs, one after the other; the figures printed
are the medians over the rounds, because one run on a shared VM can be off by a few
tenths of a millisecond. The overheads at c=1 are paired: each round's run minus the
same round's direct run, then the median of those differences, as the machine's speed
drifts over minutes. Prints requests per second, p50/p99 latency and the CPU the
service and the proxy in front of it spent per request, what the floors allow, the
overhead at the median, and whether the targets are met:

* concurrency 1: the gateway adds at most 0.3 ms to the median;
* concurrency 16: the gateway keeps at least 60 % of the direct throughput, p99 < 10 ms.

Exits 1 when a target is missed. Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.stack import machine
from gateway.auth import sign_dev_token
from gateway.config import GatewaySettings
from kit.demo import demo_person_id
from kit.identity import InternalTokenSigner, PrincipalKind
from kit.settings import DEV_INTERNAL_TOKEN_SECRET

SERVICE = "coaching"
DEMO_USER = "emma.employee"
MEDIAN_OVERHEAD_TARGET_MS = 0.3
THROUGHPUT_TARGET = 0.60
P99_TARGET_MS = 10.0
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    # CPU time each process spent per request: the one that answers, and the gateway or
    # the forwarder in front of it (0 on direct runs).
    service_cpu_ms: float = 0.0
    proxy_cpu_ms: float = 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), load-independent unlike latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_opener() -> urllib.request.OpenerDirector:
    # Loopback only: ignore any HTTP proxy configured in the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def run_app(app: str, command: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", app, command], env=env, check=True, stdout=subprocess.DEVNULL
    )


@contextlib.contextmanager
def serving(module: str, *args: str, env: dict[str, str], port: int) -> Iterator[int]:
    """``python -m module args...`` until the block ends; yields its pid once healthy."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args], env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_healthy(port, process)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    opener = loopback_opener()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process on port {port} exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            opener.open(f"http://127.0.0.1:{port}/healthz", timeout=1),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing healthy on port {port} after {timeout} s")


def wrk(url: str, token: str, *, connections: int, seconds: int) -> Result:
    output = subprocess.run(
        [
            "wrk",
            "--latency",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw error responses from {url}:\n{output}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    if rps is None or count is None:
        raise RuntimeError(f"no request counts in wrk's output:\n{output}")
    return Result(
        float(rps.group(1)), _percentile(output, "50"), _percentile(output, "99"), int(count[1])
    )


def _percentile(output: str, which: str) -> float:
    match = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {which}th percentile in wrk's output:\n{output}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def internal_token(person: uuid.UUID) -> str:
    """What the gateway would send to the service for ``person``."""
    return InternalTokenSigner(DEV_INTERNAL_TOKEN_SECRET, lifetime_seconds=60).sign(
        audience=SERVICE,
        subject=str(person),
        kind=PrincipalKind.USER,
        roles=["employee"],
        request_id=uuid.uuid4().hex,
    )


def first_coach_path(port: int, person: uuid.UUID) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/{SERVICE}/coaches?limit=1",
        headers={"Authorization": f"Bearer {internal_token(person)}"},
    )
    with loopback_opener().open(request, timeout=5) as response:
        coach_id = json.load(response)["items"][0]["id"]
    return f"/api/v1/{SERVICE}/coaches/{coach_id}"


def environment(directory: Path, service_port: int, gateway_port: int) -> dict[str, str]:
    env = dict(os.environ)
    prefix = SERVICE.upper()
    env.update(
        {
            f"{prefix}_DATABASE_URL": f"sqlite+aiosqlite:///{directory / f'{SERVICE}.db'}",
            f"{prefix}_PORT": str(service_port),
            f"{prefix}_ACCESS_LOG": "false",
            f"{prefix}_LOG_LEVEL": "WARNING",
            f"{prefix}_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
            "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'gateway.db'}",
            "GATEWAY_PORT": str(gateway_port),
            f"GATEWAY_{prefix}_URL": f"http://127.0.0.1:{service_port}",
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # The limiter stays in the path (its cost is measured), but never refuses here.
            "GATEWAY_RATE_LIMIT_PER_SECOND": "1000000",
            "GATEWAY_RATE_LIMIT_BURST": "1000000",
        }
    )
    return env


Key = tuple[str, int]  # (route, concurrency)
# "forwarder" (a proxy doing no work, in front of the same service) and "empty" (an empty
# FastAPI route) are this machine's floors, measured in the same rounds (bench.floor).
KEYS: tuple[Key, ...] = (
    ("direct", 1),
    ("gateway", 1),
    ("forwarder", 1),
    ("direct", 16),
    ("gateway", 16),
    ("empty", 16),
)


@dataclass(frozen=True)
class Route:
    port: int
    service_pid: int  # the process that answers
    proxy_pid: int | None = None  # the process in front of it, if any


def measure(seconds: int, rounds: int) -> tuple[str, dict[Key, list[Result]]]:
    service_port, gateway_port, forwarder_port, empty_port = (free_port() for _ in range(4))
    with tempfile.TemporaryDirectory(prefix="smp-bench-") as tmp:
        env = environment(Path(tmp), service_port, gateway_port)
        for app in (SERVICE, "gateway"):
            run_app(app, "migrate", env)
            run_app(app, "seed", env)
        person = demo_person_id(DEMO_USER)
        user_token = sign_dev_token(GatewaySettings(), person_id=person)
        results: dict[Key, list[Result]] = {key: [] for key in KEYS}
        with (
            serving(SERVICE, "serve", env=env, port=service_port) as service_pid,
            serving("gateway", "serve", env=env, port=gateway_port) as gateway_pid,
            serving(
                "bench.floor", "forwarder", str(forwarder_port), str(service_port),
                env=env, port=forwarder_port,
            ) as forwarder_pid,
            serving("bench.floor", "empty", str(empty_port), env=env, port=empty_port) as empty,
        ):  # fmt: skip
            path = first_coach_path(service_port, person)
            routes = {
                "direct": Route(service_port, service_pid),
                "gateway": Route(gateway_port, service_pid, gateway_pid),
                "forwarder": Route(forwarder_port, service_pid, forwarder_pid),
                "empty": Route(empty_port, empty),
            }
            for round_number in range(rounds):
                for route, connections in KEYS:
                    # Internal tokens live at most 60 s: a fresh one for every run.
                    token = user_token if route == "gateway" else internal_token(person)
                    url = f"http://127.0.0.1:{routes[route].port}{path}"
                    if round_number == 0:
                        wrk(url, token, connections=connections, seconds=2)  # warm-up
                    results[(route, connections)].append(
                        run(routes[route], url, token, connections, seconds)
                    )
        return path, results


def run(route: Route, url: str, token: str, connections: int, seconds: int) -> Result:
    pids = (route.service_pid, route.proxy_pid)
    before = [cpu_seconds(pid) if pid else 0.0 for pid in pids]
    result = wrk(url, token, connections=connections, seconds=seconds)
    after = [cpu_seconds(pid) if pid else 0.0 for pid in pids]
    per_request = 1000 / max(result.requests, 1)
    return dataclasses.replace(
        result,
        service_cpu_ms=(after[0] - before[0]) * per_request,
        proxy_cpu_ms=(after[1] - before[1]) * per_request,
    )


def median_result(runs: list[Result]) -> Result:
    """Each figure's median over the rounds."""
    return Result(
        *(
            statistics.median(getattr(run, field.name) for run in runs)
            for field in dataclasses.fields(Result)
        )
    )


def paired_differences(runs: list[Result], baseline: list[Result]) -> list[float]:
    """p50 of each round's run minus the p50 of the same round's baseline run."""
    return [run.p50_ms - base.p50_ms for run, base in zip(runs, baseline, strict=True)]


def report(path: str, runs: dict[Key, list[Result]]) -> bool:
    results = {key: median_result(key_runs) for key, key_runs in runs.items()}
    print(f"GET {path}  (one coach, read from coaching's database)")
    print(f"medians over {len(runs[KEYS[0]])} rounds; cpu: CPU ms per request of each process")
    print(
        f"{'route':<9} {'conc':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'service cpu':>11} {'proxy cpu':>9}"
    )
    for route, connections in KEYS:
        result = results[(route, connections)]
        print(
            f"{route:<9} {connections:>4} {result.requests_per_second:>7.0f} "
            f"{result.p50_ms:>7.2f} {result.p99_ms:>7.2f} "
            f"{result.service_cpu_ms:>11.3f} {result.proxy_cpu_ms:>9.3f}"
        )
    direct = results[("direct", 16)]
    # The machine's speed drifts over minutes: compare each round's runs with each other
    # (made seconds apart), then take the median of those differences.
    overheads = paired_differences(runs[("gateway", 1)], runs[("direct", 1)])
    floors = paired_differences(runs[("forwarder", 1)], runs[("direct", 1)])
    empty = results[("empty", 16)]
    print("median at c=1 minus direct, round by round:")
    print(f"  gateway   {' '.join(f'{x:+.2f}' for x in overheads)} ms")
    print(f"  forwarder {' '.join(f'{x:+.2f}' for x in floors)} ms")
    print("p99 at c=16, round by round:")
    for route in ("direct", "gateway"):
        print(f"  {route:<9} {' '.join(f'{run.p99_ms:.1f}' for run in runs[(route, 16)])} ms")
    print("what this machine allows (bench.floor):")
    print(f"  a proxy that does no work adds {statistics.median(floors):+.2f} ms at c=1")
    print(
        f"  an empty FastAPI route at c=16: {empty.requests_per_second:.0f} req/s, "
        f"p99 {empty.p99_ms:.2f} ms"
    )
    # Little's law: 16 connections always waiting on one service process.
    print(
        f"  16 connections over the service's {direct.requests_per_second:.0f} req/s wait "
        f"{16000 / direct.requests_per_second:.1f} ms on average before any gateway"
    )
    overhead = statistics.median(overheads)
    kept = results[("gateway", 16)].requests_per_second / direct.requests_per_second
    p99 = results[("gateway", 16)].p99_ms
    checks = [
        (f"median overhead at c=1: {overhead:+.2f} ms (target <= {MEDIAN_OVERHEAD_TARGET_MS})",
         overhead <= MEDIAN_OVERHEAD_TARGET_MS),
        (f"throughput kept at c=16: {kept:.0%} (target >= {THROUGHPUT_TARGET:.0%})",
         kept >= THROUGHPUT_TARGET),
        (f"gateway p99 at c=16: {p99:.2f} ms (target < {P99_TARGET_MS})", p99 < P99_TARGET_MS),
    ]  # fmt: skip
    for text, ok in checks:
        print(f"{'ok    ' if ok else 'MISSED'} {text}")
    return all(ok for _, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=2, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of the six runs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    print(
        f"{machine()}; {args.rounds} rounds of {args.seconds} s runs, each warmed up for 2 s "
        "in the first round"
    )
    return 0 if report(*measure(args.seconds, args.rounds)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
