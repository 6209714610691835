# Two commands on a fresh machine: `make run` and `make test`. Python 3.11+ is all they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test try lint typecheck i18n lock ci clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# Creates .venv, installs, compiles the catalogs, migrates the SQLite database, runs the bot.
# Stopped for want of a token or a setting (exit 2), it points to the trial and the doctor.
NOT_SET_UP := No bot token yet? `make try` runs the real bot on a chat page on this computer, \
with nothing to set up. `$(BIN)/aigaq doctor` checks each setting.
run: $(VENV)/.installed
	$(BIN)/python -m bot.i18n_tools compile
	$(BIN)/aigaq db upgrade
	$(BIN)/aigaq run --no-migrate || { status=$$?; \
		if [ $$status -eq 2 ]; then echo '$(NOT_SET_UP)' >&2; fi; exit $$status; }

# No token yet? The real bot on a local chat page, with nothing sent anywhere.
try: $(VENV)/.installed
	$(BIN)/python -m bot.i18n_tools compile
	$(BIN)/aigaq try

# The whole suite. Set AIGAQ_TEST_DATABASE_URL to run it against PostgreSQL instead of SQLite.
test: $(VENV)/.installed-dev
	$(BIN)/python -m bot.i18n_tools compile
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Extract messages from the code, merge them into kk/ru/en, compile.
i18n: $(VENV)/.installed-dev
	$(BIN)/python -m bot.i18n_tools update
	$(BIN)/python -m bot.i18n_tools compile

# Re-resolve requirements.lock, the hash-pinned dependencies the Docker image installs: the
# runtime dependencies, the postgres extra and the build backend, for Python 3.11 on Linux
# (x86_64 and aarch64 resolve alike), with uv from a throw-away venv. Review the diff.
lock:
	tmp=$$(mktemp -d) && $(PYTHON) -m venv $$tmp && $$tmp/bin/pip install --quiet uv \
	&& printf 'setuptools>=69\nwheel\n' | $$tmp/bin/uv pip compile pyproject.toml - \
		--extra postgres --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" \
		--upgrade --output-file requirements.lock; \
	status=$$?; rm -rf $$tmp; exit $$status

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
