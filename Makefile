# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite test-postgres lint bench chaos clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/duedesk migrate --noinput
	@$(BIN)/duedesk demo
	@echo "duedesk is at http://$(HOST):$(PORT)/  (stop with Ctrl-C)"
	$(BIN)/duedesk run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	$(BIN)/pytest

# Integration tests again on PostgreSQL when DUEDESK_TEST_POSTGRES_URL is set (CI sets it).
test-postgres: $(STAMP)
	@if [ -n "$$DUEDESK_TEST_POSTGRES_URL" ]; then \
		DUEDESK_DATABASE_URL="$$DUEDESK_TEST_POSTGRES_URL" $(BIN)/pytest --ignore=tests/core -m "not sqlite_only"; \
	else echo "DUEDESK_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped"; fi

test: lint test-sqlite test-postgres

bench: $(STAMP)
	@for f in bench/*.py; do [ $$f = bench/chaos.py ] && continue; echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Workers killed, connections cut, Twilio failing, invoices paid mid-send (PostgreSQL; several minutes).
chaos: $(STAMP)
	$(BIN)/python bench/chaos.py

clean:
	rm -rf $(VENV) var
