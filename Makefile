# NEXUS developer entry points. GNU make; every target is idempotent.
#
#   make tools    install pinned dev tools into .tools/ (fast no-op when up to date)
#   make dev      run the local platform            (make dev ARGS=--fresh)
#   make test     fmt, clippy, cargo test, template + state machine checks (CI: .ci/run)
#   make lint     fmt, clippy, template + state machine checks (no tests)
#   make build    sam build (arm64, or x86_64 with a warning if the aarch64 target is missing)
#   make bench    run the benchmark binary in release mode (make bench ARGS=...)
#   make api-fuzz schemathesis against a running `make dev` (API_URL=http://127.0.0.1:4000)
#   make clean    remove build outputs and local state (keeps .tools/)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

ARGS ?=

TOOLS      := $(CURDIR)/.tools
VENV       := $(TOOLS)/venv
NODE_DIR   := $(TOOLS)/node_modules
VENV_STAMP := $(VENV)/.nexus-tools.stamp
NODE_STAMP := $(NODE_DIR)/.nexus-tools.stamp

# Project-local tools first on PATH for every recipe.
export PATH := $(VENV)/bin:$(NODE_DIR)/.bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
# Read by the Rust test harness to start DynamoDB Local (java -jar DynamoDBLocal.jar).
export NEXUS_DYNAMODB_LOCAL_DIR := $(NODE_DIR)/amplify-dynamodb-simulator/emulator

AARCH64_TARGET := aarch64-unknown-linux-gnu

.PHONY: check-features help tools browser check-prereqs dev api-fuzz test lint check-templates build bench clean

help:
	@sed -n 's/^#   make /make /p' $(firstword $(MAKEFILE_LIST))

# ------------------------------------------------------------------ tools

tools: check-prereqs $(VENV_STAMP) $(NODE_STAMP) browser

# Debian's Chromium for the browser tests of pages people look at (/docs),
# driven by playwright-core from .tools/node_modules.
browser:
	@command -v chromium >/dev/null || [[ -n "$${NEXUS_CHROMIUM:-}" ]] || { \
	  command -v apt-get >/dev/null || { echo "error: the browser tests need Chromium ('chromium' on PATH, or NEXUS_CHROMIUM=/path/to/chromium)" >&2; exit 1; }; \
	  sudo=; if [[ $$(id -u) != 0 ]]; then sudo=sudo; fi; \
	  echo "installing Debian's chromium (browser tests)"; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; \
	}

check-prereqs:
	@command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (https://rustup.rs), toolchain >= 1.85" >&2; exit 1; }
	@if ! command -v java >/dev/null || ! java -version >/dev/null 2>&1; then \
	  echo "error: Java is required to run DynamoDB Local for the tests and 'make dev'." >&2; \
	  echo "       Install a Java 17+ runtime, e.g. 'sudo apt-get install openjdk-17-jre-headless'" >&2; \
	  echo "       (macOS: 'brew install openjdk@17')." >&2; \
	  exit 1; \
	fi

# Python tools (aws-sam-cli, cfn-lint, cargo-lambda). The stamp lives inside the
# venv, so deleting the venv or editing tools/requirements.txt triggers a reinstall.
$(VENV_STAMP): tools/requirements.txt
	@command -v python3 >/dev/null || { echo "error: python3 (>= 3.9, with the venv module) is required, e.g. 'sudo apt-get install python3 python3-venv'" >&2; exit 1; }
	@test -x $(VENV)/bin/python || { echo "creating $(VENV)"; python3 -m venv $(VENV); }
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	@touch $@

# Node tools (DynamoDB Local jar via amplify-dynamodb-simulator, asl-validator).
$(NODE_STAMP): tools/package.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js >= 18) is required, e.g. 'sudo apt-get install nodejs npm'" >&2; exit 1; }
	@mkdir -p $(TOOLS)
	cp tools/package.json $(TOOLS)/package.json
	cd $(TOOLS) && npm install --no-audit --no-fund
	@touch $@

# ------------------------------------------------------------------ run

dev: tools
	cargo run -p nexus-local --bin nexus-local -- $(ARGS)

bench: tools
	cargo run --profile tooling -p nexus-bench -- $(ARGS)

