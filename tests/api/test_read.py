"""Reading, listing and stopping jobs, the Gantt page, API keys, health and the OpenAPI document
(without solver processes: jobs stay queued)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app, load_examples
from tests.api.conftest import WEEK, make_settings, tiny_problem

PROBLEM_JSON = "application/problem+json"


def submit(c: TestClient, name: str = "tiny", headers: dict[str, str] | None = None) -> str:
    r = c.post("/v1/schedules", json=tiny_problem(name), headers=headers)
    assert r.status_code == 202, r.text
    job_id: str = r.json()["id"]
    return job_id


def test_read_a_queued_job_with_and_without_its_plan(client: TestClient) -> None:
    job_id = submit(client)
    job = client.get(f"/v1/schedules/{job_id}").json()
    assert job["status"] == "queued" and job["plan"] is None and job["has_plan"] is False
    assert job["links"]["gantt"] == f"/v1/schedules/{job_id}/gantt"
    assert job["progress"]["improvements"] == 0
    short = client.get(f"/v1/schedules/{job_id}?summary=true").json()
    assert "plan" not in short and short["id"] == job_id and short["has_plan"] is False


def test_unknown_job_is_404_problem(client: TestClient) -> None:
    for path in ("/v1/schedules/nope", "/v1/schedules/nope/gantt", "/v1/schedules/nope/improvements"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == PROBLEM_JSON
        assert r.json()["detail"] == "no job with id 'nope'"
    assert client.post("/v1/schedules/nope/stop").status_code == 404
    assert client.delete("/v1/schedules/nope").status_code == 404


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM_JSON
    r = client.put("/v1/schedules")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM_JSON


def test_list_is_newest_first_and_paginated(client: TestClient) -> None:
    ids = [submit(client, f"p{i}") for i in range(5)]
    page1 = client.get("/v1/schedules?limit=2").json()
    assert [j["id"] for j in page1["items"]] == ids[::-1][:2]
    page2 = client.get(f"/v1/schedules?limit=2&cursor={page1['next_cursor']}").json()
    assert [j["id"] for j in page2["items"]] == ids[::-1][2:4]
    page3 = client.get(f"/v1/schedules?limit=2&cursor={page2['next_cursor']}").json()
    assert [j["id"] for j in page3["items"]] == ids[:1] and page3["next_cursor"] is None
    assert "plan" not in page1["items"][0]


def test_list_filters_by_status(client: TestClient) -> None:
    a = submit(client, "a")
    submit(client, "b")
    client.post(f"/v1/schedules/{a}/stop")
    stopped = client.get("/v1/schedules?status=stopped").json()["items"]
    assert [j["id"] for j in stopped] == [a]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=abc", "status=sleeping"])
def test_bad_list_queries_are_422(client: TestClient, query: str) -> None:
    r = client.get(f"/v1/schedules?{query}")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][0] == "query"


def test_stop_a_queued_job_stops_it_at_once(client: TestClient) -> None:
    job_id = submit(client)
    r = client.post(f"/v1/schedules/{job_id}/stop")
    assert r.status_code == 200
    assert r.json()["status"] == "stopped" and r.json()["stop_requested"] is True
    again = client.post(f"/v1/schedules/{job_id}/stop")
    assert again.status_code == 200 and again.json()["status"] == "stopped"


def test_delete_stops_like_stop(client: TestClient) -> None:
    job_id = submit(client)
    r = client.delete(f"/v1/schedules/{job_id}")
    assert r.status_code == 200 and r.json()["status"] == "stopped"
    assert client.get(f"/v1/schedules/{job_id}").status_code == 200  # the record is kept


def test_gantt_without_a_plan_is_409(client: TestClient) -> None:
    job_id = submit(client)
    r = client.get(f"/v1/schedules/{job_id}/gantt")
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM_JSON


def test_improvements_of_a_new_job_are_empty(client: TestClient) -> None:
    job_id = submit(client)
    assert client.get(f"/v1/schedules/{job_id}/improvements").json() == []


# -- API keys ------------------------------------------------------------------------------------


@pytest.fixture
def keyed(app_factory: Callable[..., TestClient]) -> TestClient:
    return app_factory(api_keys=["alpha-key", "beta-key"])


def test_with_keys_every_v1_request_needs_one(keyed: TestClient) -> None:
    for method, path in (("get", "/v1/schedules"), ("post", "/v1/schedules"), ("post", "/v1/check"),
                         ("post", "/v1/solve"), ("get", "/v1/schedules/x")):
        r = keyed.request(method, path, json=tiny_problem())
        assert r.status_code == 401, path
        assert r.headers["content-type"] == PROBLEM_JSON
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert keyed.get("/v1/schedules", headers={"X-API-Key": "wrong"}).status_code == 401
    assert keyed.get("/v1/schedules", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_keys_work_as_header_or_bearer(keyed: TestClient) -> None:
    assert keyed.get("/v1/schedules", headers={"X-API-Key": "alpha-key"}).status_code == 200
    assert keyed.get("/v1/schedules", headers={"Authorization": "Bearer alpha-key"}).status_code == 200


def test_a_client_sees_and_stops_only_its_own_jobs(keyed: TestClient) -> None:
    alpha = {"X-API-Key": "alpha-key"}
    beta = {"Authorization": "Bearer beta-key"}
    job_id = submit(keyed, "mine", headers=alpha)
    assert keyed.get(f"/v1/schedules/{job_id}", headers=alpha).status_code == 200
    assert keyed.get(f"/v1/schedules/{job_id}", headers=beta).status_code == 404
    assert keyed.post(f"/v1/schedules/{job_id}/stop", headers=beta).status_code == 404
    assert keyed.delete(f"/v1/schedules/{job_id}", headers=beta).status_code == 404
    assert keyed.get(f"/v1/schedules/{job_id}/gantt", headers=beta).status_code == 404
    assert keyed.get("/v1/schedules", headers=beta).json()["items"] == []
    assert keyed.get(f"/v1/schedules/{job_id}", headers=alpha).json()["status"] == "queued"


def test_health_needs_no_key(keyed: TestClient) -> None:
    assert keyed.get("/healthz").json() == {"status": "ok"}
    assert keyed.get("/readyz").status_code in (200, 503)


# -- health, start-up, OpenAPI ------------------------------------------------------------------


def test_readyz_is_503_while_the_runner_is_not_running(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["content-type"] == PROBLEM_JSON


def test_running_open_is_logged_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(make_settings(tmp_path))
    with caplog.at_level(logging.WARNING, logger="portsync.api"), TestClient(app):
        pass
    assert any("running open" in r.getMessage() for r in caplog.records)


def test_no_warning_when_keys_are_set(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(make_settings(tmp_path, api_keys=["k"]))
    with caplog.at_level(logging.WARNING, logger="portsync.api"), TestClient(app):
        pass
    assert not any("running open" in r.getMessage() for r in caplog.records)


def test_api_keys_are_read_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("PORTSYNC_API_KEYS", " one, two ,,")
    monkeypatch.setenv("PORTSYNC_WORKERS", "3")
    s = Settings()
    assert s.api_keys == ["one", "two"] and s.workers == 3 and not s.open


def test_openapi_documents_problem_json_errors_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/schedules"]["post"]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert "application/problem+json" in post["responses"]["413"]["content"]
    assert "application/problem+json" in spec["paths"]["/v1/schedules/{job_id}"]["get"]["responses"]["404"][
        "content"]
    if WEEK.exists():
        examples = post["requestBody"]["content"]["application/json"]["examples"]
        assert examples["week"]["value"]["problem"]["name"]
    assert client.get("/docs").status_code == 200


def test_examples_tolerate_a_missing_folder(tmp_path: Path) -> None:
    assert load_examples(tmp_path / "absent") == {}
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "ok.json").write_text('{"name": "x", "calls": []}')
    assert list(load_examples(tmp_path)) == ["ok"]
