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

# The recorded recognition benchmark: train on the team's 708 scans, index them, measure.
# The recorded model is the default run extended from 1000 to 2000, 3000, then 4000 steps
# (~25 min each stage on two cores).
SCANS ?= ../shared/data
bench: setup
	$(BIN)/cardsight train --gallery $(SCANS) --out var/runs/scans708 --config training/default.toml
	$(BIN)/cardsight train --gallery $(SCANS) --out var/runs/scans708 --config training/default.toml --steps 2000
	$(BIN)/cardsight train --gallery $(SCANS) --out var/runs/scans708 --config training/default.toml --steps 3000
	$(BIN)/cardsight train --gallery $(SCANS) --out var/runs/scans708 --config training/default.toml \
		--steps 4000 --index var/artifacts-scans
	$(BIN)/python -m bench.recognition --gallery $(SCANS) --artifacts var/artifacts-scans \
		--model var/runs/scans708 --json bench/results/recognition.json

clean:
	rm -rf $(VENV) var
