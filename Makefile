# Bulkdesk: `make demo` serves the dashboard on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format seed clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/bulkdesk seed --if-empty
	BULKDESK_CHUNK_PAUSE=$${BULKDESK_CHUNK_PAUSE:-0.5} BULKDESK_CHUNK_SIZE=$${BULKDESK_CHUNK_SIZE:-500} \
	$(BIN)/panel serve apps/app.py --setup apps/serve.py --port 5006 \
		--allow-websocket-origin localhost:5006 --allow-websocket-origin 127.0.0.1:5006 \
		--basic-auth demo/credentials.json \
		--cookie-secret $$($(BIN)/python -c 'import secrets; print(secrets.token_hex(32))')

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check jobs apps tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format jobs apps tests benchmarks

clean:
	rm -rf $(VENV) var
