"""The berth board in process: its page and assets served by the API (nothing from outside), the
vendored libraries as pinned, its data for a job and for a live plan's version (changes and the
events behind them), size and gzip, access, and the same layout as the static chart."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from optimizer.baseline import fcfs
from optimizer.gantt import gantt_html
from optimizer.gantt.board import board_data
from optimizer.loading import load_problem
from optimizer.plan import Plan
from tests.api.board_support import fcfs_month, partial_week, seed_job
from tests.api.conftest import WEEK, Backend
from tests.api.test_live_plans import wait_version
from tests.builders import at, corridor_dict

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
VENDOR = STATIC / "vendor"


@pytest.fixture
def api(backend: Backend, tmp_path: Path) -> Iterator[TestClient]:
    """The app with its runner and replanner, embedded or on the fleet (PORTSYNC_TEST_BACKEND)."""
    with backend.app(tmp_path, live_batch_window_s=0.05) as c:
        yield c


def test_vendored_files_match_their_pinned_checksums() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert len(lines) >= 6
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    readme = (VENDOR / "README.md").read_text()
    for pinned in ("| 8.5.4 |", "| 5.35.0 |", "| 2.5.2 |"):
        assert pinned in readme
    for licence in ("vis-timeline/LICENSE.md", "swagger-ui/LICENSE", "redoc/LICENSE"):
        assert (VENDOR / licence).stat().st_size > 300


def test_board_page_and_its_assets_come_from_this_server(api: TestClient) -> None:
    page = api.get("/board")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    refs = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert refs and all(r.startswith("/") or r == "data:," for r in refs), refs  # no other host, no CDN
    for ref in refs:
        if ref.startswith("/static/"):
            assert api.get(ref).status_code == 200, ref
    assert "http" not in (STATIC / "board" / "board.js").read_text().replace("http/1", "")


def test_job_board_data_is_the_plan_as_laid_out(backend: Backend, tmp_path: Path) -> None:
    problem, plan = fcfs_month(120, 8, 2)
    settings = backend.settings(tmp_path)
    job_id = seed_job(settings.database_url, problem, plan, schema=settings.database_schema)
    with backend.app(tmp_path) as c:
        r = c.get(f"/v1/board/jobs/{job_id}", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        data = r.json()
        assert c.get(f"/v1/board/jobs/{job_id}").json() == data  # cached, the same
        assert c.get("/v1/board/jobs/nope").status_code == 404
    assert data["source"] == {"kind": "job", "id": job_id, "status": "done", "links": {
        "self": f"/v1/schedules/{job_id}", "gantt": f"/v1/schedules/{job_id}/gantt"}}
    berths = [b["id"] for p in data["ports"] for b in p["berths"]]
    assert berths == [b.id for p in problem.ports for b in p.berths]
    by_id = {c["id"]: c for c in data["calls"]}
    assert set(by_id) == {c.call_id for c in plan.calls}
    vessels = problem.vessel_map()
    calls = problem.call_map()
    for cp in plan.calls:
        c = by_id[cp.call_id]
        times = (int(cp.arrival.timestamp()), int(cp.berth_start.timestamp()), int(cp.berth_end.timestamp()))
        assert (c["b"], c["a"], c["s"], c["e"]) == (cp.berth_id, *times)
        v = vessels[calls[cp.call_id].vessel_id]
        assert c["n"] == v.name and c.get("imo") == v.imo and c["st"] == "planned"
        assert [w["kind"] for w in c.get("wf", [])] == [w.kind.value for w in cp.waited_for]
    assert {p["id"]: p["tz"] for p in data["ports"]} == {"KZAAU": "Asia/Aqtau", "KZKUR": "Asia/Aqtau",
                                                          "AZBAK": "Asia/Baku"}
    closures = sum(len(p.closures) for p in problem.ports)
    assert sum(len(p.get("closures", [])) for p in data["ports"]) == closures
    assert data["kpis"]["columns"][:3] == ["KPI", "plan", "FCFS"]
    assert len(data["kpis"]["sections"]) == 1 + len(problem.ports)
    assert data["solver"]["served"] == len(plan.calls) and data["solver"]["status"] == "feasible"


def test_a_month_of_2000_calls_is_under_1_5_mb() -> None:
    problem, plan = fcfs_month()
    raw = json.dumps(board_data(problem, plan, title="month"), separators=(",", ":")).encode()
    assert len(problem.calls) == 2000
    assert len(raw) <= 1_500_000, len(raw)
    assert len(gzip.compress(raw, 5)) <= 300_000


def test_the_static_chart_and_the_board_share_the_layout() -> None:
    """Berth rows in the same order, every call on the same berth: the --gantt file stays, drawn
    from the same layout functions (optimizer.gantt.layout)."""
    problem, plan = fcfs_month(60, 5, 4)
    page = gantt_html(problem, plan)
    data = board_data(problem, plan, title="t")
    svg_berths = list(dict.fromkeys(re.findall(r'data-berth-id="([^"]+)"', page)))
    assert svg_berths == [b["id"] for p in data["ports"] for b in p["berths"]]
    assert set(re.findall(r'data-call-id="([^"]+)"', page)) == {c["id"] for c in data["calls"]}


def test_a_hand_written_plan_with_an_unknown_berth_is_shown_as_it_is() -> None:
    problem, plan = fcfs_month(30, 4, 5)
    first = plan.calls[0]
    bare = [{"call_id": c.call_id, "berth_id": "TYPO-1" if c is first else c.berth_id,
             "arrival": c.arrival.isoformat(), "berth_start": c.berth_start.isoformat(),
             "berth_end": c.berth_end.isoformat()} for c in plan.calls]
    hand = Plan.model_validate({"calls": bare})
    data = board_data(problem, hand, title="by hand")
    assert data["ports"][-1]["berths"] == [{"id": "TYPO-1", "label": "TYPO-1", "sub": "unknown berth"}]
    assert {c["id"] for c in data["calls"]} == {c.call_id for c in plan.calls}
    assert "kpis" not in data or data["kpis"] is None


def test_live_board_data_names_the_change_and_the_event_behind_it(api: TestClient) -> None:
    r = api.post("/v1/live-plans?time_limit_s=2&replan_time_limit_s=0.5", json=corridor_dict())
    path = r.headers["Location"]
    plan_id = r.json()["id"]
    wait_version(api, path, 1)
    v1 = api.get(f"/v1/board/live-plans/{plan_id}").json()
    assert v1["source"]["version"] == 1 and v1["now"] is not None and v1["changes"] == {}
    r = api.post(f"{path}/events", json={"event_id": "eta-1", "type": "eta", "call_id": "V2-A", "eta": at(9)})
    assert r.status_code == 202
    wait_version(api, path, 2)
    v2 = api.get(f"/v1/board/live-plans/{plan_id}").json()
    assert v2["source"]["version"] == 2 and v2["source"]["latest"] == 2
    assert v2["source"]["event_ids"] == ["eta-1"]
    change = v2["changes"]["V2-A"]
    assert change["cause"] == "event" and change["rta_shift"] == 360
    assert change["events"][0]["id"] == "eta-1" and change["events"][0]["type"] == "eta"
    assert change["events"][0]["event"]["eta"].startswith(at(9)[:13])
    moved = {c["id"]: c for c in v2["calls"]}["V2-A"]
    before = {c["id"]: c for c in v1["calls"]}["V2-A"]
    assert moved["a"] - before["a"] == 360 * 60
    back = api.get(f"/v1/board/live-plans/{plan_id}?version=1").json()
    assert back["source"]["version"] == 1 and back["source"]["latest"] == 2
    assert api.get(f"/v1/board/live-plans/{plan_id}?version=9").status_code == 404
    assert api.get(f"/v1/board/live-plans/{plan_id}?version=0").status_code == 422


def test_board_data_needs_the_owners_key(backend: Backend, tmp_path: Path) -> None:
    with backend.app(tmp_path, api_keys=["key-a", "key-b"]) as c:
        assert c.get("/board").status_code == 200  # the page holds no data
        r = c.post("/v1/live-plans?time_limit_s=1", json=corridor_dict(), headers={"X-API-Key": "key-a"})
        plan_id = r.json()["id"]
        assert c.get(f"/v1/board/live-plans/{plan_id}").status_code == 401
        assert c.get(f"/v1/board/live-plans/{plan_id}", headers={"X-API-Key": "key-b"}).status_code == 404


def _week() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WEEK.read_text(encoding="utf-8"))
    return data


def _bare(assignments: list[Any]) -> list[dict[str, Any]]:
    """Assignments as a planner's file has them: call, berth and times, nothing derived."""
    return [{"call_id": a.call_id, "berth_id": a.berth_id, "arrival": a.arrival.isoformat(),
             "berth_start": a.berth_start.isoformat(), "berth_end": a.berth_end.isoformat()}
            for a in assignments]


