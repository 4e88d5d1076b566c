"""`portsync study capacity` on a small study (3 levels x 2 seeds, two-day months, short budgets):
the CSVs and plots a planner reads, every plan behind a point checked, the same months again
reused, bad input refused naming it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app

CONFIG = "days = 1\nwarmup_days = 1\ntail_days = 0.5\n"
ARGS = ["study", "capacity", "--growth", "1.0,1.5,2.0", "--seeds", "0,1", "--first-budget", "0.3",
        "--replan-budget", "0.05", "--jobs", "2"]


def test_a_small_study_writes_its_points_summary_knees_and_plots(tmp_path: Path) -> None:
    config = tmp_path / "small.toml"
    config.write_text(CONFIG)
    out = tmp_path / "study"
    r = CliRunner().invoke(app, [*ARGS, "--config", str(config), "--out", str(out)])
    assert r.exit_code == 0, r.output
    months = sorted((out / "months").glob("*.json"))
    assert len(months) == 3 * 2
    for m in months:  # every version of both planners passed the checker while the month was lived
        result = json.loads(m.read_text())["result"]
        assert result["plans_checked"] > 0 and {p["planner"] for p in result["ports"]} == {"fcfs", "portsync"}
    points = list(csv.DictReader((out / "points.csv").open()))
    assert len(points) == 3 * 2 * 2 * 3  # levels x seeds x planners x ports
    summary = list(csv.DictReader((out / "summary.csv").open()))
    assert len(summary) == 3 * 2 * 3 and all(row["seeds"] == "2" for row in summary)
    knees = list(csv.DictReader((out / "knees.csv").open()))
    assert {(k["port_id"], k["planner"]) for k in knees} == {(p, w) for p in ("KZAAU", "KZKUR", "AZBAK")
                                                          for w in ("fcfs", "portsync")}
    for name in ("demand.png", "demand.svg", "congestion.png", "congestion.svg"):
        assert (out / name).stat().st_size > 1000
    before = (out / "summary.csv").read_bytes()
    again = CliRunner().invoke(app, [*ARGS, "--config", str(config), "--out", str(out)])
    assert again.exit_code == 0 and "0 month(s) lived now, 6 reused" in again.output
    assert (out / "summary.csv").read_bytes() == before


def test_bad_input_is_refused_naming_it(tmp_path: Path) -> None:
    for args, said in [(["--option", "add-berth:NOPE-9"], "NOPE-9"), (["--growth", "1,x"], "--growth"),
                       (["--seeds", "-1"], "--seeds")]:
        r = CliRunner().invoke(app, ["study", "capacity", *args, "--out", str(tmp_path)])
        assert r.exit_code == 2, r.output
        assert said in r.output and "Traceback" not in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("days = -2\n")
    r = CliRunner().invoke(app, ["study", "capacity", "--config", str(bad), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "days" in r.output
