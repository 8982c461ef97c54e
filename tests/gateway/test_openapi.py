"""One OpenAPI document for the whole API, and the docs page over it."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

import gateway.main
from gateway.config import GatewaySettings
from gateway.openapi import merge_documents
from tests.support.stack import COMMON, StackHandle

METHODS = {"get", "post", "put", "patch", "delete"}
CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    return set()


def routable(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) an app's router serves under ``/api/``."""
    return {
        (method.lower(), route.path)
        for route in iter_route_contexts(app.routes)
        if route.path and route.path.startswith("/api/")
        for method in route.methods or ()
    }


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }


class TestMergedDocument:
    async def test_every_route_of_every_app_is_in_the_merged_document(
        self, stack: StackHandle
    ) -> None:
        merged = documented((await stack.client().get("/openapi.json")).json())

        for name, app in stack.stack.apps.items():
            served = routable(app)
            assert served, name
            assert served - merged == set(), f"{name} serves routes the document leaves out"

    async def test_a_services_root_collection_is_documented(self, stack: StackHandle) -> None:
        merged = (await stack.client().get("/openapi.json")).json()

        assert {"get", "post"} <= set(merged["paths"]["/api/v1/incidents"])

    async def test_each_service_appears_with_the_same_paths(self, stack: StackHandle) -> None:
        merged = (await stack.client().get("/openapi.json")).json()

        for service in ("training", "coaching", "incidents"):
            own = (await stack.direct(service, subject="x").get("/openapi.json")).json()
            api_paths = {p for p in own["paths"] if p.startswith(f"/api/v1/{service}")}
            assert api_paths, service
            assert api_paths <= set(merged["paths"]), service
        assert "/api/v1/directory/people" in merged["paths"]
        assert "/api/v1/admin/api-clients" in merged["paths"]

    async def test_every_operation_has_security_and_problem_errors(
        self, stack: StackHandle
    ) -> None:
        merged = (await stack.client().get("/openapi.json")).json()

        for path, operations in merged["paths"].items():
            if not path.startswith("/api/"):
                continue
            for method, operation in operations.items():
                if method not in METHODS:
                    continue
                where = f"{method.upper()} {path}"
                assert operation["security"] == [{"bearerAuth": []}], where
                for status in ("401", "422", "500"):
                    content = operation["responses"][status]["content"]
                    assert "application/problem+json" in content, where
                if path.startswith(("/api/v1/training", "/api/v1/coaching", "/api/v1/incidents")):
                    assert {"502", "503", "504"} <= set(operation["responses"]), where

    async def test_every_reference_resolves(self, stack: StackHandle) -> None:
        merged = (await stack.client().get("/openapi.json")).json()

        for ref in refs(merged):
            node: Any = merged
            for part in ref.removeprefix("#/").split("/"):
                assert isinstance(node, dict), ref
                assert part in node, ref
                node = node[part]

    async def test_the_docs_page_reads_the_merged_document(self, stack: StackHandle) -> None:
        page = await stack.client().get("/docs")

        assert page.status_code == 200
        assert "/openapi.json" in page.text
        assert "swagger-ui" in page.text


class TestComponentClashes:
    def test_clashing_schemas_are_renamed_per_service_and_refs_follow(self) -> None:
        own = {
            "paths": {},
            "components": {"schemas": {"PersonRead": {"type": "object", "title": "gateway"}}},
        }
        training = {
            "paths": {
                "/api/v1/training/people/{id}": {
                    "get": {
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/PersonRead"}
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "components": {"schemas": {"PersonRead": {"type": "object", "title": "training"}}},
        }

        merged = merge_documents(own, {"training": training})

        schemas = merged["components"]["schemas"]
        assert schemas["PersonRead"]["title"] == "gateway"
        assert schemas["TrainingPersonRead"]["title"] == "training"
        operation = merged["paths"]["/api/v1/training/people/{id}"]["get"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/TrainingPersonRead"}


@pytest.fixture
async def gateway_started_while_training_is_down(
    stack: StackHandle,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(database_url=stack.stack.settings["gateway"].database_url, **COMMON)
    app: FastAPI = gateway.main.create_app(settings, upstream_transports=stack.stack.upstreams)
    async with contextlib.AsyncExitStack() as running:
        with stack.upstream_down("training"):
            await running.enter_async_context(app.router.lifespan_context(app))
        yield await running.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw")
        )


class TestRefresh:
    async def test_a_service_that_comes_back_appears_in_the_document(
        self, stack: StackHandle, gateway_started_while_training_is_down: httpx.AsyncClient
    ) -> None:
        client = gateway_started_while_training_is_down
        with stack.upstream_down("training"):
            while_down = (await client.get("/openapi.json")).json()
        back = (await client.get("/openapi.json")).json()

        assert not any(p.startswith("/api/v1/training/") for p in while_down["paths"])
        assert any(p.startswith("/api/v1/coaching/") for p in while_down["paths"])
        assert any(p.startswith("/api/v1/training/") for p in back["paths"])


@functools.cache
def exported_document() -> dict[str, Any]:
    """The document ``make client`` generates the TypeScript client from."""
    spec = importlib.util.spec_from_file_location("export_openapi", CLIENT / "export_openapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document: dict[str, Any] = module.merged_document()
    return document


class TestTypescriptClient:
    async def test_is_generated_from_the_document_the_gateway_serves(
        self, stack: StackHandle
    ) -> None:
        served = (await stack.client().get("/openapi.json")).json()

        exported = exported_document()

        assert {**exported, "servers": None} == {**served, "servers": None}

    def test_is_up_to_date_with_the_api(self) -> None:
        committed = json.loads((CLIENT / "openapi.json").read_text())

        assert committed == exported_document(), (
            "clients/typescript is stale: the API's OpenAPI document changed. "
            "Run 'make client' and commit clients/typescript (openapi.json, src/schema.d.ts)."
        )
