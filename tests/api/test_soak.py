"""The live plans soaked as ports and carriers use them, on SQLite and PostgreSQL (tools/soak.py,
briefly): several live plans, rounds of reports split over concurrent clients (shuffled, late,
resent, at other berths, every event type), a DCSA JIT carrier sending ESTs, a webhook receiver.
No answer 5xx, no batch refused, every event applied once, every version clean and delivered,
and every version held to the facts folded by the tests alone (tests/live_facts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.domain import Problem
from optimizer.live.events import EVENT
from optimizer.live.replan import Version
from tests.live_facts import Facts, violations
from tools.loadcheck import running_server
from tools.soak import SoakReport, soak

pytestmark = pytest.mark.slow


def held_to_the_facts(report: SoakReport) -> list[str]:
    """Every version of every plan against the events it and those before it applied."""
    out = []
    for o in report.outcomes:
        facts = Facts.start(Problem.model_validate(o.problem))
        bodies = {e["event_id"]: EVENT.validate_python(e["event"]) for e in o.log}
        for body in o.versions[1:]:
            v = Version.model_validate(body)
            facts.apply([bodies[eid] for eid in v.event_ids])
            out += [f"{o.plan_id} v{v.number}: {x}" for x in violations(facts, v)]
    return out


def assert_soaked(report: SoakReport) -> None:
    figures = report.figures()
    assert figures["faults"] == []
    assert figures["answers"].get("5xx", 0) == 0
    assert figures["rounds"] >= 2 * report.plans and figures["versions"] > report.plans
    assert figures["jit_messages"] > 0
    assert held_to_the_facts(report) == []


def test_soak_on_sqlite(tmp_path: Path) -> None:
    with running_server(tmp_path, 1) as base:
        assert_soaked(soak(base, seconds=20, plans=2, clients=3, calls=24, seed=1, days=4))


@pytest.mark.postgres
def test_soak_on_postgres(tmp_path: Path, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    with running_server(tmp_path, 1, url, schema) as base:
        assert_soaked(soak(base, seconds=20, plans=2, clients=3, calls=24, seed=2, store="postgres", days=4))
