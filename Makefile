# Rapport — the two commands of the README are `make run` and `make test`; both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
MANAGE := $(PY) manage.py
I18N_IGNORE := --ignore=.venv --ignore=node_modules --ignore=var --ignore=static_root --ignore=tests
HOST ?= 127.0.0.1
PORT ?= 8000
export PORT HOST

.PHONY: run test install assets compile-messages messages lint format check-deploy smoke clean bench

## make run: install, migrate, translate, load demo data, then serve web + Celery worker with beat.
run: install assets
	DEBUG=$${DEBUG:-true} $(MANAGE) migrate --noinput
	DEBUG=$${DEBUG:-true} $(MANAGE) compilemessages $(I18N_IGNORE) -v 0
	DEBUG=$${DEBUG:-true} $(MANAGE) seed_demo
	@echo ""
	@echo "  Rapport is starting at http://$(HOST):$(PORT)/  (portal: http://$(HOST):$(PORT)/portal/, admin: /admin/, API docs: /api/docs/)"
	@echo "  Database: $${DATABASE_URL:-SQLite var/db.sqlite3}   Broker: $${CELERY_BROKER_URL:-SQLite var/broker.sqlite3}"
	@echo "  Press Ctrl-C to stop the web server and the worker."
	@echo ""
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DEBUG=$${DEBUG:-true} $(VENV)/bin/honcho start -f Procfile

## make test: install what the tests need and run the whole suite (PostgreSQL), then the SQLite smoke subset.
test: install assets compile-messages
	@command -v chromium >/dev/null || echo "note: /usr/bin/chromium is missing: browser journeys will fail (apt-get install -y chromium)"
	$(PY) -m pytest $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-smoke.sqlite3 $(PY) -m pytest -m smoke --create-db $(PYTEST_ARGS)

install: $(VENV)/.installed

# Libraries are compiled to bytecode at install: with PYTHONDONTWRITEBYTECODE set (as in the
# image) every process would otherwise compile each module it imports, some in mid-request
# (phone-number metadata: a second of a 6,000-row import).
$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --inexact
	touch $@

assets: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

compile-messages: install
	DEBUG=true $(MANAGE) compilemessages $(I18N_IGNORE) -v 0

## make messages: refresh the .po catalogues from the code, then compile them.
messages: install
	DEBUG=true $(MANAGE) makemessages -l en -l ko $(I18N_IGNORE) --no-obsolete
	DEBUG=true $(MANAGE) compilemessages $(I18N_IGNORE)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy .
	DEBUG=true $(MANAGE) makemigrations --check --dry-run
	DEBUG=true $(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## check-deploy: Django's deployment checklist with production values must report nothing.
check-deploy: install assets
	DEBUG=false SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  ALLOWED_HOSTS=rapport.example $(MANAGE) check --deploy --fail-level WARNING

## make bench SCALE=small|medium|large: load the data set (reused at the same scale), measure the
## machine's baselines, then Rapport over gunicorn; results in bench/results/. Needs a PostgreSQL
## DATABASE_URL; fails only when a correctness check fails, never on timings.
SCALE ?= small
bench: install
	$(PY) -m bench.generate --scale $(SCALE)
	$(PY) -m bench.baselines --scale $(SCALE)
	$(PY) -m bench.measure --scale $(SCALE)

clean:
	rm -rf var/db.sqlite3 var/broker.sqlite3 var/results.sqlite3 var/celerybeat-schedule* static_root
