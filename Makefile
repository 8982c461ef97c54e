# Two commands matter: `make run` and `make test`. Both work on a machine with only
# Python 3.11+ and make: the first run installs a pinned uv into .tools/ (no root needed)
# and the locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
APPS := gateway training coaching incidents
DOCKERFILES := gateway/Dockerfile services/training/Dockerfile services/coaching/Dockerfile services/incidents/Dockerfile
RUN := $(UV) run --frozen --no-sync
DEMO_USERS := emma.employee marc.manager carla.coach olivia.owner hannah.hr leo.legal pia.privacy grace.admin

.DEFAULT_GOAL := help
.PHONY: help install run migrate seed test lint fmt check-deploy client client-check clean

help:
	@echo "make run      install, migrate, seed the demo organisation, start all four apps"
	@echo "make test     run the whole test suite (PostgreSQL too if TEST_POSTGRES_URL is set)"
	@echo "make lint     ruff format --check, ruff check, mypy --strict"
	@echo "make fmt      format and autofix"
	@echo "make migrate  upgrade every app's database to the latest migration"
	@echo "make check-deploy  lint the Dockerfiles, validate docker-compose.yml, check .env.example"
	@echo "make client   regenerate the TypeScript client (clients/typescript) from the API's code"
	@echo "make client-check  fail if the TypeScript client is stale; compile its example with tsc --strict"

$(UV):
	@echo "First run: installing uv $(UV_VERSION) into $(TOOLS)/ (once), then the locked dependencies into .venv/..."
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --all-packages --python $(PYTHON)

migrate: install
	@for app in $(APPS); do $(RUN) python -m $$app migrate || exit 1; done

seed: migrate
	@for app in $(APPS); do $(RUN) python -m $$app seed || exit 1; done

# kit.devrun: each app's database checked without importing the app (a second run skips
# what is done), the others migrated and seeded in parallel, then honcho; the URLs and
# tokens are printed once the gateway is ready.
run: install
	@$(RUN) python -m kit.devrun $(addprefix --app ,$(APPS)) $(addprefix --user ,$(DEMO_USERS))

test: install
	$(RUN) pytest

lint: install
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) mypy

# The deployment files cannot be run here (no Docker engine), so they are checked statically.
check-deploy: install
	$(RUN) hadolint $(DOCKERFILES)
	$(RUN) check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(RUN) shellcheck docker/postgres/initdb/*.sh
	$(RUN) pytest -q tests/ops/test_env_example.py

fmt: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# The TypeScript client: the merged OpenAPI document exported from the apps' code, types
# generated from it by openapi-typescript, an example compiled with tsc --strict (node 20+).
CLIENT := clients/typescript
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

client: install
	$(RUN) python $(CLIENT)/export_openapi.py $(CLIENT)/openapi.json
	cd $(CLIENT) && $(NPM_CI) && npx openapi-typescript openapi.json -o src/schema.d.ts
	cd $(CLIENT) && npx tsc --noEmit -p tsconfig.json

client-check: install
	@$(RUN) python $(CLIENT)/export_openapi.py $(CLIENT)/.openapi.fresh.json
	@if ! cmp -s $(CLIENT)/.openapi.fresh.json $(CLIENT)/openapi.json; then \
		rm -f $(CLIENT)/.openapi.fresh.json; \
		echo "clients/typescript is stale: the API's OpenAPI document changed." >&2; \
		echo "Run 'make client' and commit clients/typescript (openapi.json, src/schema.d.ts)." >&2; \
		exit 1; \
	fi
	@rm -f $(CLIENT)/.openapi.fresh.json
	cd $(CLIENT) && $(NPM_CI)
	@cd $(CLIENT) && npx openapi-typescript openapi.json -o src/schema.d.ts --check >/dev/null || { \
		echo "clients/typescript/src/schema.d.ts is stale. Run 'make client' and commit it." >&2; exit 1; }
	cd $(CLIENT) && npx tsc --noEmit -p tsconfig.json

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
