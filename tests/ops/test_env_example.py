"""`.env.example` documents every setting the apps read, and nothing they do not.

The settings classes are read at run time, so a setting added to any app without a line in
`.env.example` (or a line left behind after a setting is removed) fails here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from kit.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
COMPOSE_FILE = ROOT / "docker-compose.yml"
APPS = ("gateway", "training", "coaching", "incidents")
COMPOSE_BLOCK = "compose"

_BLOCK = re.compile(r"^# --- (?P<name>[a-z]+) ---$")
# A variable line, commented (default shown) or set: `# NAME=value` or `NAME=value`.
_VARIABLE = re.compile(r"^(?:#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=")
# `${NAME}`, `${NAME:-default}`, `${NAME:?message}` in docker-compose.yml.
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)")


def documented_variables() -> dict[str, list[str]]:
    """Block name -> the variables listed under it, in file order."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in ENV_EXAMPLE.read_text().splitlines():
        if block := _BLOCK.match(line):
            current = blocks.setdefault(block["name"], [])
        elif (variable := _VARIABLE.match(line)) and current is not None:
            current.append(variable["name"])
    return blocks


def settings_class(app: str) -> type[AppSettings]:
    module = importlib.import_module(f"{app}.config")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, AppSettings)
        and value.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"{app}.config should define one settings class, found {classes}"
    return classes[0]


def environment_variables(settings: type[BaseSettings]) -> set[str]:
    """What pydantic-settings reads: the prefix plus each field's name (or its alias)."""
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else None
        names.add((alias or f"{prefix}{name}").upper())
    return names


@pytest.mark.parametrize("app", APPS)
def test_every_setting_an_app_reads_is_documented_under_its_block(app: str) -> None:
    documented = set(documented_variables().get(app, []))
    missing = environment_variables(settings_class(app)) - documented
    assert not missing, f"add to the '# --- {app} ---' block of .env.example: {sorted(missing)}"


@pytest.mark.parametrize("app", APPS)
def test_every_variable_documented_for_an_app_is_read_by_it(app: str) -> None:
    documented = set(documented_variables().get(app, []))
    unknown = documented - environment_variables(settings_class(app))
    assert not unknown, f"{app} does not read these; remove them from .env.example: {unknown}"


def test_no_variable_is_documented_twice() -> None:
    listed = [name for names in documented_variables().values() for name in names]
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    assert not duplicates


def test_the_blocks_are_the_apps_and_compose() -> None:
    assert list(documented_variables()) == [*APPS, COMPOSE_BLOCK]


def test_every_compose_variable_is_documented_and_used() -> None:
    compose_variables = set(_INTERPOLATION.findall(COMPOSE_FILE.read_text()))
    app_variables = set().union(*(environment_variables(settings_class(a)) for a in APPS))
    documented = set(documented_variables()[COMPOSE_BLOCK])
    assert compose_variables - app_variables == documented
