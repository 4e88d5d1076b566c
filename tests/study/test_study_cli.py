"""`portsync study month`: a small month end to end, and bad input as exit 2 naming the field."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.study.records import MonthResult

runner = CliRunner()


def test_a_small_month_prints_both_planners_and_writes_json(tmp_path: Path) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text("days = 1\nwarmup_days = 0.25\ntail_days = 0\n")
    out = tmp_path / "m.json"
    r = runner.invoke(app, ["study", "month", "--growth", "1.5", "--seed", "2", "--option", "ferries:+2",
                            "--config", str(cfg), "--json", str(out), "--first-budget", "0.5",
                            "--replan-budget", "0.05"])
    assert r.exit_code == 0, r.output
    assert "ferries:+2, growth 1.5, seed 2" in r.output
    for word in ("Aktau", "Kuryk", "Alat", "fcfs", "portsync", "Wq/S"):
        assert word in r.output
    month = MonthResult.model_validate(json.loads(out.read_text()))
    assert month.key.option == "ferries:+2" and month.hours == 24 and month.warmup_h == 6
    assert len(month.ports) == 6 and month.plans_checked > 10


def test_bad_input_is_exit_2_naming_what_is_wrong(tmp_path: Path) -> None:
    r = runner.invoke(app, ["study", "month", "--option", "add-berth:KZAAU-B99"])
    assert r.exit_code == 2 and "unknown berth 'KZAAU-B99'" in r.output and "Traceback" not in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("oil_t_per_year = -1\n")
    r = runner.invoke(app, ["study", "month", "--config", str(bad)])
    assert r.exit_code == 2 and "oil_t_per_year.value" in r.output
    r = runner.invoke(app, ["study", "month", "--config", str(tmp_path / "missing.toml")])
    assert r.exit_code == 2 and "cannot read" in r.output
