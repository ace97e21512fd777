# Template development. `make demo` bakes a project and trains its first fold; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(PYTHON) -m uv
PINS := $(VENV)/pins
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test lint format clean

setup: $(VENV)/.installed

# One environment runs the template's tools and the baked projects. The project's pins live only in
# its templated pyproject.toml, so a default bake supplies them. Reinstalls only when a pin changed.
$(VENV)/.installed: pyproject.toml cookiecutter.json {{cookiecutter.project_slug}}/pyproject.toml
	$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv==0.13.8
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r pyproject.toml --extra dev
	rm -rf $(PINS) && $(VENV)/bin/cookiecutter --no-input --output-dir $(PINS) . >/dev/null
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r $(PINS)/*/pyproject.toml --extra dev
	touch $@

demo: setup
	$(VENV)/bin/cookiecutter --no-input --overwrite-if-exists --output-dir demo .
	cd demo/*/ && ../../$(PY) train.py --fold 0

test: setup
	$(PY) -m pytest

# The template's own Python; tests/test_bake.py lints each baked project. (Paths, not ".": ruff would
# parse the project's templated pyproject.toml.)
LINTED := tests scripts

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

format: setup  ## ruff-formats the project's templated Python by way of a bake
	$(PY) scripts/format_bake.py
	$(VENV)/bin/ruff format $(LINTED)

clean:
	rm -rf demo $(VENV)
