"""POST /v1/schedules: accepted jobs, every kind of bad request, idempotency, body limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from fastapi.testclient import TestClient

from tests.api.conftest import tiny_problem
from tests.builders import call

PROBLEM_JSON = "application/problem+json"


def test_submit_wrapped_answers_202_with_location(client: TestClient) -> None:
    r = client.post("/v1/schedules", json={"problem": tiny_problem(), "options": {"time_limit_s": 1.5}})
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/v1/schedules/{job['id']}"
    assert job["status"] == "queued"
    assert job["options"]["time_limit_s"] == 1.5
    assert job["calls"] == 2 and job["problem_name"] == "tiny"
    assert client.get(r.headers["location"]).json()["id"] == job["id"]


def test_submit_bare_problem_with_time_limit_in_query(client: TestClient) -> None:
    r = client.post("/v1/schedules?time_limit_s=7", json=tiny_problem())
    assert r.status_code == 202
    assert r.json()["options"]["time_limit_s"] == 7


def test_default_time_limit_comes_from_settings(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(default_time_limit_s=12)
    assert c.post("/v1/schedules", json=tiny_problem()).json()["options"]["time_limit_s"] == 12


def test_solver_threads_are_capped_by_settings(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(solver_threads=1)
    r = c.post("/v1/schedules", json={"problem": tiny_problem(), "options": {"workers": 8}})
    assert r.json()["options"]["workers"] == 1


def test_whole_problem_issues_are_422_with_paths_and_nothing_is_stored(client: TestClient) -> None:
    bad = tiny_problem()
    bad["calls"][1] = call("C2", "V9", "KZXXX", 4)
    r = client.post("/v1/schedules", json={"problem": bad})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == 422 and body["title"] and body["detail"]
    fields = {e["field"]: e for e in body["errors"]}
    assert fields["problem.calls.1.vessel_id"]["msg"] == "unknown vessel 'V9'"
    assert fields["problem.calls.1.port_id"]["loc"] == ["body", "problem", "calls", 1, "port_id"]
    assert fields["problem.calls.1.port_id"]["call_id"] == "C2"
    assert client.get("/v1/schedules").json()["items"] == []


def test_field_errors_of_a_bare_problem_have_paths_from_the_body_root(client: TestClient) -> None:
    bad = tiny_problem()
    bad["calls"][0]["handling"] = {"hours": -3}
    bad["vessels"][0]["imo"] = "1234568"
    r = client.post("/v1/schedules", json=bad)
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert errors["calls.0.handling.hours"]["type"] == "greater_than_equal"
    assert "check digit" in errors["vessels.0.imo"]["msg"]


def test_unknown_field_is_named(client: TestClient) -> None:
    r = client.post("/v1/schedules", json={"problem": tiny_problem(), "options": {"time_limt_s": 3}})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["options.time_limt_s"]


def test_malformed_json_is_422(client: TestClient) -> None:
    r = client.post("/v1/schedules", content=b'{"problem": ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["errors"][0]["type"] == "json_invalid"


def test_non_object_body_is_422(client: TestClient) -> None:
    r = client.post("/v1/schedules", json=[1, 2, 3])
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON


def test_time_limit_above_server_maximum_is_refused(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_time_limit_s=60)
    r = c.post("/v1/schedules", json={"problem": tiny_problem(), "options": {"time_limit_s": 61}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "options", "time_limit_s"]
    r = c.post("/v1/schedules?time_limit_s=100", json=tiny_problem())
    assert r.json()["errors"][0]["loc"] == ["query", "time_limit_s"]


def test_cp_sat_parameters_are_checked_before_the_job_is_stored(client: TestClient) -> None:
    body = {"problem": tiny_problem(), "options": {"cp_sat": {"num_workers": 9}}}
    r = client.post("/v1/schedules", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "options.cp_sat.num_workers"
    r = client.post("/v1/schedules", json={"problem": tiny_problem(), "options": {"cp_sat": {"no_such": 1}}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "options.cp_sat.no_such"
    ok = client.post("/v1/schedules", json={"problem": tiny_problem(),
                                            "options": {"cp_sat": {"linearization_level": 2}}})
    assert ok.status_code == 202
    assert len(client.get("/v1/schedules").json()["items"]) == 1


def test_same_idempotency_key_and_body_returns_the_same_job(client: TestClient) -> None:
    body = {"problem": tiny_problem(), "options": {"time_limit_s": 1}}
    first = client.post("/v1/schedules", json=body, headers={"Idempotency-Key": "k-1"})
    again = client.post("/v1/schedules", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/v1/schedules").json()["items"]) == 1


def test_same_idempotency_key_with_another_body_is_422(client: TestClient) -> None:
    client.post("/v1/schedules", json=tiny_problem("a"), headers={"Idempotency-Key": "k-2"})
    r = client.post("/v1/schedules", json=tiny_problem("b"), headers={"Idempotency-Key": "k-2"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert len(client.get("/v1/schedules").json()["items"]) == 1


def test_idempotency_keys_are_per_client(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(api_keys=["ka", "kb"])
    key = {"Idempotency-Key": "same"}
    a = c.post("/v1/schedules", json=tiny_problem("a"), headers={**key, "X-API-Key": "ka"})
    b = c.post("/v1/schedules", json=tiny_problem("b"), headers={**key, "X-API-Key": "kb"})
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]


def test_oversize_body_is_413_by_content_length(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_body_bytes=2000)
    r = c.post("/v1/schedules", content=json.dumps(tiny_problem()).encode() + b" " * 3000,
               headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["status"] == 413 and "2000" in r.json()["detail"]


def test_oversize_streamed_body_without_length_is_413(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_body_bytes=2000)

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 500

    r = c.post("/v1/schedules", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413


def test_body_under_the_limit_passes(app_factory: Callable[..., TestClient]) -> None:
    body = json.dumps(tiny_problem()).encode()
    c = app_factory(max_body_bytes=len(body) + 10)
    r = c.post("/v1/schedules", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 202


def test_a_value_that_breaks_a_validator_is_still_422(client: TestClient) -> None:
    bad = tiny_problem()
    bad["ports"][0]["timezone"] = "Asia/" + "x" * 400  # zoneinfo raises OSError, not ValueError
    r = client.post("/v1/schedules", json=bad)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
