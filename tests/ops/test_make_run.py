"""``make run``'s launcher (``python -m kit.devrun``): a second start checks the databases
without importing the apps and prepares nothing; whatever changed is migrated and seeded
again; the URLs and working tokens are printed once the gateway is ready."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.databases import APPS
from tests.support.processes import COMMAND_TIMEOUT_SECONDS, ROOT, free_port

READY_TIMEOUT_SECONDS = 300
HONCHO_LINE = re.compile(r"^\d\d:\d\d:\d\d ")


def sqlite_environment(directory: Path, apps: tuple[str, ...]) -> dict[str, str]:
    """The stamp is for SQLite (make run's default): these tests use SQLite files."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(tuple(f"{a.upper()}_" for a in APPS))
    }
    for app in apps:
        env[f"{app.upper()}_DATABASE_URL"] = f"sqlite+aiosqlite:///{directory / app}.db"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def prepare(directory: Path, env: dict[str, str], *apps: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "kit.devrun", "--prepare-only", "--state-dir", "state"]
        + [part for app in apps for part in ("--app", app)],
        env=env,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as db:
        return list(db.execute(query))


class TestTheDatabaseCheck:
    def test_a_second_start_migrates_and_seeds_nothing(self, tmp_path: Path) -> None:
        env = sqlite_environment(tmp_path, ("training", "coaching"))

        first = prepare(tmp_path, env, "training", "coaching")
        started = time.monotonic()
        second = prepare(tmp_path, env, "training", "coaching")
        took = time.monotonic() - started

        assert "migrating and seeding training, coaching (in parallel)" in first
        assert "training: demo content loaded" in first
        assert "coaching: demo coaching data loaded" in first
        assert "training: up to date: migrations at head" in second
        assert "coaching: up to date: migrations at head" in second
        assert "migrating" not in second
        assert rows(tmp_path / "training.db", "SELECT count(*) FROM policies") == [(1,)]
        # Only the standard library and two SQLite reads: far below one app's imports.
        assert took < 5, f"the check took {took:.1f} s"

    def test_a_replaced_database_or_new_migrations_are_prepared_again(self, tmp_path: Path) -> None:
        env = sqlite_environment(tmp_path, ("training", "coaching"))
        prepare(tmp_path, env, "training", "coaching")
        (tmp_path / "coaching.db").unlink()
        # As if training's migration scripts had changed since (a pull brought one).
        stamp = tmp_path / "state" / "training.json"
        stamp.write_text(json.dumps(json.loads(stamp.read_text()) | {"migrations": "older"}))

        again = prepare(tmp_path, env, "training", "coaching")
        third = prepare(tmp_path, env, "training", "coaching")

        assert "migrating and seeding training, coaching" in again
        assert "training: already seeded" in again
        assert "coaching: demo coaching data loaded" in again
        assert rows(tmp_path / "coaching.db", "SELECT count(*) FROM coaches") == [(2,)]
        assert "migrating" not in third

    def test_another_database_url_is_prepared(self, tmp_path: Path) -> None:
        env = sqlite_environment(tmp_path, ("training",))
        prepare(tmp_path, env, "training")
        env["TRAINING_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'other'}.db"

        again = prepare(tmp_path, env, "training")

        assert "training: demo content loaded" in again
        assert rows(tmp_path / "other.db", "SELECT count(*) FROM policies") == [(1,)]


@pytest.mark.e2e
class TestMakeRun:
    def test_twice_the_second_prepares_nothing_and_prints_working_tokens(
        self, tmp_path: Path
    ) -> None:
        env = sqlite_environment(tmp_path, APPS)
        ports = {app: free_port() for app in APPS}
        for app in APPS:
            env[f"{app.upper()}_PORT"] = str(ports[app])
            if app != "gateway":
                env[f"{app.upper()}_GATEWAY_URL"] = f"http://127.0.0.1:{ports['gateway']}"
                env[f"GATEWAY_{app.upper()}_URL"] = f"http://127.0.0.1:{ports[app]}"
        env["GATEWAY_SMTP_PORT"] = str(free_port())

        first, _ = self.run_until_ready(tmp_path, env, ports["gateway"])
        second, me = self.run_until_ready(tmp_path, env, ports["gateway"])

        assert "migrating and seeding gateway, training, coaching, incidents" in first
        assert "migrating" not in second
        assert all(f"{app}: up to date" in second for app in APPS)
        assert "Ready in" in second
        assert f"Gateway   http://127.0.0.1:{ports['gateway']}" in second
        assert me == "emma.employee"

    def run_until_ready(
        self, directory: Path, env: dict[str, str], gateway_port: int
    ) -> tuple[str, str]:
        """The launcher as ``make run`` starts it, until its banner; then emma's printed
        token is used, and SIGTERM stops everything (passed on to honcho and every app).
        Returns the launcher's own lines (not the apps' logs) and who the token is."""
        process = subprocess.Popen(
            [sys.executable, "-m", "kit.devrun", "--procfile", str(ROOT / "Procfile")]
            + [part for app in APPS for part in ("--app", app)]
            + ["--user", "emma.employee", "--user", "hannah.hr"],
            env=env,
            cwd=directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        done = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if "Ctrl-C stops everything" in line:
                    done.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert done.wait(READY_TIMEOUT_SECONDS), "".join(lines)
            own = [line for line in lines if not HONCHO_LINE.match(line)]
            token = next(line.split()[1] for line in own if line.startswith("    emma.employee "))
            me = httpx.get(
                f"http://127.0.0.1:{gateway_port}/api/v1/me",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            reader.join(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        assert process.returncode is not None
        return "".join(own), str(me.json()["user_name"])