# Property-based fuzzing of the running API from its own /openapi.json: no 5xx,
# and every response conforms to the document (status, content type, headers,
# schema). Not part of `make test` (it needs `make dev` running). Schemathesis
# lives in its own venv, installed on first use. Request-side findings
# (positive_data_acceptance: e.g. a random token is "schema-valid" but rejected)
# are left out: request schemas stay permissive so bad input gets field errors.
API_URL ?= http://127.0.0.1:4000
FUZZ_VENV := $(TOOLS)/schemathesis
api-fuzz:
	@test -x $(FUZZ_VENV)/bin/st || { python3 -m venv $(FUZZ_VENV) && $(FUZZ_VENV)/bin/pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5'; }
	$(FUZZ_VENV)/bin/st run $(API_URL)/openapi.json --workers 2 --max-examples 20 \
	  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance $(ARGS)

# ------------------------------------------------------------------ checks

# Recipes are run in this order; `make test` stops at the first failure.
test: tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@$(MAKE) --no-print-directory check-features
	cargo test --workspace
	@$(MAKE) --no-print-directory check-templates

lint: tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@$(MAKE) --no-print-directory check-features
	@$(MAKE) --no-print-directory check-templates

# Workspace builds unify features, but `sam build` builds each function alone:
# every shared crate with optional adapters must also compile with none of
# them (one cargo invocation per crate, so nothing else turns them on).
FEATURE_CRATES := nexus-core nexus-auth nexus-identity nexus-ports nexus-search
check-features: tools
	@for p in $(FEATURE_CRATES); do \
	  echo "cargo check -p $$p --lib (no features)"; \
	  cargo check --quiet -p $$p --lib || exit 1; \
	done

# Template (cfn-lint runs the SAM transform offline), SAM's lint wrapper and the
# Step Functions definitions (cfn-lint does not check ASL). `sam validate` without
# --lint would call IAM and need credentials; --lint only needs a region name.
check-templates: tools
	cfn-lint template.yaml
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}} sam validate --lint
	@shopt -s nullglob; files=(statemachines/*.asl.json); \
	if (( $${#files[@]} == 0 )); then \
	  echo "asl-validator: no statemachines/*.asl.json files to validate"; \
	else \
	  failed=0; \
	  for f in "$${files[@]}"; do asl-validator --json-path "$$f" || failed=1; done; \
	  exit $$failed; \
	fi

# ------------------------------------------------------------------ build

# The deploy target is arm64. sam build resolves `Architectures: [!Ref Architecture]`
# from --parameter-overrides (checked: cargo lambda gets --arm64, or --target
# x86_64-unknown-linux-gnu, and the bootstrap ELF matches). The built template
# still says `Ref: Architecture` with Default arm64, so for an x86_64 fallback build
# we rewrite that default in .aws-sam/build/template.yaml: a plain `sam deploy`
# then deploys x86_64 code as x86_64 instead of failing at run time.
ARCH_PARAM_RANGE := /^Parameters:/,/^[^ ]/{/^  Architecture:/,/^  [^ ]/
# Shell test: is the arm64 target installed (rustup, or the rustc sysroot)?
HAS_AARCH64 := { rustup target list --installed 2>/dev/null | grep -qx '$(AARCH64_TARGET)' \
	|| test -d "$$(rustc --print sysroot)/lib/rustlib/$(AARCH64_TARGET)/lib"; }
build: tools
	@$(HAS_AARCH64) || ! command -v rustup >/dev/null || { \
	  echo "rustup target add $(AARCH64_TARGET)  (the deploy target is arm64)"; \
	  rustup target add $(AARCH64_TARGET) || true; \
	}
	@if $(HAS_AARCH64); then \
	  arch=arm64; \
	else \
	  arch=x86_64; \
	  echo "WARNING: Rust target $(AARCH64_TARGET) is not installed; building for x86_64 instead." >&2; \
	  echo "WARNING: the deploy target is arm64: run 'rustup target add $(AARCH64_TARGET)' and 'make build' again." >&2; \
	fi; \
	echo "sam build --parameter-overrides Architecture=$$arch"; \
	sam build --parameter-overrides "Architecture=$$arch"; \
	if [[ $$arch == x86_64 ]]; then \
	  sed -i '$(ARCH_PARAM_RANGE){s/^    Default: arm64$$/    Default: x86_64/}}' .aws-sam/build/template.yaml; \
	  sed -n '$(ARCH_PARAM_RANGE)p}' .aws-sam/build/template.yaml | grep -q '^    Default: x86_64$$' \
	    || { echo "error: could not set Architecture default to x86_64 in .aws-sam/build/template.yaml" >&2; exit 1; }; \
	  echo "WARNING: .aws-sam/build/template.yaml now defaults Architecture to x86_64; deploys of this build run on x86_64." >&2; \
	fi; \
	echo "$$arch" > .aws-sam/ARCHITECTURE; \
	echo "built for $$arch (recorded in .aws-sam/ARCHITECTURE)"

# ------------------------------------------------------------------ clean

clean:
	rm -rf target .aws-sam .nexus