def test_a_plan_written_elsewhere_opens_with_the_calls_it_leaves_out(client: TestClient) -> None:
    week = _week()
    problem = load_problem(week)
    plan = fcfs(problem)
    left_out = plan[3].call_id
    given = _bare([a for a in plan if a.call_id != left_out])
    r = client.post("/v1/board/plans", json={"problem": week, "plan": given})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["source"] == {"kind": "file", "shape": "assignments", "calls_given": len(plan) - 1}
    assert data["title"] == f"{problem.name} · plan from a file"
    by_id = {c["id"]: c for c in data["calls"]}
    assert set(by_id) == {a.call_id for a in plan} - {left_out}
    for a in plan:
        if a.call_id != left_out:
            c = by_id[a.call_id]
            assert (c["b"], c["s"], c["e"]) == (a.berth_id, int(a.berth_start.timestamp()),
                                                int(a.berth_end.timestamp()))
    [unserved] = data["unserved"]
    assert unserved["id"] == left_out and unserved["kind"] == "not_found"
    assert left_out in unserved["reasons"][0] and "has no" in unserved["reasons"][0]
    assert data["breaches"] == [{"kind": "missing_call", "id": left_out, "detail": unserved["reasons"][0]}]
    assert data["check"]["ok"] is False and data["check"]["kinds"] == {"missing_call": 1}
    assert data["kpis"]["columns"][:3] == ["KPI", "plan", "FCFS"]  # beside FCFS, recomputed
    assert any(c.get("wf") for c in data["calls"])  # why calls waited, derived from the times
    assert client.get("/v1/schedules").json()["items"] == []  # nothing solved, nothing stored


