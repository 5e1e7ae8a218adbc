# Entry points (see README): `make demo`, `make test` and `make demo-sync`
# (the toy comparison of CAV-MAE and CAV-MAE Sync, 3 seeds). Each creates the
# project's virtual environment in .venv on first use and reuses it after.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cavmae_mm-installed

.PHONY: env test demo demo-sync

env: $(STAMP)

$(STAMP): requirements/torch.txt requirements/runtime.txt requirements/tests.txt requirements/constraints.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip<26' -c requirements/constraints.txt setuptools wheel
	$(PY) -m pip install --quiet -r requirements/torch.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet -r requirements/runtime.txt -r requirements/tests.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -c "import mmaction.models, mmpretrain.models, cavmae_mm"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests

demo: $(STAMP)
	$(PY) tools/run_toy_demo.py

demo-sync: $(STAMP)
	$(PY) tools/run_toy_sync_demo.py --seeds 0 1 2
