"""What changed between two plans: moved calls, stability figures, KPI change (and the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.diff import plan_diff
from optimizer.report import build_plan
from tests.builders import assignment as a
from tests.builders import two_ships_one_berth, two_ships_one_berth_dict

# C1 (10 h) and C2 (4 h) both arrive at hour 0 at the one berth A1
C1_FIRST = [a("C1", "A1", 0, 0, 10), a("C2", "A1", 0, 10, 14)]
C2_FIRST = [a("C2", "A1", 0, 0, 4), a("C1", "A1", 0, 4, 14)]


def test_the_same_plan_changes_nothing() -> None:
    d = plan_diff(two_ships_one_berth(), C1_FIRST, list(reversed(C1_FIRST)))
    assert d.changes == []
    s = d.stability
    assert (s.berth_changes, s.total_start_shift_minutes, s.rta_moved, s.newly_served, s.newly_unserved) == (
        0, 0, 0, 0, 0)
    assert d.kpis.total_dwell_hours[0] == d.kpis.total_dwell_hours[1]


def test_swapped_calls_are_shifts_not_berth_changes() -> None:
    d = plan_diff(two_ships_one_berth(), C1_FIRST, C2_FIRST)
    by_call = {c.call_id: c for c in d.changes}
    assert by_call["C2"].start_shift_minutes == -600 and by_call["C1"].start_shift_minutes == 240
    assert [c.call_id for c in d.changes] == ["C2", "C1"]  # the second plan's berth order
    assert d.stability.berth_changes == 0
    assert d.stability.total_start_shift_minutes == 840
    assert d.stability.rta_moved == 0  # both vessels still asked to arrive at hour 0
    assert d.kpis.total_dwell_hours == (10 + 14, 4 + 14)


def test_rta_moves_count_above_the_threshold_only() -> None:
    later = [a("C1", "A1", 0, 0, 10), a("C2", "A1", 9, 10, 14)]  # C2 told to sail slower: RTA +9 h
    d = plan_diff(two_ships_one_berth(), C1_FIRST, later)
    assert d.stability.rta_moved == 1 and d.changes[0].rta_shift_minutes == 540
    lenient = plan_diff(two_ships_one_berth(), C1_FIRST, later, rta_threshold_minutes=600)
    assert lenient.stability.rta_moved == 0


def test_calls_that_become_unserved_or_served_are_counted() -> None:
    d = plan_diff(two_ships_one_berth(), C1_FIRST, C1_FIRST[:1])
    assert d.stability.newly_unserved == 1
    assert d.changes[-1].call_id == "C2" and d.changes[-1].berth_after is None
    back = plan_diff(two_ships_one_berth(), C1_FIRST[:1], C1_FIRST)
    assert back.stability.newly_served == 1 and back.changes[0].berth_before is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_diff_prints_the_figures_and_refuses_another_problems_plan(tmp_path: Path) -> None:
    problem = two_ships_one_berth()
    p = _write(tmp_path / "p.json", problem.model_dump_json())
    one = _write(tmp_path / "one.json", build_plan(problem, C1_FIRST).model_dump_json())
    two = _write(tmp_path / "two.json", build_plan(problem, C2_FIRST).model_dump_json())
    result = CliRunner().invoke(app, ["diff", str(p), str(one), str(two)])
    assert result.exit_code == 0, result.output
    assert "2 call(s) changed: 0 berth change(s), start shifts 840 min in all" in result.output
    assert "+240 min" in result.output and "-600 min" in result.output
    other = _write(tmp_path / "other.json", json.dumps(two_ships_one_berth_dict(name="another")))
    refused = CliRunner().invoke(app, ["diff", str(other), str(one), str(two)])
    assert refused.exit_code == 2 and "another problem" in refused.output
