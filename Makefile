# Template development. `make demo` bakes a project and trains its first fold; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(PYTHON) -m uv
PINS := $(VENV)/pins
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup lock demo test lint format clean

setup: $(VENV)/.installed

# One environment runs the template's tools and the baked projects. The project's pins live only in its
# templated pyproject.toml and uv.lock, so a default bake supplies them, installed exactly as a user's
# `make setup` does (--inexact keeps the template's own tools). Reinstalls only when a pin changed.
$(VENV)/.installed: pyproject.toml cookiecutter.json {{cookiecutter.project_slug}}/pyproject.toml {{cookiecutter.project_slug}}/uv.lock
	$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv==0.13.8
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r pyproject.toml --extra dev
	rm -rf $(PINS) && $(VENV)/bin/cookiecutter --no-input --output-dir $(PINS) . >/dev/null
	UV_PROJECT_ENVIRONMENT=$(abspath $(VENV)) $(UV) sync --quiet --locked --inexact --all-extras \
		--compile-bytecode --project $(PINS)/kaggle-baseline
	touch $@

# The project's uv.lock anew after a pin changed in its pyproject.toml (once `make setup` has run): locked
# in a default bake, the project's own name put back as the template variable. tests/test_lock.py checks
# that the two agree.
lock:
	rm -rf $(PINS) && $(VENV)/bin/cookiecutter --no-input --output-dir $(PINS) . >/dev/null
	$(UV) lock --quiet --project $(PINS)/kaggle-baseline
	sed 's/^name = "kaggle-baseline"$$/name = "{{ cookiecutter.project_slug }}"/' $(PINS)/kaggle-baseline/uv.lock \
		> {{cookiecutter.project_slug}}/uv.lock

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
