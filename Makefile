# The two commands of the README: `make run` and `make test`. Both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@

run: setup
	$(BIN)/cardsight serve

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/recognition.py

clean:
	rm -rf $(VENV) var
