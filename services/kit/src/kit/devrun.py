"""``make run``'s launcher: ``python -m kit.devrun --app gateway --app training ...``.

1. Each app's database is checked without importing the app (standard library only, a few
   milliseconds): an app whose SQLite database is at the revision its last ``prepare`` left
   (the same migrations, the same database file) and whose demo data is loaded is skipped.
2. The others run ``python -m <app> prepare`` (migrate, then seed if the database is
   empty), all at once, their progress printed as it comes.
3. ``honcho start`` starts every process of the Procfile; once the gateway's ``/readyz``
   answers (its database and the three services ready) the URLs and the demo users'
   development tokens are printed with the time it took. Ctrl-C stops everything.

A database that is not SQLite (``<APP>_DATABASE_URL`` set to PostgreSQL) is always
prepared: its check needs the app's driver, and ``prepare`` skips what is done anyway.

The stamp ``prepare`` writes (``var/.prepared/<app>.json``) records what the check
compares: the database URL as configured (environment or ``.env``), the URL it resolved
to, the database file's inode, a digest of the app's migration scripts and the revisions
the database was left at. Nothing here may import more than the standard library: this is
the part of a second ``make run`` that should cost nothing.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STATE_DIR = Path("var/.prepared")
READY_TIMEOUT_SECONDS = 300.0
# While apps are being migrated and seeded (a first start: seconds of imports each), a line
# this often says which ones are still at it.
PROGRESS_SECONDS = 5.0


# -- the stamp --------------------------------------------------------------------------


def configured(name: str, env_file: Path = Path(".env")) -> str | None:
    """A setting as the apps' settings read it: the environment (any case), then
    ``.env`` in the working directory; None when neither sets it (the app's default)."""
    wanted = name.upper()
    for key, value in os.environ.items():
        if key.upper() == wanted:
            return value
    with contextlib.suppress(OSError):
        for line in env_file.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#") and key.strip().upper() == wanted:
                return value.strip().strip("'\"")
    return None


def app_root(app: str) -> Path:
    """Where the app's ``alembic.ini`` and ``migrations/`` are (``src/<app>`` two levels up),
    found without importing the app."""
    spec = importlib.util.find_spec(app)
    if spec is None or spec.origin is None:
        raise SystemExit(f"devrun: no app named {app!r}")
    return Path(spec.origin).resolve().parents[2]


def migrations_digest(app: str) -> str:
    digest = hashlib.sha256()
    for script in sorted((app_root(app) / "migrations" / "versions").glob("*.py")):
        digest.update(script.name.encode())
        digest.update(script.read_bytes())
    return digest.hexdigest()


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite[+driver]:///path`` URL; None for any other database."""
    scheme, sep, rest = database_url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite":
        return None
    path = rest.split("?")[0]
    return Path(path) if path and path != ":memory:" else None


def sqlite_revisions(path: Path) -> frozenset[str] | None:
    """The database's alembic revisions, or None when it has none (or is not there)."""
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return frozenset(
                row[0] for row in db.execute("SELECT version_num FROM alembic_version")
            )
    except sqlite3.Error:
        return None


@dataclass(frozen=True)
class Stamp:
    configured_url: str | None
    database_url: str
    inode: int
    migrations: str
    revisions: list[str]

    @classmethod
    def read(cls, path: Path) -> Stamp | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def write_stamp(app: str, database_url: str, state_dir: Path = STATE_DIR) -> bool:
    """After ``prepare``: remember what was prepared. Only SQLite is stamped."""
    path = sqlite_path(database_url)
    revisions = sqlite_revisions(path) if path else None
    if path is None or revisions is None:
        return False
    stamp = Stamp(
        configured_url=configured(f"{app}_database_url"),
        database_url=database_url,
        inode=path.stat().st_ino,
        migrations=migrations_digest(app),
        revisions=sorted(revisions),
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / f"{app}.json").write_text(json.dumps(stamp.__dict__))
    return True


def prepared(app: str, state_dir: Path = STATE_DIR) -> str | None:
    """Why the app needs no ``prepare`` (a line for the progress), or None if it does."""
    stamp = Stamp.read(state_dir / f"{app}.json")
    if stamp is None or stamp.configured_url != configured(f"{app}_database_url"):
        return None
    path = sqlite_path(stamp.database_url)
    if path is None or not path.is_file() or path.stat().st_ino != stamp.inode:
        return None
    if stamp.migrations != migrations_digest(app):
        return None
    if sqlite_revisions(path) != frozenset(stamp.revisions):
        return None
    return f"migrations at head ({', '.join(stamp.revisions)}), demo data loaded"


# -- the demo users' tokens ----------------------------------------------------------------


def _token_times(line: str) -> tuple[int, int] | None:
    """(iat, exp) of the JWT at the end of a ``user token`` line."""
    try:
        payload = line.split()[-1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims["iat"]), int(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _tokens_key(users: Sequence[str], state_dir: Path) -> str:
    """What the tokens depend on: the gateway's settings (environment and ``.env``), the
    users and the gateway's database (a new database has new people)."""
    digest = hashlib.sha256()
    for key, value in sorted(os.environ.items()):
        if key.upper().startswith("GATEWAY_"):
            digest.update(f"{key}={value}\n".encode())
    with contextlib.suppress(OSError):
        digest.update(Path(".env").read_bytes())
    digest.update(" ".join(users).encode())
    stamp = Stamp.read(state_dir / "gateway.json")
    digest.update(str(stamp.inode if stamp else None).encode())
    return digest.hexdigest()


def cached_tokens(users: Sequence[str], state_dir: Path) -> str | None:
    """The tokens the last run printed while more than half their lifetime is left (a
    second start then needs no process for them), else None."""
    try:
        cache = json.loads((state_dir / "tokens.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(cache, dict) or cache.get("key") != _tokens_key(users, state_dir):
        return None
    lines = str(cache.get("lines", ""))
    times = [_token_times(line) for line in lines.splitlines() if line.strip()]
    if not times or None in times:
        return None
    now = time.time()
    if any(t is None or now > (t[0] + t[1]) / 2 for t in times):
        return None
    return lines


def keep_tokens(users: Sequence[str], state_dir: Path, lines: str) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "tokens.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps({"key": _tokens_key(users, state_dir), "lines": lines}))


class Tokens:
    """``python -m gateway token`` for the demo users, started beside the apps (or the
    last run's, see ``cached_tokens``)."""

    def __init__(self, users: Sequence[str], state_dir: Path) -> None:
        self.users, self.state_dir = list(users), state_dir
        self.cached = cached_tokens(self.users, state_dir) if self.users else ""
        self.process: subprocess.Popen[str] | None = None
        if self.cached is None:
            arguments = [part for user in self.users for part in ("--user", user)]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "token", *arguments],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def lines(self) -> str:
        if self.process is None:
            return self.cached or ""
        out, _ = self.process.communicate()
        if self.process.returncode == 0 and len(self.users) > 1:
            keep_tokens(self.users, self.state_dir, out)
        return out


# -- the launcher -----------------------------------------------------------------------


def _say(line: str) -> None:
    print(line, flush=True)


def _stream(app: str, pipe: IO[str]) -> None:
    for line in pipe:
        _say(
            f"  {app}: {line.rstrip()}" if not line.startswith(f"{app}:") else f"  {line.rstrip()}"
        )


def prepare_all(apps: Sequence[str], state_dir: Path) -> bool:
    """Check every app; ``python -m <app> prepare`` the ones that need it, in parallel."""
    started = time.monotonic()
    needed: list[str] = []
    for app in apps:
        reason = prepared(app, state_dir)
        if reason is None:
            needed.append(app)
        else:
            _say(f"  {app}: up to date: {reason}")
    if needed:
        _say(f"  migrating and seeding {', '.join(needed)} (in parallel)...")
        processes = {
            app: subprocess.Popen(
                [sys.executable, "-m", app, "prepare", "--state-dir", str(state_dir)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for app in needed
        }
        readers = [
            threading.Thread(target=_stream, args=(app, process.stdout), daemon=True)
            for app, process in processes.items()
            if process.stdout is not None
        ]
        for reader in readers:
            reader.start()
        waited = time.monotonic()
        while running := [app for app, process in processes.items() if process.poll() is None]:
            if time.monotonic() - waited >= PROGRESS_SECONDS:
                waited = time.monotonic()
                elapsed = waited - started
                _say(f"  ... still preparing {', '.join(running)} ({elapsed:.0f} s)")
            time.sleep(0.1)
        failed = [app for app, process in processes.items() if process.returncode != 0]
        for reader in readers:
            reader.join()
        for process in processes.values():
            if process.stdout is not None:
                process.stdout.close()
        if failed:
            _say(f"devrun: prepare failed for {', '.join(failed)} (output above)")
            return False
    _say(f"  databases ready in {time.monotonic() - started:.1f} s")
    return True


def _gateway_port() -> int:
    return int(configured("gateway_port") or 8000)


def wait_ready(url: str, honcho: subprocess.Popen[bytes]) -> bool:
    started = last = time.monotonic()
    while time.monotonic() < started + READY_TIMEOUT_SECONDS and honcho.poll() is None:
        if time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            _say(f"make run: ... waiting for the apps to be ready ({last - started:.0f} s)")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def banner(elapsed: float, tokens: str, mail_dir: Path) -> str:
    public = configured("gateway_public_url") or f"http://127.0.0.1:{_gateway_port()}"
    return "\n".join(
        [
            "",
            f"  Ready in {elapsed:.1f} s.",
            f"  Gateway   {public}",
            f"  API docs  {public}/docs  (OpenAPI: /openapi.json)",
            f"  Mail      {mail_dir.resolve()}/  (every e-mail sent, as .eml; local SMTP "
            f"catcher on 127.0.0.1:{configured('gateway_smtp_port') or 1025})",
            "  Dev tokens (valid 12 h; send as 'Authorization: Bearer <token>'):",
            tokens.rstrip(),
            "",
            f'  Try: curl -H "Authorization: Bearer <token>" {public}/api/v1/me',
            "  Ctrl-C stops everything.",
            "",
        ]
    )


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    _say("make run: checking the databases...")
    if not prepare_all(args.app, args.state_dir):
        return 1
    _say("make run: starting the apps (honcho; their logs follow)...")
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-f", str(args.procfile)])
    # Computed while the apps start (one more process, no waiting after), or the last run's.
    tokens = Tokens(args.user, args.state_dir)

    def stop(signum: int, _frame: object) -> None:
        honcho.send_signal(signum)

    # Ctrl-C reaches honcho from the terminal itself; a SIGTERM to this process is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    ready = wait_ready(f"http://127.0.0.1:{_gateway_port()}/readyz", honcho)
    token_lines = tokens.lines()
    if ready:
        _say(banner(time.monotonic() - started, token_lines, args.mail_dir))
    elif honcho.poll() is None:
        _say(f"make run: the gateway is not ready after {READY_TIMEOUT_SECONDS:.0f} s")
    return honcho.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit.devrun", description=__doc__)
    parser.add_argument("--app", action="append", required=True, help="an app to prepare")
    parser.add_argument("--user", action="append", default=[], help="a demo user's token")
    parser.add_argument("--procfile", type=Path, default=Path("Procfile"))
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    parser.add_argument("--mail-dir", type=Path, default=Path("var/mail"))
    parser.add_argument(
        "--prepare-only", action="store_true", help="check and prepare the databases, then stop"
    )
    args = parser.parse_args(argv)
    if args.prepare_only:
        return 0 if prepare_all(args.app, args.state_dir) else 1
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
