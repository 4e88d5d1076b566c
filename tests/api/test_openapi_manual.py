"""The OpenAPI document as a manual: a short operation id for every operation (the paths clients use
unchanged), a description on every schema field, and an example on every request body that the API
takes as it is."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.jit import schemas as jit
from api.openapi_manual import REQUEST_EXAMPLES, bodies_without_examples, undescribed
from api.routes.webhooks import SubscribeRequest
from optimizer.live.events import EVENT


def _doc(client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    return doc


def test_every_operation_has_a_short_id_and_the_paths_stay(client: TestClient) -> None:
    doc = _doc(client)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    long = [i for i in ids if not re.fullmatch(r"[a-z][A-Za-z]{2,29}", i)]
    assert long == [], long
    ops = {op["operationId"]: (path, method)
           for path, item in doc["paths"].items() for method, op in item.items()}
    assert ops["submitSchedule"] == ("/v1/schedules", "post")
    assert ops["getSchedule"] == ("/v1/schedules/{job_id}", "get")
    assert ops["stopSchedule"] == ("/v1/schedules/{job_id}/stop", "post")
    assert ops["solveNow"] == ("/v1/solve", "post") and ops["checkPlan"] == ("/v1/check", "post")
    assert ops["createLivePlan"] == ("/v1/live-plans", "post")
    assert ops["getJobBoard"] == ("/v1/board/jobs/{job_id}", "get")


def test_every_schema_field_has_a_description(client: TestClient) -> None:
    doc = _doc(client)
    fields = sum(len(s.get("properties") or {}) for s in doc["components"]["schemas"].values())
    bare = undescribed(doc)
    print(f"{fields - len(bare)} of {fields} schema fields described")
    assert fields > 500 and bare == []


def test_every_request_body_has_an_example_the_api_takes(client: TestClient) -> None:
    doc = _doc(client)
    assert bodies_without_examples(doc) == []
    for (path, method), examples in REQUEST_EXAMPLES.items():
        content = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert content["examples"] == examples
        for ex in examples.values():
            value = ex["value"]
            if path.startswith("/v2/"):
                name = content["schema"]["$ref"].rsplit("/", 1)[-1]
                getattr(jit, name).model_validate(value)
            elif path.endswith("/events"):
                for event in value if isinstance(value, list) else [value]:
                    EVENT.validate_python(event)
            elif path == "/v1/webhooks":
                SubscribeRequest.model_validate(value)
            elif path == "/v1/check":
                r = client.post(path, json=value)
                assert r.status_code == 200 and r.json()["ok"] is True, r.text
            elif path == "/v1/board/plans":
                r = client.post(path, json=value)
                assert r.status_code == 200, r.text
                assert len(r.json()["calls"]) == len(value["problem"]["calls"]) and r.json()["unserved"] == []
            else:
                r = client.post(path, json=value)
                assert r.status_code == (202 if path in ("/v1/batches", "/v1/studies") else 201), r.text
