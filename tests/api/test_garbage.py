"""Garbage in, a clear 4xx out: every malformed, oversized, mistyped or unstorable request is a
problem+json that names what is wrong (and the field, where there is one), never a 500, and a
refused submit stores nothing. Also the 405 Allow header, the summary view and stop semantics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.db import JobStatus
from api.settings import Settings
from tests.api.conftest import tiny_problem
from tests.builders import at

PROBLEM_JSON = "application/problem+json"
JSON = {"content-type": "application/json"}
BODY_ROUTES = ("/v1/schedules", "/v1/solve", "/v1/check")


def body_for(route: str, problem: dict[str, Any]) -> dict[str, Any]:
    return {"problem": problem, "plan": []} if route == "/v1/check" else problem


def prefix(route: str) -> str:
    return "problem." if route == "/v1/check" else ""


def post_raw(c: TestClient, route: str, raw: bytes | str, headers: dict[str, str] | None = None) -> Any:
    return c.post(route, content=raw.encode() if isinstance(raw, str) else raw,
                  headers=JSON if headers is None else headers)


def refused(r: Any, status: int, field: str | None = None, type_: str | None = None) -> dict[str, Any]:
    """The response is a `status` problem document; with `field`, one of its errors names it."""
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == PROBLEM_JSON
    doc: dict[str, Any] = r.json()
    assert doc["status"] == status and doc["title"] and doc["detail"]
    if field is not None:
        fields = {e["field"]: e for e in doc["errors"]}
        assert field in fields, doc
        if type_ is not None:
            assert fields[field]["type"] == type_, doc
    return doc


def nothing_stored(c: TestClient) -> None:
    assert c.get("/v1/schedules").json()["items"] == []
    assert c.app.state.db.count_by_status() == {}  # type: ignore[attr-defined]


def with_text(where: str, text_json: str) -> str:
    """The tiny problem as JSON text with `where` (a dotted path) set to the raw JSON string `text_json`."""
    marker = "@@MARK@@"
    p = tiny_problem()
    *path, last = where.split(".")
    target: Any = p
    for part in path:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = marker
    return json.dumps(p).replace(f'"{marker}"', text_json)


# -- 1. strings that cannot be stored or written back --------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize("text", [r'"\ud800"', r'"ok\udfff"', r'"a\u0000b"', r'"\ud83d x"'])
@pytest.mark.parametrize("where", ["name", "description", "vessels.0.name", "ports.0.berths.0.name"])
def test_nul_and_lone_surrogates_are_422_naming_the_field(client: TestClient, route: str, text: str,
                                                          where: str) -> None:
    problem_text = with_text(where, text)
    raw = f'{{"problem": {problem_text}, "plan": []}}' if route == "/v1/check" else problem_text
    doc = refused(post_raw(client, route, raw), 422, prefix(route) + where, "string_unsafe")
    reason = doc["errors"][0]["msg"]
    assert ("NUL" in reason) if "0000" in text else ("lone surrogate" in reason)
    nothing_stored(client)


def test_unstorable_strings_are_refused_anywhere_in_the_body(client: TestClient) -> None:
    body = {"problem": tiny_problem(), "options": {"cp_sat": {"x": "@@"}}}
    raw = json.dumps(body).replace('"@@"', r'"\u0000"')
    refused(post_raw(client, "/v1/schedules", raw), 422, "options.cp_sat.x", "string_unsafe")
    plan = [{"call_id": "@@", "berth_id": "A1", "arrival": at(1), "berth_start": at(1), "berth_end": at(2)}]
    raw = json.dumps({"problem": tiny_problem(), "plan": plan}).replace('"@@"', r'"\udc00"')
    refused(post_raw(client, "/v1/check", raw), 422, "plan.0.call_id", "string_unsafe")
    raw = json.dumps(tiny_problem()).replace('"name"', r'"na\ud800me"', 1)
    refused(post_raw(client, "/v1/schedules", raw), 422, type_=None)
    nothing_stored(client)


def test_surrogate_pairs_are_fine(client: TestClient) -> None:
    r = post_raw(client, "/v1/schedules", with_text("name", r'"ship \ud83d\udea2"'))
    assert r.status_code == 202 and r.json()["problem_name"] == "ship 🚢"


# -- 2. lengths and sizes -----------------------------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_a_five_megabyte_name_is_422(client: TestClient, route: str) -> None:
    problem = tiny_problem(name="n" * 5_000_000)
    refused(client.post(route, json=body_for(route, problem)), 422, prefix(route) + "name", "string_too_long")
    nothing_stored(client)


def test_text_limits_are_configurable(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_name_chars=10, max_description_chars=20, max_reason_chars=5)
    p = tiny_problem(name="x" * 11)
    p["description"] = "d" * 21
    p["links"] = [{"before": "C1", "after": "C2", "reason": "because"}]
    p["vessels"][1]["name"] = "y" * 11
    doc = refused(c.post("/v1/schedules", json=p), 422, "name", "string_too_long")
    fields = {e["field"] for e in doc["errors"]}
    assert fields == {"name", "description", "links.0.reason", "vessels.1.name"}
    assert "at most 10 characters" in doc["errors"][0]["msg"]
    refused(c.post("/v1/check", json={"problem": p, "plan": []}), 422, "problem.links.0.reason")
    nothing_stored(c)
    assert c.post("/v1/schedules", json=tiny_problem(name="x" * 10)).status_code == 202


def test_limits_may_not_exceed_what_the_records_take() -> None:
    with pytest.raises(ValueError):
        Settings(max_name_chars=201)


def test_calls_per_problem_are_limited(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_calls=1)
    doc = refused(c.post("/v1/schedules", json=tiny_problem()), 422, "calls", "too_long")
    assert "at most 1 calls" in doc["errors"][0]["msg"] and "PORTSYNC_MAX_CALLS" in doc["errors"][0]["msg"]
    refused(c.post("/v1/schedules", json={"problem": tiny_problem()}), 422, "problem.calls")
    refused(c.post("/v1/check", json={"problem": tiny_problem(), "plan": []}), 422, "problem.calls")
    refused(c.post("/v1/solve", json=tiny_problem()), 422, "calls")
    nothing_stored(c)


def test_default_limits() -> None:
    s = Settings()
    assert s.max_body_bytes == 20_000_000 and s.max_calls == 5000 and s.sync_max_calls <= s.max_calls
    assert (s.max_name_chars, s.max_description_chars, s.max_reason_chars) == (200, 10_000, 1_000)


def test_a_body_over_the_limit_is_413(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_body_bytes=5000)
    r = c.post("/v1/schedules", json=tiny_problem(name="n" * 6000))
    refused(r, 413)
    assert "PORTSYNC_MAX_BODY_BYTES" in r.json()["detail"]
    nothing_stored(c)


# -- 3. media types -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize("ctype", [None, "application/x-www-form-urlencoded", "text/plain", "text/json",
                                   "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                                   "application/xml"])
def test_a_body_not_sent_as_json_is_415(client: TestClient, route: str, ctype: str | None) -> None:
    raw = json.dumps(body_for(route, tiny_problem())).encode()
    r = client.post(route, content=raw, headers={"content-type": ctype} if ctype else {})
    if ctype is None:
        assert "content-type" not in r.request.headers
    doc = refused(r, 415, "Content-Type", "unsupported_media_type")
    assert "application/json" in doc["detail"]
    assert "application/json" in r.headers["accept"]
    nothing_stored(client)


@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=utf-8",
                                   'Application/JSON; Charset="UTF-8"', "application/problem+json",
                                   "application/vnd.portsync+json; charset=utf-8"])
def test_json_media_types_are_taken(client: TestClient, ctype: str) -> None:
    r = client.post("/v1/schedules", content=json.dumps(tiny_problem()), headers={"content-type": ctype})
    assert r.status_code == 202, r.text


def test_a_body_less_stop_needs_no_content_type(client: TestClient) -> None:
    job_id = client.post("/v1/schedules", json=tiny_problem()).json()["id"]
    assert client.post(f"/v1/schedules/{job_id}/stop").status_code == 200
    r = client.post(f"/v1/schedules/{job_id}/stop", content=b"x=1",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200


# -- 4. malformed bodies ------------------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
MALFORMED: list[tuple[str, bytes, str, str]] = [
    ("not utf-8", b'{"name": "\xff\xfe"}', "json_invalid", "UTF-8"),
    ("latin-1 text", "{\"name\": \"Ålesund\"}".encode("latin-1"), "json_invalid", "UTF-8"),
    ("truncated", b'{"name": ', "json_invalid", "invalid JSON"),
    ("trailing garbage", b'{"name": "x"} {', "json_invalid", "invalid JSON"),
    ("single quotes", b"{'name': 'x'}", "json_invalid", "invalid JSON"),
    ("control character", b'{"name": "a\x01b"}', "json_invalid", "invalid JSON"),
    ("empty", b"", "json_empty", "empty"),
    ("only spaces", b"  \n ", "json_empty", "empty"),
    ("array", b"[1, 2, 3]", "object_type", "an array"),
    ("string", b'"a problem"', "object_type", "a string"),
    ("null", b"null", "object_type", "null"),
    ("number", b"42", "object_type", "a number"),
    ("deep array", DEEP, "json_depth", "nested"),
    ("deep object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "json_depth", "nested"),
]


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize(("label", "raw", "type_", "says"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bodies_are_422_saying_what_is_wrong(client: TestClient, route: str, label: str, raw: bytes,
                                                       type_: str, says: str) -> None:
    doc = refused(post_raw(client, route, raw), 422, "(root)", type_)
    assert says in doc["detail"], doc
    nothing_stored(client)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 5000,
                                     "0." + "0" * 5000 + "1"])
def test_numbers_json_or_a_float_cannot_hold_are_422_naming_the_field(client: TestClient,
                                                                     literal: str) -> None:
    raw = json.dumps(tiny_problem()).replace('"hours": 10', f'"hours": {literal}', 1)
    assert literal in raw
    doc = refused(post_raw(client, "/v1/schedules", raw), 422, "calls.0.handling.hours", "json_number")
    assert len(doc["detail"]) < 300  # the number is not echoed back in full
    raw = json.dumps({"problem": tiny_problem(), "plan": []}).replace('"hours": 10', f'"hours": {literal}', 1)
    refused(post_raw(client, "/v1/check", raw), 422, "problem.calls.0.handling.hours", "json_number")
    nothing_stored(client)


def test_moderate_nesting_in_free_form_options_is_limited_too(client: TestClient) -> None:
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    r = client.post("/v1/schedules", json={"problem": tiny_problem(), "options": {"cp_sat": {"x": deep}}})
    doc = refused(r, 422, type_=None)
    assert doc["errors"][0]["type"] == "json_depth"
    assert doc["errors"][0]["field"].startswith("options.cp_sat.x.0.0")
    nothing_stored(client)


def test_a_utf8_byte_order_mark_is_accepted(client: TestClient) -> None:
    r = post_raw(client, "/v1/schedules", b"\xef\xbb\xbf" + json.dumps(tiny_problem()).encode())
    assert r.status_code == 202, r.text


# -- 5. whole-record checks name the field ------------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize("end_h", [-1, 24 * 367])
def test_horizon_errors_name_horizon_end(client: TestClient, route: str, end_h: float) -> None:
    problem = tiny_problem()
    problem["horizon_end"] = at(end_h)
    doc = refused(client.post(route, json=body_for(route, problem)), 422, prefix(route) + "horizon_end")
    assert "(root)" not in {e["field"] for e in doc["errors"]}
    nothing_stored(client)


def test_closure_and_link_errors_name_their_field(client: TestClient) -> None:
    p = tiny_problem()
    p["ports"][0]["closures"] = [{"start": at(5), "end": at(4)}]
    p["links"] = [{"before": "C1", "after": "C1"}]
    doc = refused(client.post("/v1/schedules", json=p), 422)
    assert {e["field"] for e in doc["errors"]} == {"ports.0.closures.0.end", "links.0.after"}


# -- 6. 405 lists every method of the path ------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/v1/schedules/some-id", "DELETE, GET"),
    ("PATCH", "/v1/schedules/some-id", "DELETE, GET"),
    ("PUT", "/v1/schedules", "GET, POST"),
    ("DELETE", "/v1/schedules", "GET, POST"),
    ("GET", "/v1/schedules/some-id/stop", "POST"),
    ("GET", "/v1/solve", "POST"),
])
def test_405_allow_lists_every_method_of_the_path(client: TestClient, method: str, path: str,
                                                  allowed: str) -> None:
    r = client.request(method, path)
    refused(r, 405)
    assert r.headers["allow"] == allowed


# -- 7. the summary view has no plan key ---------------------------------------------------------


def _solving_job(c: TestClient) -> tuple[str, int]:
    db = c.app.state.db  # type: ignore[attr-defined]
    r = c.post("/v1/schedules", json=tiny_problem())
    assert r.status_code == 202
    claimed = db.claim_next()
    assert claimed is not None and claimed[0] == r.json()["id"]
    job_id: str = claimed[0]
    attempt: int = claimed[1]
    return job_id, attempt


def _store_plan(c: TestClient, job_id: str, attempt: int, final: JobStatus | None = None) -> None:
    from optimizer.baseline import fcfs
    from optimizer.loading import load_problem
    from optimizer.plan import SolverFacts, SolveStatus
    from optimizer.report import build_plan

    problem = load_problem(tiny_problem())
    facts = SolverFacts(status=SolveStatus.FEASIBLE, objective=1.0, best_bound=0.0, gap=1.0, seconds=0.1,
                        solutions=1)
    plan = build_plan(problem, fcfs(problem), solver=facts)
    assert c.app.state.db.record_plan(job_id, attempt, plan, final_status=final)  # type: ignore[attr-defined]


def test_summary_leaves_the_plan_key_out(client: TestClient) -> None:
    job_id, attempt = _solving_job(client)
    summary = client.get(f"/v1/schedules/{job_id}?summary=true").json()
    assert "plan" not in summary and summary["has_plan"] is False
    assert client.get(f"/v1/schedules/{job_id}").json()["plan"] is None
    _store_plan(client, job_id, attempt)
    summary = client.get(f"/v1/schedules/{job_id}?summary=true").json()
    assert "plan" not in summary and summary["has_plan"] is True
    full = client.get(f"/v1/schedules/{job_id}").json()
    assert full["has_plan"] is True and full["plan"]["calls"]


# -- 8. stop answers once the job has stopped ---------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_stop_answers_with_the_final_state_once_the_job_has_stopped(
        app_factory: Callable[..., TestClient], method: str) -> None:
    c = app_factory(stop_wait_s=5)
    job_id, attempt = _solving_job(c)
    db = c.app.state.db  # type: ignore[attr-defined]

    def solver() -> None:  # what a solver process does: see the flag, store the last plan, end
        deadline = time.monotonic() + 5
        while not db.get_job_summary(job_id).stop_requested and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.4)
        _store_plan(c, job_id, attempt, JobStatus.STOPPED)

    t = threading.Thread(target=solver)
    t.start()
    t0 = time.monotonic()
    url = f"/v1/schedules/{job_id}" + ("/stop" if method == "POST" else "")
    r = c.request(method, url)
    took = time.monotonic() - t0
    t.join()
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "stopped" and job["has_plan"] is True and job["finished_at"] is not None
    assert 0.4 <= took < 2.0


def test_stop_of_a_job_that_does_not_end_in_time_is_202(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(stop_wait_s=0.3)
    job_id, _ = _solving_job(c)
    t0 = time.monotonic()
    r = c.post(f"/v1/schedules/{job_id}/stop")
    assert 0.3 <= time.monotonic() - t0 < 2.0
    assert r.status_code == 202
    assert r.json()["status"] == "solving" and r.json()["stop_requested"] is True
    assert r.headers["location"] == f"/v1/schedules/{job_id}" and r.headers["retry-after"] == "1"