def test_a_breaching_plan_is_drawn_as_it_is_with_its_breaches_listed(client: TestClient) -> None:
    week = _week()
    problem = load_problem(week)
    plan = fcfs(problem)
    first = plan[0]
    other = next(a for a in plan[1:] if a.berth_id == first.berth_id)
    shift = other.berth_start - first.berth_start
    moved = other.model_copy(update={"arrival": min(other.arrival, first.berth_start),
                                     "berth_start": first.berth_start, "berth_end": other.berth_end - shift})
    hand = [moved if a is other else a for a in plan]
    r = client.post("/v1/board/plans", json={"problem": week, "plan": _bare(hand), "title": "Alat by hand"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["title"] == "Alat by hand" and data["unserved"] == []
    overlaps = [b for b in data["breaches"] if b["kind"] == "berth_overlap"]
    assert overlaps and {b["id"] for b in overlaps} & {first.call_id, other.call_id}
    assert all(other.call_id in b["detail"] or first.call_id in b["detail"] for b in overlaps)
    marked = {c["id"]: c.get("br") for c in data["calls"]}
    assert "berth_overlap" in (marked[first.call_id] or [])  # both bars of the overlap are marked
    assert "berth_overlap" in (marked[other.call_id] or [])
    assert {c["id"] for c in data["calls"]} == {a.call_id for a in plan}
    same = client.post("/v1/check", json={"problem": week, "plan": _bare(hand)}).json()
    assert len(data["breaches"]) == len(same["violations"])  # the checker's own verdict


def test_a_plan_file_as_solve_writes_it_opens_and_keeps_its_reasons(client: TestClient) -> None:
    week = _week()
    problem, plan, call_id = partial_week(week)
    body = {"problem": problem.model_dump(mode="json"), "plan": plan.model_dump(mode="json")}
    r = client.post("/v1/board/plans", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["source"]["shape"] == "plan" and data["solver"]["status"] == "partial"
    [u] = data["unserved"]
    assert u["id"] == call_id and u["kind"] == "proven" and u["rule"] == "window_too_short"
    assert data["breaches"] == [] and data["check"]["ok"] is True
    other = copy.deepcopy(week)
    other["name"] = "another week"
    r = client.post("/v1/board/plans", json={"problem": other, "plan": body["plan"]})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "plan.problem_digest"
    forced = client.post("/v1/board/plans", json={"problem": other, "plan": body["plan"], "force": True})
    assert forced.status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"plan": []}, "problem"),
    ({"problem": "week.json"}, "problem"),
    ({"problem": "WEEK", "plan": "plan.json"}, "plan"),
    ({"problem": "WEEK", "plan": [{"call_id": "V1", "berth_id": "B", "arrival": "soon",
                                   "berth_start": "2026-11-02T08:00:00Z",
                                   "berth_end": "2026-11-02T09:00:00Z"}]}, "plan.0.arrival"),
    ({"problem": "WEEK", "plan": {"calls": [{"call_id": "V1"}]}}, "plan.calls.0.berth_id"),
    ({"problem": "WEEK", "plan": [], "extra": 1}, "extra"),
    ({"problem": "WEEK", "plan": [{"call_id": "V1", "berth_id": "B", "arrival": "2026-11-02T08:00:00Z",
                                   "berth_start": "2026-11-02T08:00:00Z",
                                   "berth_end": "9999-12-31T23:59:59Z"}]}, "plan.0.berth_end"),
    ({"problem": "WEEK", "plan": {"calls": [{"call_id": "V1", "berth_id": "B",
                                             "arrival": "0001-01-01T00:00:00Z",
                                             "berth_start": "2026-11-02T08:00:00Z",
                                             "berth_end": "2026-11-02T09:00:00Z"}]}}, "plan.calls.0.arrival"),
])
def test_garbage_is_refused_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    body = {k: (_week() if v == "WEEK" else v) for k, v in body.items()}
    r = client.post("/v1/board/plans", json=body)
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["errors"]]
    assert any(f == field or f.startswith(field) for f in fields), fields
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_plan_body_that_is_not_json_is_refused(client: TestClient) -> None:
    r = client.post("/v1/board/plans", content=b"{problem:", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
