"""Two small lived months, byte for byte as recorded before the live plan was made cheaper (branch
live-fast): the same key and limits give the same MonthResult JSON, and every version of both
planners (plans, diffs, causes, KPIs; wall-clock seconds left out) hashes the same.

The fixture (tests/study/fixtures/months_recorded.json) was written by
`.venv/bin/python -m tests.study.test_month_unchanged --write` on main at 7339e8d, before any
change of live-fast; rewrite it only when a month's answer is meant to change, and say why in the
commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from optimizer.live.live_plan import LivePlan
from optimizer.study.month import LivedMonth, MonthLimits, live_month_full
from optimizer.study.records import MonthKey
from optimizer.study.traffic import TrafficModel

FIXTURE = Path(__file__).parent / "fixtures" / "months_recorded.json"
TINY = TrafficModel(days=1, warmup_days=0.5, tail_days=0.25)
LIMITS = MonthLimits(first_budget_s=0.5, replan_budget_s=0.05)
KEYS = [MonthKey(option="base", growth=1.0, seed=0), MonthKey(option="base", growth=2.0, seed=0)]
#: What varies with the machine's load, not with the answer.
WALL_CLOCK: dict[str, Any] = {"replan_s": True, "plan": {"solver": {"seconds": True}}}


def versions_digest(live: LivePlan) -> str:
    """SHA-256 over every version's JSON, wall-clock seconds left out."""
    h = hashlib.sha256()
    for v in live.versions:
        h.update(v.model_dump_json(exclude=WALL_CLOCK).encode())
    return h.hexdigest()


def record(m: LivedMonth) -> dict[str, Any]:
    return {"result": m.result.model_dump(mode="json"),
            "versions": {who.value: {"count": len(run.live.versions), "sha256": versions_digest(run.live)}
                         for who, run in m.runs.items()}}


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.slug())
def test_the_month_is_as_recorded(recorded: dict[str, Any], key: MonthKey) -> None:
    want = recorded["months"][key.slug()]
    got = record(live_month_full(TINY, key, LIMITS))
    assert json.dumps(got["result"], sort_keys=True) == json.dumps(want["result"], sort_keys=True)
    assert got["result"]["plans_checked"] > 20
    assert got["versions"] == want["versions"]


def _write() -> None:
    months = {key.slug(): record(live_month_full(TINY, key, LIMITS)) for key in KEYS}
    body = {"made_by": "python -m tests.study.test_month_unchanged --write (see the test's docstring)",
            "model": TINY.model_dump(mode="json", include={"days", "warmup_days", "tail_days"}),
            "limits": LIMITS.model_dump(mode="json"), "months": months}
    FIXTURE.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    _write()
