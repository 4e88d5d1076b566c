# portsync: make demo | make live-demo | make test | make test-fleet | make lint | make serve | make bench
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo live-demo test test-fleet lint serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/portsync solve instances/caspian/week.json --time-limit 30 --out out/week-plan.json --gantt out/week-gantt.html

live-demo: $(STAMP)
	mkdir -p out
	$(BIN)/portsync replay instances/caspian/week.json instances/caspian/week-events.jsonl --first-time-limit 30 --replan-time-limit 3 --gantt out/live-gantt.html

test: $(STAMP)
	$(BIN)/pytest -q

# The API's backend-switched tests again, on a worker fleet (RabbitMQ + PostgreSQL of this machine;
# skipped without). The modules where the backend matters: jobs solved and stopped (runner, workers,
# batches, a capacity study's months, sync solve, the real-server week job), live plans made by workers under a lease (events,
# versions, diffs, SSE, webhooks, board data, the real-server live plan with a replanner crash, the
# DCSA JIT chain), and submit/read/idempotency (the fleet's publish, PostgreSQL's store). Left out:
# modules that never reach a runner (the checker, garbage bodies, OpenAPI, migrations, the
# deliverer's unit tests, the JIT gateway with a fake live plan), and test_fleet*.py, which
# run in `make test` against fleets of their own.
FLEET_SUITE := test_runner test_workers test_batches test_studies test_solve_check test_submit test_read \
	test_live_plans test_board test_e2e test_live_e2e test_jit_live_e2e
test-fleet: $(STAMP)
	PORTSYNC_TEST_BACKEND=fleet $(BIN)/pytest -q $(FLEET_SUITE:%=tests/api/%.py)

lint: $(STAMP)
	$(BIN)/ruff check optimizer api tests tools
	$(BIN)/mypy

BAP ?= ../shared/benchmarks/bap
bench: $(STAMP)
	$(BIN)/portsync bench bap $(BAP)/cordeau_I3_partial --time-limit 60
	$(BIN)/portsync bench bap $(BAP)/kramer_lalla_ruiz_iori_voss --time-limit 30
	$(BIN)/portsync bench scale --calls 100,500,1000,2000 --days 30 --seeds 0,1,2 --time-limit 120
	$(BIN)/portsync bench scale --instance instances/caspian/month.json --seeds 0,1,2 --time-limit 120

serve: $(STAMP)
	$(BIN)/portsync-api

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
