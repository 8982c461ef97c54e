"""Writes the merged OpenAPI document, as the gateway serves it at ``/openapi.json``, from
the four apps' code (no process, no database): what ``make client`` generates the
TypeScript types from.

    .venv/bin/python clients/typescript/export_openapi.py clients/typescript/openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import coaching.main
import gateway.main
import incidents.main
import training.main
from coaching.config import CoachingSettings
from gateway.config import GatewaySettings
from gateway.openapi import merge_documents
from incidents.config import IncidentsSettings
from training.config import TrainingSettings

PUBLIC_URL = "http://127.0.0.1:8000"


def merged_document() -> dict[str, Any]:
    services = {
        "training": training.main.create_app(TrainingSettings(environment="test")),
        "coaching": coaching.main.create_app(CoachingSettings(environment="test")),
        "incidents": incidents.main.create_app(IncidentsSettings(environment="test")),
    }
    own = gateway.main.create_app(GatewaySettings(environment="test", public_url=PUBLIC_URL))
    merged = merge_documents(own.openapi(), {name: app.openapi() for name, app in services.items()})
    merged["servers"] = [{"url": PUBLIC_URL}]
    return merged


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("openapi.json")
    target.write_text(json.dumps(merged_document(), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
