# The two quick-start commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[llm,web,dev]'
	touch $(STAMP)

COQUI_STAMP := $(VENV)/.coqui-installed
$(COQUI_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[llm,web,dev,coqui]'
	touch $(COQUI_STAMP)

CLUSTER_STAMP := $(VENV)/.cluster-installed
$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[llm,web,dev,cluster]'
	touch $(CLUSTER_STAMP)

.PHONY: setup setup-coqui setup-cluster demo test lint bench vendor-assets
setup: $(STAMP)

# The optional Coqui TTS backend (about 7 GB: torch, torchaudio); CI installs it.
setup-coqui: $(COQUI_STAMP)

# Ray and the Redis client, for streams on a cluster (`host run --cluster`); CI installs it.
setup-cluster: $(CLUSTER_STAMP)

demo: $(STAMP)
	$(BIN)/host demo $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy host

bench: $(STAMP)
	$(BIN)/python bench/latency.py

# The console's browser assets from npm (hls.js, pinned in web/package.json and its lock):
# refreshed into the package's static folder, where they are committed, so serving the
# console needs neither npm nor a CDN. Bump the version in web/package.json, then run this.
vendor-assets:
	cd web && npm ci --no-audit --no-fund
	cp web/node_modules/hls.js/dist/hls.min.js host/web/console/static/vendor/hls.min.js
	cp web/node_modules/hls.js/LICENSE host/web/console/static/vendor/hls.js.LICENSE
