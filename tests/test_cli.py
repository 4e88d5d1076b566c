"""The command line as a planner uses it: solve, baseline, check, and readable errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from tests.builders import at, berth, call, port, problem_dict, vessel, voyage

runner = CliRunner()


def write_problem(tmp_path: Path) -> Path:
    data = problem_dict(
        [port("KZKUR", [berth("K1", kinds=("rail_ferry",))]),
         port("AZBAK", [berth("B1", kinds=("rail_ferry",))], tz="Asia/Baku")],
        [vessel("F1", name="Barda"), vessel("F2", name="Karabakh")],
        [call("a1", "F1", "KZKUR", 8, "rail_ferry"), call("a2", "F1", "AZBAK", 8, "rail_ferry"),
         call("b1", "F2", "KZKUR", 6, "rail_ferry")],
        [voyage("F1", 0, "a1", "a2"), voyage("F2", 1, "b1")],
    )
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    return path


def test_solve_prints_kpis_beside_fcfs_and_writes_plan_and_gantt(tmp_path: Path) -> None:
    problem = write_problem(tmp_path)
    out, gantt = tmp_path / "plan.json", tmp_path / "plan.html"
    result = runner.invoke(app, ["solve", str(problem), "--time-limit", "3", "--out", str(out),
                                 "--gantt", str(gantt)])
    assert result.exit_code == 0, result.output
    assert "total dwell h" in result.stdout and "FCFS" in result.stdout
    plan = json.loads(out.read_text())
    assert {c["call_id"] for c in plan["calls"]} == {"a1", "a2", "b1"}
    assert "Barda" in gantt.read_text()


def test_check_exit_codes_clean_violations_bad_input(tmp_path: Path) -> None:
    problem = write_problem(tmp_path)
    out = tmp_path / "plan.json"
    assert runner.invoke(app, ["solve", str(problem), "-t", "3", "--out", str(out)]).exit_code == 0

    clean = runner.invoke(app, ["check", str(problem), str(out)])
    assert clean.exit_code == 0, clean.output
    assert "plan is clean" in clean.stdout

    plan = json.loads(out.read_text())
    first = next(c for c in plan["calls"] if c["call_id"] == "b1")
    other = next(c for c in plan["calls"] if c["call_id"] == "a1")
    first["berth_start"], first["berth_end"] = other["berth_start"], other["berth_end"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(plan["calls"]))  # a bare list of assignments is accepted too
    result = runner.invoke(app, ["check", str(problem), str(broken), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert not report["ok"]
    assert "berth_overlap" in {v["kind"] for v in report["violations"]}

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    bad = runner.invoke(app, ["check", str(problem), str(garbage)])
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output


def test_bad_problem_file_names_the_field_without_a_traceback(tmp_path: Path) -> None:
    path = write_problem(tmp_path)
    data = json.loads(path.read_text())
    data["vessels"][0]["imo"] = "1234568"  # its check digit is 7
    data["calls"][1]["cargo"] = "bananas"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["solve", str(path), "-t", "1"])
    assert result.exit_code == 2
    assert "vessels.0.imo" in result.output and "check digit" in result.output
    assert "calls.1.cargo" in result.output
    assert "Traceback" not in result.output

    data = json.loads(write_problem(tmp_path).read_text())
    data["calls"][2]["port_id"] = "RUMCX"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["solve", str(path), "-t", "1"])
    assert result.exit_code == 2
    assert "calls.2.port_id" in result.output and "unknown port 'RUMCX'" in result.output

    missing = runner.invoke(app, ["baseline", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_three_mistakes_of_both_kinds_are_reported_at_once(tmp_path: Path) -> None:
    path = write_problem(tmp_path)
    data = json.loads(path.read_text())
    data["vessels"][0]["imo"] = "1234568"  # field: check digit
    data["calls"][1]["cargo"] = "bananas"  # field: cargo kind
    data["calls"][2]["port_id"] = "RUMCX"  # whole problem: unknown port
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["check", str(path), str(path)])
    assert result.exit_code == 2
    assert "(3 problems)" in result.stderr and str(path) in result.stderr
    for words in ("vessels.0.imo", "calls.1.cargo", "calls.2.port_id: unknown port 'RUMCX'"):
        assert words in result.stderr


def test_baseline_prints_fcfs_kpis(tmp_path: Path) -> None:
    result = runner.invoke(app, ["baseline", str(write_problem(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "first come, first served" in result.stdout


def kpi_rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) > 1:
            rows[cells[0]] = cells[1:]
    return rows


def test_baseline_shows_fcfs_alone_and_the_hard_limits_it_breaks(tmp_path: Path) -> None:
    path = write_problem(tmp_path)
    data = json.loads(path.read_text())
    data["calls"][2]["latest_departure"] = at(10)  # b1 (6 h, ETA 1 h) waits for a1 (8 h) under FCFS
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["baseline", str(path)])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "KPI" in line)
    assert "FCFS" in header and "plan" not in header and "saving" not in header
    rows = kpi_rows(result.stdout)
    assert rows["total dwell h"] == ["29.0"]  # one value: a1 8 h, b1 7 h waiting + 6 h, a2 8 h
    assert rows["hard limits broken"] == ["1"]
    assert "latest_departure" in result.stderr or "latest departure" in result.stderr


def test_generate_writes_a_problem_that_loads_and_solves(tmp_path: Path) -> None:
    from optimizer.generator import generate
    from optimizer.loading import load_problem_file

    path = tmp_path / "made" / "gen.json"
    result = runner.invoke(app, ["generate", "--calls", "12", "--days", "3", "--seed", "4",
                                 "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert str(path) in result.stderr
    problem = load_problem_file(path)
    assert problem == generate(12, 3, 4)  # the same seed, the same problem
    assert len(problem.calls) == 12

    plan = tmp_path / "plan.json"
    solved = runner.invoke(app, ["solve", str(path), "--time-limit", "2", "--out", str(plan)])
    assert solved.exit_code == 0, solved.output
    assert runner.invoke(app, ["check", str(path), str(plan)]).exit_code == 0


def test_generate_writes_to_stdout_without_out(tmp_path: Path) -> None:
    from optimizer.loading import load_problem

    result = runner.invoke(app, ["generate", "--calls", "8", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert len(load_problem(result.stdout).calls) == 8
    assert runner.invoke(app, ["generate", "--calls", "0", "--days", "2"]).exit_code == 2


def test_names_and_paths_with_brackets_are_printed_as_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "[/x]"  # the folder "[" and in it "x]"
    folder.mkdir(parents=True)
    path = write_problem(folder)
    data = json.loads(path.read_text())
    data["name"] = "[/oops] [bold]week"  # rich markup in user text must not be markup
    path.write_text(json.dumps(data))
    for args in (["baseline", str(path), "--out", str(folder / "plan.json")],
                 ["solve", str(path), "-t", "1"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "[/oops] [bold]week" in result.stdout
    missing = folder / "[red]missing.json"
    result = runner.invoke(app, ["baseline", str(missing)])
    assert result.exit_code == 2 and str(missing) in result.stderr


def _write(tmp_path: Path, name: str, data: dict[str, object]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_solve_exit_codes_partial_plan_and_no_plan(tmp_path: Path) -> None:
    # two 10 h calls on one berth, both due out by 12 h: one is served, one listed; exit 3
    overfull = problem_dict(
        [port("KZAAU", [berth("A1")])], [vessel("V1"), vessel("V2")],
        [call("C1", "V1", "KZAAU", 10, latest_departure=at(12)),
         call("C2", "V2", "KZAAU", 10, latest_departure=at(12))],
        [voyage("V1", 0, "C1"), voyage("V2", 0, "C2")])
    out = tmp_path / "plan.json"
    path = _write(tmp_path, "p.json", overfull)
    result = runner.invoke(app, ["solve", str(path), "-t", "2", "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert "status partial" in result.output and "cannot be served" in result.output
    # either call fits alone: the one left out is only not found, and says so
    assert "1 call(s) cannot be served: 0 proven (no plan can serve them), 1 not found" in result.output
    assert "(not found): in this plan it cannot leave by its latest departure" in result.output
    assert "a plan serving it may exist: the search did not find one in 2 s" in result.output
    assert "servable if" not in result.output
    plan = json.loads(out.read_text())
    assert len(plan["calls"]) == 1 and len(plan["unserved"]) == 1
    assert plan["unserved"][0]["kind"] == "not_found" and plan["unserved"][0]["rule"] is None
    # nothing servable: no plan, exit 1, no savings table, nothing written
    hopeless = dict(overfull, calls=[call("C1", "V1", "KZAAU", 10, latest_departure=at(5)),
                                     call("C2", "V2", "KZAAU", 10, latest_departure=at(5))])
    out.unlink()
    path = _write(tmp_path, "q.json", hopeless)
    result = runner.invoke(app, ["solve", str(path), "-t", "2", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "no plan" in result.output and "saving" not in result.output
    assert "2 call(s) cannot be served: 2 proven" in result.output
    assert "C1 (proven: window_too_short): cannot start before" in result.output
    assert not out.exists()


def test_progress_in_plain_lines_without_a_terminal(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", str(write_problem(tmp_path)), "-t", "2", "--progress", "plain"])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("solving ")]
    assert lines and "best objective" in lines[0]
    assert all("gap" in ln or "no bound yet" in ln for ln in lines)
    assert not any("gap -" in ln or "gap 100" in ln for ln in lines)


def test_check_refuses_a_plan_made_for_another_problem_unless_forced(tmp_path: Path) -> None:
    problem = write_problem(tmp_path)
    out = tmp_path / "plan.json"
    assert runner.invoke(app, ["solve", str(problem), "-t", "2", "--out", str(out)]).exit_code == 0
    other = json.loads(problem.read_text())
    other["calls"][2]["handling"] = {"hours": 7}
    other_path = _write(tmp_path, "other.json", other)
    refused = runner.invoke(app, ["check", str(other_path), str(out)])
    assert refused.exit_code == 2 and "another problem" in refused.output
    forced = runner.invoke(app, ["check", str(other_path), str(out), "--force"])
    assert forced.exit_code == 1 and "handling_too_short" in forced.output
