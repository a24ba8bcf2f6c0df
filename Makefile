# gru-keras: every target bootstraps .venv on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUITE ?= experiments/suite.toml

.DEFAULT_GOAL := help
.PHONY: help experiment quick test ui ui-check report bench lint format clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	@touch $(STAMP)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

experiment: $(STAMP) ## run the experiment suite (SUITE=path to pick another), time its shapes, then build its PDF report
	@$(BIN)/python -m gru_keras run $(SUITE); status=$$?; \
	$(BIN)/python -m gru_keras bench --suite $(SUITE) --output reports/bench-suite.csv \
		|| echo "make experiment: the benchmark at the suite's shapes failed; the report will say speed was not measured" >&2; \
	$(BIN)/python -m gru_keras report $(SUITE); report=$$?; \
	if [ $$report -ne 0 ]; then echo "make experiment: the report failed (exit $$report); reports/latest.pdf is still the previous one" >&2; fi; \
	if [ $$status -ne 0 ]; then exit $$status; fi; exit $$report

quick: ## the quick look: `make experiment` on the smoke suite (one tiny dataset per family)
	@$(MAKE) --no-print-directory experiment SUITE=experiments/smoke.toml

test: $(STAMP) ## run lint and the whole test suite (unit + small end-to-end)
	$(BIN)/ruff check gru_keras tests
	$(BIN)/python -m pytest

ui: $(STAMP) ## serve the MLflow UI for the local store on http://127.0.0.1:5000 (prints SUITE's views first)
	-@$(BIN)/python -m gru_keras views $(SUITE) --tracking-uri sqlite:///mlflow.db
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --default-artifact-root ./mlartifacts --host 127.0.0.1 --port 5000

ui-check: $(STAMP) ## open a tiny suite's store in the MLflow UI in headless Chromium (needs Debian's chromium)
	$(BIN)/python -m pytest -m browser -n 0 -p no:cacheprovider tests/ui

report: $(STAMP) ## build the PDF report of SUITE from the tracking store (reports/latest.pdf)
	$(BIN)/python -m gru_keras report $(SUITE)

bench: $(STAMP) ## time custom_gru against keras_gru, lstm and simple_rnn; writes reports/bench.csv
	$(BIN)/python -m gru_keras bench

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check gru_keras tests
	$(BIN)/ruff format --check gru_keras tests

format: $(STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix gru_keras tests
	$(BIN)/ruff format gru_keras tests

clean: ## remove the venv, caches and generated files (keeps mlflow.db and mlartifacts)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info data/cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
