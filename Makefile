# The README's commands. `make run` installs and serves the embedded default; `make test` installs
# and runs the tests. uv is used from PATH, or installed into .tools/ on first use.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
NPM := $(shell command -v npm 2>/dev/null)
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# The interpreter: the distribution's own python3 when it is 3.11 or newer. Distributions build
# CPython with profile-guided and link-time optimisation (as the official Docker images, our
# infra/Dockerfile's base, do); a plain source build such as pyenv's default does not, and ran
# our Python-bound work (bulk signing, roster imports) about 1.4 times slower on the same
# machine. Elsewhere, or with PYTHON= given empty, uv chooses as usual.
PYTHON ?= $(shell /usr/bin/python3 -c 'import sys; print(sys.executable if sys.version_info >= (3, 11) else "")' 2>/dev/null)
SYNC := $(UV) sync --frozen $(if $(PYTHON),--python $(PYTHON),)

.PHONY: install system-packages run demo test test-postgres lint

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.9

install: $(UV) system-packages
	$(SYNC)
ifneq ($(NPM),)
	$(NPM) ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error
	$(NPM) ci --prefix tests/browser --no-audit --no-fund --loglevel=error
else
	@echo "npm not found: the interoperability tests against the npm VC stack will be skipped"
	@echo "npm not found: the browser tests (they need axe-core from npm) will be skipped"
endif

# From Debian: Chromium for the browser tests (tests/browser), DejaVu, the font the printable
# PDFs embed so that any name prints, SoftHSM2, the token the PKCS#11 signer's tests
# (tests/security/test_pkcs11_signer.py) make keys on, and docker-compose, which checks
# infra/compose.yaml (tests/infra/test_manifests.py; no engine needed) unless Docker's own
# `docker compose` is there. Installed with apt-get when missing and we are root.
SYSTEM_PACKAGES := $(if $(wildcard /usr/bin/chromium),,chromium) \
	$(if $(wildcard /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf),,fonts-dejavu-core) \
	$(if $(wildcard /usr/lib/softhsm/libsofthsm2.so),,softhsm2) \
	$(if $(shell command -v docker-compose 2>/dev/null; docker compose version 2>/dev/null),,docker-compose)

system-packages:
ifneq ($(strip $(SYSTEM_PACKAGES)),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(strip $(SYSTEM_PACKAGES)); \
	else \
		echo "missing Debian packages: $(strip $(SYSTEM_PACKAGES)); install them as root (apt-get install $(strip $(SYSTEM_PACKAGES)))."; \
		echo "Without chromium the browser tests are skipped; without fonts-dejavu-core PDFs print Latin-1 only;"; \
		echo "without softhsm2 the PKCS#11 signer tests are skipped; without docker-compose the"; \
		echo "check of infra/compose.yaml is skipped."; \
	fi
endif

run: $(UV)
	$(SYNC) --no-dev
	$(UV) run --no-dev rpl serve

demo: $(UV)
	$(SYNC) --no-dev
	$(UV) run --no-dev rpl demo --out demo-out

test: install
	$(UV) run pytest --numprocesses=auto --maxprocesses=4

# The same suite on PostgreSQL; fails if the server is not there.
test-postgres: install
	$(UV) run python -m tests.postgres_check "$(PG_URL)"
	RPL_DATABASE_URL="$(PG_URL)" RPL_TEST_POSTGRES_URL="$(PG_URL)" RPL_REQUIRE_POSTGRES=1 \
		$(UV) run pytest --numprocesses=auto --maxprocesses=4

lint: $(UV)
	$(UV) run ruff check rpl flows tests
