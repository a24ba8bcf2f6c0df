# gru-keras: every target bootstraps .venv on first use, so a fresh clone needs only Python
# 3.11 (or 3.12) and make. Packages come from uv.lock (the whole tree, pinned), installed by a
# uv that is itself pinned and lives inside .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
# What each target needs: the base set runs suites; tests add the dev tools and Ray.
BASE := $(VENV)/.installed-base
TESTING := $(VENV)/.installed-test
SUITE ?= experiments/suite.toml

.DEFAULT_GOAL := help
.PHONY: help experiment quick map tune test fuzz ui ui-check report bench lint format clean lock platforms ray gpu

# One line, before anything is installed, on a platform TensorFlow 2.21 has no wheels for.
SUPPORTED := Linux-x86_64 Darwin-arm64
PLATFORM := $(shell uname -s)-$(shell uname -m)

$(UV):
	@case " $(SUPPORTED) " in *" $(PLATFORM) "*) ;; *) echo "gru-keras installs on Linux x86-64 and macOS arm64 only, not $(PLATFORM): the package index has no TensorFlow 2.21 there (x86-64 Macs stop at 2.16.2, Linux aarch64 at 2.20.0; Windows has no make)" >&2; exit 2;; esac
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null || { echo "gru-keras needs Python 3.11 or 3.12 ($(PYTHON) is not): make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

# --compile-bytecode: pip compiles every module when it installs, uv only if asked; without it
# each process compiles what it imports again (never cached under PYTHONDONTWRITEBYTECODE), and
# importing TensorFlow, Keras and MLflow took 12.2 s rather than 6.9 s here.
# `make gpu` leaves $(VENV)/.gpu: later installs keep the CUDA build (an export of the lock
# without tensorflow-cpu) rather than syncing tensorflow-cpu back in.
define install
	@if [ -f $(VENV)/.gpu ]; then \
		$(UV) export --locked --quiet --no-emit-project --extra gpu $(1) --prune tensorflow-cpu -o $(VENV)/gpu-requirements.txt \
		&& $(UV) pip install --quiet --compile-bytecode -r $(VENV)/gpu-requirements.txt && $(UV) pip install --quiet --no-deps -e . ; \
	else $(UV) sync --locked --inexact --compile-bytecode --quiet $(1); fi
endef

$(BASE): pyproject.toml uv.lock | $(UV)
	$(call install,)
	@touch $@

$(TESTING): pyproject.toml uv.lock | $(UV)
	$(call install,--extra dev --extra ray)
	@touch $@

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

experiment: $(BASE) ## run the experiment suite (SUITE=path to pick another), time its shapes, then build its PDF report
	@$(BIN)/python -m gru_keras run $(SUITE); status=$$?; \
	$(BIN)/python -m gru_keras bench --suite $(SUITE) --output reports/bench-suite.csv \
		|| echo "make experiment: the benchmark at the suite's shapes failed; the report will say speed was not measured" >&2; \
	$(BIN)/python -m gru_keras report $(SUITE); report=$$?; \
	if [ $$report -ne 0 ]; then echo "make experiment: the report failed (exit $$report); reports/latest.pdf is still the previous one" >&2; fi; \
	if [ $$status -ne 0 ]; then exit $$status; fi; exit $$report

quick: ## the quick look: `make experiment` on the smoke suite (one tiny dataset per family)
	@$(MAKE) --no-print-directory experiment SUITE=experiments/smoke.toml

MAP ?= experiments/map.toml
map: $(BASE) ## run the decision map (MAP=path to pick another) stage by stage; writes reports/<suite>-map.pdf and .csv
	$(BIN)/python -m gru_keras map $(MAP)

TUNE ?= experiments/suite.toml
TUNE_ARGS ?=
tune: $(BASE) ## tune every dataset and variant of TUNE (default the default suite; TUNE_ARGS="--only dataset=..." for part) with one budget; writes experiments/tuned/<suite>.toml and reports/<suite>-tuning.pdf
	$(BIN)/python -m gru_keras tune $(TUNE) $(TUNE_ARGS)

test: $(TESTING) ## run lint and the whole test suite (unit + small end-to-end)
	$(BIN)/ruff check gru_keras tests .ci
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest -m alone -n 0 -p no:cacheprovider

fuzz: $(TESTING) ## fuzz every reader with a large hypothesis budget (random seed; make test runs a small fixed one)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m fuzz -p no:cacheprovider --durations=0

ui: $(BASE) ## serve the MLflow UI for the local store on http://127.0.0.1:5000 (prints SUITE's views first)
	-@$(BIN)/python -m gru_keras views $(SUITE) --tracking-uri sqlite:///mlflow.db
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --default-artifact-root ./mlartifacts --host 127.0.0.1 --port 5000

ui-check: $(TESTING) ## open a tiny suite's store in the MLflow UI in headless Chromium (needs Debian's chromium)
	$(BIN)/python -m pytest -m browser -n 0 -p no:cacheprovider tests/ui

report: $(BASE) ## build the PDF report of SUITE from the tracking store (reports/latest.pdf)
	$(BIN)/python -m gru_keras report $(SUITE)

bench: $(BASE) ## time custom_gru against keras_gru, lstm and simple_rnn; writes reports/bench.csv
	$(BIN)/python -m gru_keras bench

lint: $(TESTING) ## ruff lint and format check
	$(BIN)/ruff check gru_keras tests .ci
	$(BIN)/ruff format --check gru_keras tests .ci

format: $(TESTING) ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix gru_keras tests .ci
	$(BIN)/ruff format gru_keras tests .ci

lock: | $(UV) ## rewrite uv.lock from pyproject.toml (keeps every pin that still fits; commit both)
	$(UV) lock

platforms: | $(UV) ## check every pin of uv.lock has a distribution on each supported platform and Python
	$(BIN)/python .ci/platforms.py --uv $(UV)

ray: $(BASE) ## add the Ray executor (`run --executor ray`) to .venv; `make test` installs it too
	$(call install,--extra ray)

gpu: | $(UV) ## Linux x86-64 with CUDA: put TensorFlow's CUDA build in place of tensorflow-cpu (untested: no GPU here)
	@test "$(PLATFORM)" = Linux-x86_64 || { echo "make gpu: the CUDA build of TensorFlow is for Linux x86-64 only, not $(PLATFORM)" >&2; exit 2; }
	@touch $(VENV)/.gpu
	-@$(UV) pip uninstall --quiet tensorflow-cpu 2>/dev/null
	@rm -f $(BASE) $(TESTING)
	@$(MAKE) --no-print-directory $(BASE)

clean: ## remove the venv, caches and generated files (keeps mlflow.db and mlartifacts)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info data/cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
