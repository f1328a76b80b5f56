# The README's commands. `make run` installs and serves the embedded default; `make test` installs
# and runs the tests. uv is used from PATH, or installed into .tools/ on first use.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
NPM := $(shell command -v npm 2>/dev/null)
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install run demo test test-postgres lint

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.9

install: $(UV)
	$(UV) sync --frozen
ifneq ($(NPM),)
	$(NPM) ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error
else
	@echo "npm not found: the interoperability tests against the npm VC stack will be skipped"
endif

run: $(UV)
	$(UV) sync --frozen --no-dev
	$(UV) run --no-dev rpl serve

demo: $(UV)
	$(UV) sync --frozen --no-dev
	$(UV) run --no-dev rpl demo --out demo-out

test: install
	$(UV) run pytest

# The same suite on PostgreSQL; fails if the server is not there.
test-postgres: install
	$(UV) run python -m tests.postgres_check "$(PG_URL)"
	RPL_DATABASE_URL="$(PG_URL)" RPL_TEST_POSTGRES_URL="$(PG_URL)" RPL_REQUIRE_POSTGRES=1 \
		$(UV) run pytest

lint: $(UV)
	$(UV) run ruff check rpl flows tests
