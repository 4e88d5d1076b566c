"""The bench commands: figures in the files' own units, checker verdicts, JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from optimizer.bench import (
    bench_app,
    berths_text,
    best_known,
    bound_in_file_units,
    instance_paths,
    scale_note,
    scale_seeds,
    scale_table,
    solve_bap_instance,
)
from optimizer.formats.bap import BapInstance, read_cordeau
from optimizer.params import ObjectiveWeights
from tests.builders import BAP, at, need_bap, two_ships_one_berth_dict


def test_bap_json_on_one_small_instance() -> None:
    path = need_bap(BAP / "lalla_ruiz_f30x3_f60x7" / "f30x3-01.txt")
    args = ["bap", str(path), "--time-limit", "2", "--workers", "2", "--json"]
    result = CliRunner().invoke(bench_app, args)
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.stdout.splitlines() if ln.strip()]
    row = json.loads(line)
    assert {"instance", "fcfs", "objective", "bound", "seconds", "feasible", "gap", "seeds",
            "time_to_best"} <= row.keys()
    assert row["instance"] == "f30x3-01" and row["feasible"] is True
    assert row["bound"] <= row["objective"] <= row["fcfs"]
    assert row["seconds"] <= 10


def test_bound_is_converted_to_file_units_and_closes_on_a_known_optimum() -> None:
    # One berth for ships 1 and 2 (weight 2), ship 3 best at berth 2 (open from 2): the optimum puts
    # ship 2 first (4 x 2), then ship 1 (14), and ship 3 at berth 2 from 3 to 5 (2): 24.
    # FCFS serves ship 1 first: 10 + 2 x 14 + 2 = 40.
    inst = BapInstance(name="tiny", format="kramer", arrivals=[0, 0, 3],
                       handling=[[10, None], [4, None], [5, 2]], berth_open=[0, 2], berth_close=[100, 100],
                       deadlines=[100, 100, 100], weights=[1, 2, 1], has_weights=True)
    r = solve_bap_instance(inst, time_limit_s=5, workers=2)
    assert (r.fcfs, r.objective, r.bound, r.gap, r.feasible) == (40.0, 24.0, 24.0, 0.0, True)
    assert r.improvement_vs_fcfs == pytest.approx(0.4)


def test_bound_conversion_rounds_up_within_tolerance() -> None:
    w = ObjectiveWeights(dwell=10)
    assert bound_in_file_units(24 * 600, w) == 24
    assert bound_in_file_units(24 * 600 - 1e-5, w) == 24
    assert bound_in_file_units(23.5 * 600, w) == 24


def test_folders_give_their_instances_but_not_solutions(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "sol-a.txt", "notes.md"):
        (tmp_path / name).write_text("1")
    assert [p.name for p in instance_paths([tmp_path])] == ["a.txt", "b.txt"]


def test_cordeau_i01_carries_its_best_known_value() -> None:
    inst = read_cordeau(need_bap(BAP / "cordeau_I3_partial" / "i01.txt"))
    known = best_known(inst)
    assert known is not None and known[0] == 1409.0 and "sol-i01.txt" in known[1]


def test_unreadable_instance_is_reported_and_fails_the_run(tmp_path: Path) -> None:
    bad = tmp_path / "broken.txt"
    bad.write_text("3\n2\n1 2\n")
    result = CliRunner().invoke(bench_app, ["bap", str(bad), "--json"])
    assert result.exit_code == 1
    row = json.loads(result.stdout)
    assert row["instance"] == "broken" and row["feasible"] is False and "neither DBAP format" in row["error"]


def test_scale_rejects_a_bad_size_list() -> None:
    result = CliRunner().invoke(bench_app, ["scale", "--calls", "100,lots"])
    assert result.exit_code == 2
    assert "--calls" in result.output and "comma-separated" in result.output


@pytest.mark.slow
def test_scale_reports_one_small_size() -> None:
    result = CliRunner().invoke(bench_app, ["scale", "--calls", "30", "--days", "3", "--time-limit", "2",
                                            "--workers", "2", "--seed", "0", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["feasible"] is True and row["calls"] == 30 and row["days"] == 3
    assert row["first_feasible_seconds"] is not None and row["peak_mib"] > 10
    assert row["dwell_hours"] <= row["fcfs_dwell_hours"]
    # 10 calls a day fit the real ports: no copies.
    assert (row["berths"], row["real_berths"], row["berth_copies"], row["berth_scale"]) == (27, 27, 0, 1)


def test_scale_says_when_it_solved_on_copies_of_the_berths() -> None:
    real = {"calls": 300, "days": 30, "berths": 27, "real_berths": 27, "berth_copies": 0, "berth_scale": 1}
    copied = {"calls": 2000, "days": 30, "berths": 135, "real_berths": 27, "berth_copies": 108,
              "berth_scale": 5}
    assert berths_text(real) == "27"
    assert berths_text(copied) == "27×5 = 135 (copies)"
    assert "no copies" in scale_note([real])
    note = scale_note([real, copied])
    assert "copies of its 27 real berths" in note and "1 of 2 rows" in note and "not the real ports" in note


def test_scale_instance_refuses_sizes_and_bad_files(tmp_path: Path) -> None:
    week = Path(__file__).resolve().parents[1] / "instances" / "caspian" / "week.json"
    result = CliRunner().invoke(bench_app, ["scale", "--instance", str(week), "--calls", "100"])
    assert result.exit_code == 2 and "--instance" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(week.read_text()), "time_step_minutes": "soon"}))
    result = CliRunner().invoke(bench_app, ["scale", "--instance", str(bad)])
    assert result.exit_code == 2
    assert "bad.json" in result.output and "time_step_minutes" in result.output


@pytest.mark.slow
def test_scale_benches_an_instance_file_on_its_own_berths() -> None:
    week = Path(__file__).resolve().parents[1] / "instances" / "caspian" / "week.json"
    result = CliRunner().invoke(bench_app, ["scale", "--instance", str(week), "--time-limit", "2",
                                            "--workers", "2", "--seeds", "1", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["instance"] == str(week) and row["feasible"] is True
    assert (row["calls"], row["days"], row["berths"], row["berth_copies"]) == (100, 7, 27, 0)


def _rendered(rows: list[dict[str, Any]]) -> str:
    console = Console(width=200, record=True)
    console.print(scale_table(rows, 1))
    return console.export_text()


def test_scale_seeds_are_a_list_a_count_or_one_seed() -> None:
    assert scale_seeds(None, None) == [0, 1, 2]
    assert scale_seeds("4", None) == [0, 1, 2, 3]
    assert scale_seeds("4,7", None) == [4, 7]
    assert scale_seeds("5,", None) == [5]
    assert scale_seeds(None, 5) == [5]
    for bad, why in (("0", "at least 1"), ("two", "neither a count"), ("1,1", "twice"), ("1,-2", ">= 0")):
        result = CliRunner().invoke(bench_app, ["scale", "--calls", "10", "--seeds", bad])
        assert result.exit_code == 2 and "--seeds" in result.output and why in result.output, bad
    result = CliRunner().invoke(bench_app, ["scale", "--calls", "10", "--seeds", "0,1", "--seed", "0"])
    assert result.exit_code == 2 and "not both" in result.output


@pytest.mark.slow
def test_scale_runs_every_size_once_per_seed_and_tables_them_by_size() -> None:
    result = CliRunner().invoke(bench_app, ["scale", "--calls", "12", "--days", "2", "--seeds", "0,1",
                                            "--time-limit", "1", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(r["seed"], r["calls"], r["days"]) for r in rows] == [(0, 12, 2), (1, 12, 2)]
    for r in rows:
        assert (r["served"], r["unserved"], r["proven"], r["not_found"], r["feasible"]) == (12, 0, 0, 0, True)
        assert 0 <= r["first_feasible_seconds"] <= r["best_seconds"] <= r["seconds"]
    assert rows[0]["fcfs_dwell_hours"] != rows[1]["fcfs_dwell_hours"]  # each seed its own problem
    table = scale_table(rows, 1)
    assert table.row_count == 1
    text = _rendered(rows)
    dwell = sorted(r["dwell_hours"] for r in rows)
    assert "0,1" in text and "24/24" in text and "0 (0 / 0)" in text and "ok" in text
    assert f"{sum(dwell) / 2:,.0f}" in text and f"{dwell[0]:,.0f}–{dwell[1]:,.0f}" in text


@pytest.mark.slow
def test_scale_exits_1_when_a_seed_leaves_a_call_unserved(tmp_path: Path) -> None:
    # C2 arrives at 1 h and needs 4 h at the berth: it cannot leave by 3 h, whatever the seed.
    problem = two_ships_one_berth_dict()
    problem["calls"][1]["latest_departure"] = at(3)
    path = tmp_path / "late.json"
    path.write_text(json.dumps(problem))
    result = CliRunner().invoke(bench_app, ["scale", "--instance", str(path), "--seeds", "0,1",
                                            "--time-limit", "1", "--workers", "1", "--json"])
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["seed"] for r in rows] == [0, 1]
    for r in rows:
        assert (r["served"], r["unserved"], r["proven"], r["not_found"]) == (1, 1, 1, 0)
        assert (r["violations"], r["feasible"]) == (0, False)
    text = _rendered(rows)
    assert scale_table(rows, 1).row_count == 1
    assert "late.json" in text and "2/4" in text and "2 (2 / 0)" in text
    assert "0 violations, 2 unserved" in text
