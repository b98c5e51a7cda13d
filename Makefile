# Both targets create the virtualenv on first use: torch is pinned and installed first (a CPU wheel here),
# then the project, so that no dependency can pull a different torch build.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0

.PHONY: demo test test-all lint bench clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev,experiments]' $(TORCH)
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m idgen.demo

test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

test-all: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check idgen compiler trainers tests experiments bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]' $(TORCH)
	$(PY) bench/compile_speed.py
	$(PY) bench/tabular_throughput.py
	$(PY) bench/trainer_throughput.py

clean-venv:
	rm -rf $(VENV)
