# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   - create .venv, install, plan the sample county (out/demo/)
#   make test   - same set-up, then lint and the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint data clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/schoolplan run scenarios/demo.yaml --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check planning tests benchmarks
	$(BIN)/ruff format --check planning tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

# regenerate the synthetic sample county (deterministic; the files are committed)
data: $(STAMP)
	$(BIN)/python -m planning.examples data/sample_county

clean:
	rm -rf out .pytest_cache
