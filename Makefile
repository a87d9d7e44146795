# Quick start: `make demo` and `make test` (`make docs` builds the documentation site into site/). Each builds .venv from the project's own files first.
# TORCH picks the torch requirement, e.g. `make test TORCH=torch==2.13.0` for a CPU wheel.
PYTHON ?= python3
TORCH ?= torch
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

demo: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(PY) scripts/demo.py

test: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE MPLBACKEND=Agg $(PY) -m pytest -q

test-slow: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE MPLBACKEND=Agg $(PY) -m pytest -q -m slow

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) results site
