# Set-up is bootstrapped by the targets themselves and is idempotent: a second run skips what
# is already done (stamp files record the inputs they were built from).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
SOLC_VERSION := 0.8.28
# py-solc-x looks for compilers here (SOLCX_BINARY_PATH overrides the default ~/.solcx).
SOLCX_DIR  := $(or $(SOLCX_BINARY_PATH),$(HOME)/.solcx)
SOLC_BIN   := $(SOLCX_DIR)/solc-v$(SOLC_VERSION)

export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# Ape treats a project that lies inside the temp folder as a throw-away one and skips its
# sources; a clone under /tmp (as some CI runners do) would then see no contracts. A temp folder
# inside the project keeps the project outside it, wherever it is cloned.
export TMPDIR := $(CURDIR)/.tmp

PYTEST_ARGS ?=
BENCH ?=
PY_DIRS := $(wildcard keeper scripts tests bench)

.PHONY: help bootstrap solc-frontend test demo lint format bench compile fuzz chaos clean lock browser screenshots

help:
	@echo "make test    - set everything up (venv, npm, compiler) and run the test suite"
	@echo "make demo    - run the end-to-end demo on an embedded local chain (DASHBOARD=1: the dashboard)"
	@echo "make screenshots - regenerate docs/dashboard-*.png"
	@echo "make lint    - ruff + mypy + slither"
	@echo "make bench   - print benchmark figures (see docs/BENCHMARKS.md)"
	@echo "make fuzz    - long stateful campaign against the executor (see docs/SECURITY.md)"
	@echo "make chaos   - the keeper under injected faults for CHAOS_MINUTES (default 20), reconciled"
	@echo "make compile - compile the contracts"
	@echo "make clean   - remove build outputs (keeps .venv and node_modules)"

$(VENV)/.stamp: pyproject.toml requirements/constraints.txt
	@mkdir -p $(TMPDIR)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev]'
	@touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The anvil binary from npm, on the venv's PATH so Ape (ape-foundry) finds it. We link the
# platform binary itself, not npm's node launcher, so that stopping anvil stops the node.
# (make reads a link's target's time, hence the stamp file.)
$(VENV)/.anvil-stamp: node_modules/.stamp | $(VENV)/.stamp
	ln -sf "$$(ls $(CURDIR)/node_modules/@foundry-rs/anvil-*/bin/anvil | head -n 1)" $(BIN)/anvil
	@touch $@

# Offline compiler frontend (tools/solc). A native solc already installed by py-solc-x is
# left alone; only our own wrapper is (re)written.
solc-frontend: node_modules/.stamp tools/solc/install.sh tools/solc/solc-frontend.js
	@tools/solc/install.sh "$(SOLC_BIN)" "$(CURDIR)"

bootstrap: $(TMPDIR) $(VENV)/.stamp node_modules/.stamp $(VENV)/.anvil-stamp solc-frontend

$(TMPDIR):
	mkdir -p $@

# Ape rebuilds only sources whose own text changed: not their importers when a library changes,
# nor anything when compiler settings change. Recompile everything whenever any Solidity source
# or ape-config.yaml changed since the last build; otherwise skip compiling altogether.
SOL_SOURCES = $(shell find contracts -name '*.sol' -not -path '*/.cache/*') ape-config.yaml

.build/.compile-stamp: $(SOL_SOURCES) | bootstrap
	$(BIN)/ape compile --force
	@touch $@

compile: bootstrap .build/.compile-stamp

# Headless Chromium for the dashboard's browser tests and screenshots: the Debian package,
# installed when missing (apt-get, as root: CI and these machines); never a browser download.
# Without it the browser tests skip and say why.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } || \
	    echo "warning: could not install chromium; the browser tests will be skipped" >&2; }

test: bootstrap compile browser
	$(BIN)/pytest $(PYTEST_ARGS)

# DASHBOARD=1: the dashboard demo instead (keeper + dashboard on the local market; prints the
# URL and keeps everything up until Ctrl-C)
DASHBOARD ?=
demo: bootstrap compile
	$(if $(DASHBOARD),$(BIN)/python -m keeper.devstack.dashboard_demo,$(BIN)/python -m keeper.devstack.demo)

# PNGs of the dashboard's pages into docs/ (a real keeper on the local market, headless Chromium)
screenshots: bootstrap compile browser
	$(BIN)/python -m keeper.devstack.screenshots docs

# slither reads tools/slither/standard-input.json through the compiler frontend (it has no
# --combined-json): any High or Medium result fails; accepted ones are disabled inline with
# their reason and listed in docs/SECURITY.md.
SLITHER_ARGS := --compile-force-framework solc-json --solc $(SOLC_BIN) --filter-paths node_modules \
	--exclude-informational --exclude-low --exclude-optimization --fail-medium

lint: bootstrap
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/mypy
	$(BIN)/slither tools/slither/standard-input.json $(SLITHER_ARGS)

format: bootstrap
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

bench: bootstrap compile
	$(BIN)/python -m bench $(BENCH)

# The settlement state machine (tests/contracts/test_settle_stateful.py, malicious keeper
# included) for at least FUZZ_ACTIONS actions; `make test` runs a short campaign of it.
FUZZ_ACTIONS ?= 10000
fuzz: bootstrap compile
	FUZZ_ACTIONS=$(FUZZ_ACTIONS) $(BIN)/pytest tests/contracts/test_settle_stateful.py -q -s
# The fault run (not in CI): the keeper under load behind fault-injecting proxies, kill -9s and
# relay restarts, then the store reconciled with the chain (docs/KEEPER.md, docs/BENCHMARKS.md).
CHAOS_MINUTES ?= 20
chaos: bootstrap compile
	$(BIN)/python -m keeper.devstack.chaos $(CHAOS_MINUTES)

# Re-resolve the pinned Python set (needs the package index).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	{ echo "# Pinned Python package set (pip constraints). Regenerate with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^intent-rebalancer'; } > requirements/constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf .build contracts/.cache .pytest_cache
