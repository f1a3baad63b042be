# The two commands of the README: `make run` and `make test`. Both set up .venv/ first, through
# scripts/install.sh, the same install step the Docker image runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHON

.PHONY: setup setup-serve run test bench bench-shipped model clean

# Everything: serving, training (torch) and the test tools.
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install.sh
	scripts/install.sh --editable $(VENV) train,dev
	touch $(VENV)/.installed-serve $@

# Serving only (no torch): what `make run` needs.
setup-serve: $(VENV)/.installed-serve

$(VENV)/.installed-serve: pyproject.toml scripts/install.sh
	scripts/install.sh --editable $(VENV)
	touch $@

run: setup-serve
	$(BIN)/cardsight serve

test: setup
	$(BIN)/python -m pytest -q

# The recorded recognition benchmark: train on the team's 708 scans by the default config
# (1000 steps, 20-25 min on two cores), index them, measure.
SCANS ?= ../shared/data
bench: setup
	$(BIN)/cardsight train --gallery $(SCANS) --out var/runs/bench-scans708 --config training/default.toml \
		--index var/artifacts-scans
	$(BIN)/python -m bench.recognition --gallery $(SCANS) --artifacts var/artifacts-scans \
		--model var/runs/bench-scans708 --json bench/results/recognition.json

# The shipped embedding model, engine/models/card_embedder.onnx (+ .toml): the scans plus
# generated cards by training/shipped.toml (2000 steps, ~33-41 min on two cores).
model: setup
	$(BIN)/cardsight train --gallery $(SCANS) --config training/shipped.toml --out var/runs/shipped \
		--export engine/models/card_embedder.onnx

# The recognition benchmark of what a fresh install serves: the scans indexed with the shipped
# model, no training.
bench-shipped: setup
	$(BIN)/cardsight index --gallery $(SCANS) --out var/artifacts-shipped
	$(BIN)/python -m bench.recognition --gallery $(SCANS) --artifacts var/artifacts-shipped --pad-to 0

clean:
	rm -rf $(VENV) var
