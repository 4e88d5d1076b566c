"""`portsync replay` on a tiny problem and stream; bad event lines; the week's generated stream."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.gantt import gantt_html
from optimizer.generator.events import week_events
from optimizer.live.replaying import EventFileError, dump_event_lines, parse_event_lines
from optimizer.loading import load_problem_file
from tests.builders import two_ships_one_berth
from tests.live_tiny import tiny_dict, tiny_stream_dicts

runner = CliRunner()
CASPIAN = Path(__file__).resolve().parents[1] / "instances" / "caspian"


def _files(tmp_path: Path, lines: list[str]) -> tuple[Path, Path]:
    problem = tmp_path / "tiny.json"
    problem.write_text(json.dumps(tiny_dict()), encoding="utf-8")
    events = tmp_path / "tiny-events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return problem, events


def test_replay_prints_the_table_and_the_realized_kpis(tmp_path: Path) -> None:
    lines = ["# a tiny stream", "", *(json.dumps(d) for d in tiny_stream_dicts())]
    problem, events = _files(tmp_path, lines)
    chart, out = tmp_path / "live.html", tmp_path / "replay.json"
    result = runner.invoke(app, ["replay", str(problem), str(events), "--first-time-limit", "1",
                                 "--replan-time-limit", "1", "--gantt", str(chart), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "one version per event" in result.output and "clock-3" in result.output
    for col in ("portsync live", "re-run FCFS", "clairvoyant", "total dwell h", "calls served", "p95",
                "forced /"):
        assert col in result.output
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["failed_checks"] == []
    assert len([s for s in body["steps"] if s["line"]]) == len(tiny_stream_dicts())
    assert all(s["forced"] >= 0 and s["chosen"] >= 0 for s in body["steps"])
    assert 'class="now-line"' in chart.read_text(encoding="utf-8")
    assert "Traceback" not in result.output


def test_gantt_at_an_event_shows_facts_and_plan(tmp_path: Path) -> None:
    problem, events = _files(tmp_path, [json.dumps(d) for d in tiny_stream_dicts()])
    chart = tmp_path / "mid.html"
    result = runner.invoke(app, ["replay", str(problem), str(events), "--first-time-limit", "1",
                                 "--replan-time-limit", "1", "--no-baselines", "--gantt", str(chart),
                                 "--gantt-at-event", "7"])
    assert result.exit_code == 0, result.output
    html = chart.read_text(encoding="utf-8")
    assert 'class="now-line"' in html
    assert re.search(r'class="call[^"]* actual"', html) and re.search(r'class="call[^"]* planned"', html)


def test_a_plain_plan_chart_has_no_live_marks() -> None:
    from tests.builders import solve_plan

    p = two_ships_one_berth()
    html = gantt_html(p, solve_plan(p))
    assert "now-line" not in html and "call planned" not in html and "call actual" not in html


def test_a_bad_line_is_refused_with_its_number_and_field(tmp_path: Path) -> None:
    good = [json.dumps(d) for d in tiny_stream_dicts()[:2]]
    no_call = '{"event_id": "e1", "type": "eta", "eta": "2026-11-02T05:00:00Z"}'
    problem, events = _files(tmp_path, ["# header", good[0], no_call, good[1], "{not json"])
    result = runner.invoke(app, ["replay", str(problem), str(events), "--first-time-limit", "1"])
    assert result.exit_code == 2, result.output
    assert "line 3.call_id" in result.output and "line 5" in result.output
    assert "Traceback" not in result.output


def test_an_event_the_live_plan_refuses_names_its_line(tmp_path: Path) -> None:
    bad = {"event_id": "c9", "type": "call_cancelled", "call_id": "NOPE"}
    problem, events = _files(tmp_path, [json.dumps(tiny_stream_dicts()[0]), json.dumps(bad)])
    result = runner.invoke(app, ["replay", str(problem), str(events), "--first-time-limit", "1",
                                 "--replan-time-limit", "1", "--no-baselines"])
    assert result.exit_code == 2, result.output
    assert "line 2" in result.output and "NOPE" in result.output and "Traceback" not in result.output


def test_parse_skips_comments_and_blank_lines_and_collects_every_bad_line() -> None:
    text = '# c\n\n{"event_id": "k", "type": "clock", "now": "2026-11-02T03:00:00Z"}\n[1]\n{"type": "nope"}\n'
    try:
        parse_event_lines(text)
    except EventFileError as exc:
        paths = [i.path for i in exc.issues]
        assert any(p.startswith("line 4") for p in paths) and any(p.startswith("line 5") for p in paths)
    else:
        raise AssertionError("bad lines were accepted")
    assert len(parse_event_lines(text.split("[1]")[0])) == 1


def _make_scenarios():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_scenarios", CASPIAN / "make_scenarios.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_week_stream_parses_and_is_reproducible_from_the_seed() -> None:
    week = load_problem_file(CASPIAN / "week.json")
    text = (CASPIAN / "week-events.jsonl").read_text(encoding="utf-8")
    assert _make_scenarios().week_stream(week) == text
    lines = parse_event_lines(text)
    kinds = [el.event.type.value for el in lines]
    for kind, n in (("closure", 3), ("closure_lifted", 1), ("call_cancelled", 1), ("cargo_ready", 2),
                    ("maintenance", 1), ("call_added", 1)):
        assert kinds.count(kind) == n, kind
    assert kinds.count("clock") == 56 and kinds.count("eta") > len(week.voyages)
    again = week_events(week, 2026)
    assert dump_event_lines(again) == dump_event_lines([el.event for el in lines])
    assert dump_event_lines(week_events(week, 1)) != dump_event_lines(again)


def test_bench_live_prints_the_stability_table_and_the_targets(tmp_path: Path) -> None:
    from tests.builders import corridor_dict

    data = corridor_dict()
    problem = tmp_path / "corridor.json"
    problem.write_text(json.dumps(data), encoding="utf-8")
    args = ["bench", "live", "--problem", str(problem), "--first-time-limit", "0.5",
            "--replan-time-limit", "0.2", "--seeds", "0", "--no-replay"]
    result = runner.invoke(app, args)  # its voyages arrive too early to be delayed
    assert result.exit_code == 2 and "delays 3 voyages" in result.output and "Traceback" not in result.output
    for v in data["voyages"]:
        v["eta"] = v["eta"].replace("2026-11-02", "2026-11-03")
    problem.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "berth chg outside" in result.output and "dwell vs re-solve" in result.output
    assert re.search(r"targets: shifted >30 min <= 15 \(worst \d+\)", result.output)
