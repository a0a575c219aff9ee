# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   - create .venv, install, plan the sample county (out/demo/)
#   make test   - same set-up, then lint and the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench data clean

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

# speed and memory figures -> benchmarks/results/*.json (needs ../shared; about 80 minutes)
SHARED ?= ../shared/data
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/cpmp.py --all $(SHARED)/cpmp --time-limit 60
	$(BIN)/python benchmarks/vs_spopt.py $(SHARED)/cpmp --time-limit 60
	$(BIN)/python benchmarks/cpmp_large.py --shared $(SHARED) --time-limit 300
	$(BIN)/python benchmarks/network.py
	$(BIN)/python benchmarks/scale.py --time-limit 600
	$(BIN)/python benchmarks/scale.py --villages 2000 --sites 200 --time-limit 120 \
		--out benchmarks/results/scale_2000x200.json
	$(BIN)/python benchmarks/batch.py --repeat 2

# regenerate the synthetic sample county (deterministic; the files are committed)
data: $(STAMP)
	$(BIN)/python -m planning.examples data/sample_county

clean:
	rm -rf out .pytest_cache
