"""schemathesis against the merged OpenAPI document, as three roles: every check
(server errors, undocumented statuses and headers, bodies that break their schema, invalid
input accepted, wrong methods, missing auth), positive and negative data, a bounded number
of examples per operation so CI's time stays fixed.

The four apps are the in-process stack on the test databases (SQLite, or PostgreSQL with
``TEST_POSTGRES_URL``), served over HTTP by uvicorn in the test's own event loop;
schemathesis runs as its own process, the way an integrator would run it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.serving import serve
from tests.support.stack import StackHandle

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Cases per operation and phase; SMP_SCHEMATHESIS_EXAMPLES raises it for a deeper run.
EXAMPLES = int(os.environ.get("SMP_SCHEMATHESIS_EXAMPLES", "5"))
TIMEOUT_SECONDS = 900
ROLES: dict[str, list[str]] = {
    "employee": [],
    "hr": ["hr"],
    "policy_owner": ["policy_owner"],
}


@pytest.fixture
async def served(committed_stack: StackHandle) -> AsyncIterator[str]:
    async with serve(committed_stack.stack.apps["gateway"]) as url:
        yield url


def failures(junit: Path) -> list[str]:
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            text = failure.get("message") or failure.text or ""
            found.append(f"{case.get('name')}:\n{text.strip()[:3000]}")
    return found


@pytest.mark.parametrize("role", ROLES)
async def test_schemathesis_finds_nothing(
    role: str, committed_stack: StackHandle, served: str, tmp_path: Path
) -> None:
    person = await committed_stack.person(roles=ROLES[role])
    document = (await committed_stack.client().get("/openapi.json")).json()
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    junit = tmp_path / "schemathesis.xml"

    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        str(spec),
        "--url",
        served,
        "-H",
        f"Authorization: Bearer {committed_stack.token(person)}",
        "--checks",
        "all",
        # Why: tests/contract/schemathesis.toml.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(EXAMPLES),
        "--generation-deterministic",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)

    found = failures(junit) if junit.exists() else [output.decode()[-5000:]]
    assert found == [], "\n\n".join(found)
