# Bulkdesk: `make demo` serves the dashboard on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format seed clean lab

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

# The login checks the users table (apps/auth.py); Bokeh sessions are signed with
# BULKDESK_SECRET_KEY, or a key made for this run; logins are rows in the database.
demo: $(STAMP)
	$(BIN)/bulkdesk seed --if-empty
	$(BIN)/bulkdesk users demo-passwords
	BULKDESK_CHUNK_PAUSE=$${BULKDESK_CHUNK_PAUSE:-0.5} BULKDESK_CHUNK_SIZE=$${BULKDESK_CHUNK_SIZE:-500} \
	BOKEH_SIGN_SESSIONS=yes \
	BOKEH_SECRET_KEY=$${BULKDESK_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))')} \
	$(BIN)/panel serve apps/app.py --setup apps/serve.py --auth-module apps/auth.py --port 5006 \
		--plugins apps.task_upload \
		--allow-websocket-origin localhost:5006 --allow-websocket-origin 127.0.0.1:5006

# Analysts: JupyterLab (the `lab` extra, in the venv) on notebooks/, with the "Bulkdesk" kernel
# of this venv registered for the user (any JupyterLab of theirs can use it); the demo
# database is seeded when empty. Everything loads from the venv: no internet needed.
lab: $(STAMP)
	$(BIN)/bulkdesk seed --if-empty
	$(BIN)/python -m jobs.notebooks install-kernel
	$(BIN)/python -m jobs.notebooks lab-settings
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check jobs apps tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format jobs apps tests benchmarks

clean:
	rm -rf $(VENV) var
