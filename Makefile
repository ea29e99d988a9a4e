# Lodge — the two commands a newcomer needs: `make dev` and `make test`.
# Each installs what it needs (a project-local Python venv with the AWS
# stand-in and linters; Chromium for browser tests) and is safe to re-run.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Each clone builds into its own target/ (Cargo judges a workspace crate fresh
# by file times, so a target dir shared by two clones can run the other
# clone's code). Compiled dependencies are shared across clones through
# sccache's content-addressed cache instead: a hit needs identical inputs.
# So CARGO_TARGET_DIR is not exported: sccache hashes every CARGO_* variable
# rustc sees, and a per-clone value would make every clone miss.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
export CARGO_TERM_COLOR ?= never
VENV ?= .venv
export LODGE_VENV := $(abspath $(VENV))
export LODGE_ROOT := $(CURDIR)
export RUSTC_WRAPPER ?= $(LODGE_VENV)/bin/sccache
export SCCACHE_DIR ?= $(HOME)/.cache/lodge/sccache
export SCCACHE_CACHE_SIZE ?= 20G

.PHONY: help dev test unit lint browser bench bench-cold bench-forward bench-digest bench-notify fuzz tools clean

help:
	@echo "make dev     run Lodge locally on http://127.0.0.1:$${LODGE_PORT:-3000} (no AWS account, no Docker)"
	@echo "make test    run every test: unit, black-box, browser, template lint, a fuzz smoke run"
	@echo "make bench   cold-start and request-path figures for the README"
	@echo "make bench-forward  channel forwarding under Telegram-style limits and faults"
	@echo "make bench-digest   one weekly digest to 10,000 members, with a sender crash"
	@echo "make bench-notify   one comment to 1,000 followers (inbox, Telegram, email), with crashes"
	@echo "make fuzz    fuzz every parser of outside input (FUZZ_SECONDS=600 a target; docs/fuzzing.md)"

$(VENV)/.installed: infra/requirements.txt infra/requirements.lock
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt -c infra/requirements.lock
	@touch $@

tools: $(VENV)/.installed

dev: tools
	cargo build --quiet -p lodge-local
	$(TARGET_DIR)/debug/lodge-local

browser:
	bash infra/install-browser.sh

lint: tools
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	bash infra/lint.sh
	bash infra/policy-check.sh

# `make test` compiles the workspace once (README, "Build times"): clippy's
# lints run inside that build, clippy-driver wrapping rustc for workspace
# crates with `-D warnings`, instead of a `cargo clippy` whose check-mode
# build of every dependency the test build cannot reuse. Every step below
# sees the same wrapper, so none rebuilds what another built. The fuzz
# build (nightly, its own workspace) must not see it.
CLIPPY_DRIVER = $(shell rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
LINTED_BUILD = RUSTC_WORKSPACE_WRAPPER=$(CLIPPY_DRIVER) CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

test: tools browser
	@test -x "$(CLIPPY_DRIVER)" || { echo "make test: clippy-driver not found (rustup component add clippy)"; exit 1; }
	cargo fmt --all --check
	$(LINTED_BUILD) cargo build --workspace --all-targets --quiet
	bash infra/lint.sh
	$(LINTED_BUILD) bash infra/policy-check.sh
	@# The fuzz targets' nightly build shares nothing with the test build, so
	@# it runs beside the tests, niced: it gets the CPU the black-box suite
	@# leaves idle while it waits on the stand-ins. Its own session, so a
	@# failed test run can stop it; the fuzz runs come after the tests.
	@mkdir -p fuzz/target
	setsid nice -n 19 bash infra/fuzz.sh --build-only > fuzz/target/build.log 2>&1 & fuzz=$$!; \
	  trap 'kill -- -'$$fuzz' 2>/dev/null || kill '$$fuzz' 2>/dev/null' EXIT; \
	  $(LINTED_BUILD) cargo test --workspace --no-fail-fast; tested=$$?; \
	  [ $$tested -eq 0 ] || exit $$tested; \
	  wait $$fuzz || { tail -n 60 fuzz/target/build.log; echo "make test: the fuzz build failed"; exit 1; }
	bash infra/fuzz.sh

# Long fuzz runs: FUZZ_SECONDS a target (or FUZZ_RUNS executions), FUZZ_TARGETS to pick.
fuzz: tools
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} bash infra/fuzz.sh

bench: tools
	bash infra/bench.sh

# Channel forwarding through the local stack against a rate-limiting, flaky
# fake Bot API; prints the figures in docs/forwarding.md, “Benchmark”.
bench-forward: tools
	cargo build --quiet -p bench-forward
	$(TARGET_DIR)/debug/bench-forward

# One weekly issue to 10,000 seeded members through the planner and sender,
# with an injected sender crash; prints the figures in docs/digests.md.
bench-digest: tools
	cargo build --quiet -p bench-digest
	$(TARGET_DIR)/debug/bench-digest

# One comment on a post followed by 1,000 seeded members, through the real
# comment route, fan-out, notifier and notify-mail, with a fan-out and a
# notifier killed mid-batch; prints the figures in docs/notifications.md.
bench-notify: tools
	cargo build --quiet -p bench-notify
	$(TARGET_DIR)/debug/bench-notify

clean:
	rm -rf .lodge
