# The two commands of the README:
#   make run    set up everything, migrate the embedded SQLite database, serve on 127.0.0.1:8000
#   make test   set up everything, then lint, format check, type check and the full test suite
# Both need only Python 3.11 and pip; they create .venv/ and install into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-crash setup browser translations lint typecheck pytest bench clean messages lock audit

run: setup
	$(BIN)/supportbot db upgrade
	$(BIN)/supportbot serve

test: setup lint typecheck pytest

setup: $(STAMP) translations browser

# The dashboard's browser tests drive Debian's headless Chromium; as root, install it when
# missing (elsewhere the tests skip, saying which packages they need).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver); \
	else echo "chromium and chromium-driver are missing: the dashboard's browser tests will skip"; fi

# Every install is pinned by constraints.txt (the lock, refreshed by `make lock`).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --domain supportbot --directory locales --statistics

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# On every core; the tests that start CPU burners run on one worker, in turn (tests/conftest.py).
pytest: $(STAMP) translations
	$(BIN)/pytest -q -n auto

# The serve crash test: `supportbot serve` SIGKILLed 30 times on SQLite and on PostgreSQL while
# Telegram and Slack traffic flows, beside two CPU burners (about half an hour on two cores).
test-crash: $(STAMP) translations
	$(BIN)/pytest -q -s -m serve_processes tests/inbox/test_served.py

# Each benchmark prints its figures and each goal with "met" / "NOT met"; its output is kept
# in var/bench/NAME.txt and bench/goals.py then lists every goal with its verdict.
# Sizes (the README's figures use these defaults; smaller ones keep a run short):
BENCH_SIZES ?= 100,10000,100000
BENCH_CHATS ?= 50
BENCH_ROUNDS ?= 3
BENCH_SCALEOUT ?= --customers 12 --agents 4 --events 10
BENCH_MILESTONES ?= --tickets 100000
BENCH_OUT := var/bench

bench: setup
	mkdir -p $(BENCH_OUT)
	-$(BIN)/python bench/reads.py --sizes $(BENCH_SIZES) --postgres > $(BENCH_OUT)/reads.txt 2>&1; cat $(BENCH_OUT)/reads.txt
	-$(BIN)/python bench/bursts.py --chats $(BENCH_CHATS) --rounds $(BENCH_ROUNDS) > $(BENCH_OUT)/bursts.txt 2>&1; cat $(BENCH_OUT)/bursts.txt
	-$(BIN)/python bench/floor.py --chats $(BENCH_CHATS) --rounds $(BENCH_ROUNDS) > $(BENCH_OUT)/floor.txt 2>&1; cat $(BENCH_OUT)/floor.txt
	-$(BIN)/python bench/milestones.py $(BENCH_MILESTONES) > $(BENCH_OUT)/milestones.txt 2>&1; cat $(BENCH_OUT)/milestones.txt
	-$(BIN)/python bench/scaleout.py $(BENCH_SCALEOUT) > $(BENCH_OUT)/scaleout.txt 2>&1; cat $(BENCH_OUT)/scaleout.txt
	-$(BIN)/python bench/sla.py > $(BENCH_OUT)/sla.txt 2>&1; cat $(BENCH_OUT)/sla.txt
	-$(BIN)/python bench/webhook_limits.py > $(BENCH_OUT)/webhook_limits.txt 2>&1; cat $(BENCH_OUT)/webhook_limits.txt
	$(BIN)/python bench/goals.py --results $(BENCH_OUT)

# Re-resolve the newest versions pyproject.toml allows, for Python 3.11, into constraints.txt.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip-tools==7.6.2'
	$(BIN)/pip-compile --quiet --upgrade --extra dev --extra postgres --strip-extras \
		--no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
		--output-file constraints.txt pyproject.toml

# Known vulnerabilities in the locked versions; without network it says so and passes.
audit: $(STAMP)
	$(BIN)/python -m pip install --quiet 'pip-audit==2.10.1'
	$(BIN)/python tools/audit.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find locales -name '*.mo' -delete

# After adding or changing user-facing strings: refresh the template and the three catalogs,
# then translate the new entries (tests fail on any missing or fuzzy one).
messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _ --keywords N_ --keywords _n:1,2 \
		--no-location --sort-output --project supportbot --output-file locales/supportbot.pot .
	$(BIN)/pybabel update --domain supportbot --input-file locales/supportbot.pot \
		--output-dir locales --no-fuzzy-matching --ignore-obsolete
