"""Webhooks: the signature recipe, delivery to real receivers (an HTTP server in a thread on
127.0.0.1), retries with backoff, a receiver that is down or slow, the routes' validation and the
delivery log, and pending deliveries sent by the deliverer of a restarted service."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.db import Database
from api.db.models import WebhookSubscriptionRow
from api.live.webhooks import (
    CallMoved,
    Deliverer,
    EventKind,
    VersionCreated,
    WebhookService,
    backoff_s,
    sign,
    verify_signature,
)
from api.settings import Settings
from optimizer.diff import Stability
from tests.api.conftest import make_settings

SECRET = "s3cret-s3cret-s3cret"
FAST = dict(webhook_retry_base_s=0.05, webhook_retry_cap_s=1.0, webhook_max_attempts=4, webhook_timeout_s=2.0,
            webhook_poll_interval_s=0.05)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with `statuses` in turn
    (then 200), each after `delay_s`."""

    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    got: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.got.append(Received(dict(self.headers.items()), body, time.monotonic()))
                if owner.delay_s:
                    owner.release.wait(owner.delay_s)
                status = owner.statuses.pop(0) if owner.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up on this attempt (timeout, shutdown)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kw: Any) -> Receiver:
        r = Receiver(**kw).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Callable[..., tuple[WebhookService, Deliverer]]]:
    """A service and its (not yet started) deliverer on the test database, with tiny backoff."""
    made: list[tuple[Database, Deliverer]] = []

    def make(**overrides: Any) -> tuple[WebhookService, Deliverer]:
        settings = make_settings(tmp_path, **{**FAST, **overrides})
        db = Database(settings.database_url)
        db.migrate()
        service = WebhookService(db, settings)
        deliverer = Deliverer(service)
        made.append((db, deliverer))
        return service, deliverer

    yield make
    for db, deliverer in made:
        deliverer.stop()
        db.dispose()


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def version(n: int = 1) -> VersionCreated:
    return VersionCreated(
        version=n, now=datetime(2026, 12, 2, 6, 0, tzinfo=UTC), link=f"/v1/live-plans/lp-1/versions/{n}",
        stability=Stability(berth_changes=1, total_start_shift_minutes=45.0, rta_moved=1,
                            rta_threshold_minutes=30.0, newly_unserved=0, newly_served=0))


MOVED = {"call_id": "C7", "berth_before": "AKT-1", "berth_after": "AKT-2", "shift_minutes": 90.0,
         "new_rta": "2026-12-02T09:30:00Z", "version": 2, "cause": "berth_taken", "forced": True,
         "reason": "berth AKT-1 is taken 2026-12-02 11:00 +05:00 - 2026-12-02 15:00 +05:00 by C6 (MV V6)",
         "cause_event_ids": [], "cause_call_id": "C6"}


def status_of(service: WebhookService, delivery_id: str) -> str:
    row = service.delivery(delivery_id)
    assert row is not None
    return row.status


# -- the signature ---------------------------------------------------------------------------------


def test_the_signature_is_the_documented_recipe() -> None:
    body = b'{"delivery_id":"d","kind":"call.moved","data":{}}'
    stamp = 1_764_640_000
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, stamp, body) == f"sha256={expected}"
    headers = {"x-portsync-timestamp": str(stamp), "X-PORTSYNC-SIGNATURE": f"sha256={expected}"}
    assert verify_signature(SECRET, headers, body, now=stamp + 10)
    assert not verify_signature(SECRET, headers, body + b" ", now=stamp)
    assert not verify_signature("another-secret-16ch", headers, body, now=stamp)
    assert not verify_signature(SECRET, headers, body, now=stamp + 301)  # too old: a replay
    assert verify_signature(SECRET, headers, body, tolerance_s=None)
    assert not verify_signature(SECRET, {"X-Portsync-Signature": f"sha256={expected}"}, body)
    assert [backoff_s(n, 1.0, 5.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


# -- delivery ----------------------------------------------------------------------------------------


def test_a_receiver_gets_every_delivery_signed_and_as_documented(hooks: Any, receivers: Any) -> None:
    service, deliverer = hooks()
    everything, moves = receivers(), receivers()
    all_sub = service.subscribe(everything.url, "lp-1", SECRET)
    moves_sub = service.subscribe(moves.url, "lp-1", "another-secret-1234", [EventKind.CALL_MOVED])
    service.subscribe(everything.url, "lp-2", SECRET)  # another live plan: hears nothing of lp-1
    deliverer.start()
    first = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(2))
    second = service.enqueue("lp-1", "call.moved", MOVED)
    third = service.enqueue("lp-1", EventKind.CALL_UNSERVABLE, {"call_id": "C9", "reasons": ["closure"]})
    assert len(first) == 1 and len(second) == 2 and len(third) == 1
    wait_for(lambda: len(everything.got) == 3 and len(moves.got) == 1)
    wait_for(lambda: all(status_of(service, d) == "delivered" for d in [*first, *second, *third]))

    ids = [first[0], second[0], third[0]]
    assert [r.headers["X-Portsync-Delivery"] for r in everything.got] == ids  # in creation order
    assert [r.headers["X-Portsync-Event"] for r in everything.got] == [
        "version.created", "call.moved", "call.unservable"]
    for r in everything.got:
        assert r.headers["Content-Type"] == "application/json"
        assert verify_signature(SECRET, r.headers, r.body)
        assert not verify_signature("another-secret-1234", r.headers, r.body)
        stamp = int(r.headers["X-Portsync-Timestamp"])
        assert abs(stamp - time.time()) < 10
        assert r.headers["X-Portsync-Signature"] == sign(SECRET, stamp, r.body)
        assert set(r.json) == {"delivery_id", "kind", "live_plan_id", "created_at", "data"}
        assert r.json["delivery_id"] == r.headers["X-Portsync-Delivery"] and r.json["live_plan_id"] == "lp-1"
        assert datetime.fromisoformat(r.json["created_at"]).tzinfo is not None
    assert everything.got[0].json["data"] == json.loads(version(2).model_dump_json())
    assert everything.got[0].json["data"]["stability"]["berth_changes"] == 1
    assert everything.got[1].json["data"] == {**MOVED, "new_rta": "2026-12-02T09:30:00Z"}
    assert everything.got[2].json["data"] == {"call_id": "C9", "version": None, "kind": "not_found",
                                              "rule": None, "reasons": ["closure"]}
    hit = moves.got[0]
    assert hit.headers["X-Portsync-Event"] == "call.moved" and hit.headers["X-Portsync-Delivery"] == second[1]
    assert verify_signature("another-secret-1234", hit.headers, hit.body)
    assert {d.id for d in service.deliveries(all_sub.id)} == set(ids)
    assert [d.id for d in service.deliveries(moves_sub.id)] == [second[1]]
    with pytest.raises(ValueError):
        service.enqueue("lp-1", EventKind.CALL_MOVED, {"call_id": "C1"})  # not a call.moved record


def test_500_twice_then_200_is_delivered_on_the_third_attempt_in_order(hooks: Any, receivers: Any) -> None:
    service, deliverer = hooks(webhook_retry_base_s=0.1)
    rx = receivers(statuses=[500, 503])
    service.subscribe(rx.url, "lp-1", SECRET)
    [d1] = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(1))
    [d2] = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(2))
    deliverer.start()
    wait_for(lambda: status_of(service, d2) == "delivered")
    # The second waits until the first is delivered: d1, d1, d1, d2, never d2 before d1.
    assert [r.headers["X-Portsync-Delivery"] for r in rx.got] == [d1, d1, d1, d2]
    assert [r.json["data"]["version"] for r in rx.got] == [1, 1, 1, 2]
    assert rx.got[0].body == rx.got[1].body == rx.got[2].body  # same body; each attempt signed anew
    assert all(verify_signature(SECRET, r.headers, r.body) for r in rx.got)
    gaps = [b.at - a.at for a, b in zip(rx.got[:2], rx.got[1:3], strict=True)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19 and gaps[1] > gaps[0], gaps
    row = service.delivery(d1)
    assert row is not None and row.attempts == 3 and row.last_status_code == 200 and row.last_error is None
    assert row.delivered_at is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_receiver_that_is_down_fails_after_the_attempts_and_is_logged(app_factory: Any) -> None:
    c: TestClient = app_factory(**{**FAST, "webhook_max_attempts": 3, "webhook_retry_base_s": 0.02})
    c.app.state.live_plan_exists = lambda plan_id: True  # type: ignore[attr-defined]  (delivery, not lookup)
    r = c.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{free_port()}/down", "live_plan_id": "lp-1",
                                     "secret": SECRET})
    assert r.status_code == 201, r.text
    sub = r.json()["id"]
    service: WebhookService = c.app.state.webhooks  # type: ignore[attr-defined]
    [d] = service.enqueue("lp-1", EventKind.CALL_MOVED, MOVED)
    log = c.get(f"/v1/webhooks/{sub}/deliveries").json()["items"]
    assert [(x["id"], x["status"], x["attempts"]) for x in log] == [(d, "pending", 0)]
    deliverer: Deliverer = c.app.state.deliverer  # type: ignore[attr-defined]
    deliverer.start()
    try:
        wait_for(lambda: status_of(service, d) == "failed")
    finally:
        deliverer.stop()
    [entry] = c.get(f"/v1/webhooks/{sub}/deliveries").json()["items"]
    assert entry["id"] == d and entry["kind"] == "call.moved" and entry["status"] == "failed"
    assert entry["attempts"] == 3 and entry["last_status_code"] is None
    assert "ConnectError" in entry["last_error"] and entry["next_attempt_at"] is None
    assert entry["delivered_at"] is None and entry["created_at"]


def test_a_slow_receiver_delays_neither_enqueue_nor_other_subscribers(hooks: Any, receivers: Any) -> None:
    service, deliverer = hooks(webhook_timeout_s=1.5, webhook_max_attempts=1)
    slow, fast = receivers(delay_s=3.0), receivers()
    service.subscribe(slow.url, "lp-1", SECRET)
    service.subscribe(fast.url, "lp-2", SECRET)
    deliverer.start()
    [stuck] = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(1))
    wait_for(lambda: len(slow.got) == 1)  # the slow receiver holds the attempt
    began = time.monotonic()
    ids = [service.enqueue("lp-1", EventKind.CALL_MOVED, MOVED)[0] for _ in range(20)]
    assert time.monotonic() - began < 1.0  # 20 enqueues: database inserts only
    [quick] = service.enqueue("lp-2", EventKind.CALL_MOVED, MOVED)
    wait_for(lambda: status_of(service, quick) == "delivered", timeout=0.4)  # not behind the slow one
    assert status_of(service, stuck) == "pending" and len(slow.got) == 1
    wait_for(lambda: status_of(service, stuck) == "failed", timeout=3.0)  # bounded by the timeout
    row = service.delivery(stuck)
    assert row is not None and row.last_error is not None and row.last_error.startswith("timeout")
    assert all(status_of(service, d) == "pending" for d in ids)


def test_pending_deliveries_are_sent_after_a_restart(hooks: Any, receivers: Any) -> None:
    service, deliverer = hooks()
    rx = receivers(delay_s=5.0)
    sub = service.subscribe(rx.url, "lp-1", SECRET)
    [interrupted] = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(1))
    deliverer.start()
    wait_for(lambda: len(rx.got) == 1)
    deliverer.stop()  # mid-send: the attempt is given back
    [waiting] = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(2))  # nobody sends it
    service.db.dispose()
    rx.delay_s = 0.0
    rx.release.set()

    again, deliverer2 = hooks()  # a new process on the same database
    assert again.get(sub.id) is not None
    deliverer2.start()
    wait_for(lambda: status_of(again, waiting) == "delivered")
    assert [r.headers["X-Portsync-Delivery"] for r in rx.got] == [interrupted, interrupted, waiting]
    row = again.delivery(interrupted)
    assert row is not None and row.status == "delivered" and row.attempts == 1


def test_a_delivery_of_a_deleted_subscription_is_never_sent(hooks: Any, receivers: Any) -> None:
    service, deliverer = hooks()
    rx = receivers()
    sub = service.subscribe(rx.url, "lp-1", SECRET)
    [d] = service.enqueue("lp-1", EventKind.CALL_MOVED, MOVED)
    # As if enqueue had read the subscription just before it was deleted, and stored its row after.
    with service.db.session() as s:
        s.execute(update(WebhookSubscriptionRow).where(WebhookSubscriptionRow.id == sub.id)
                  .values(active=False))
    deliverer.start()
    wait_for(lambda: status_of(service, d) == "failed")
    row = service.delivery(d)
    assert row is not None and row.attempts == 0 and rx.got == []


def test_enqueue_in_the_callers_transaction(hooks: Any, receivers: Any) -> None:
    service, deliverer = hooks()
    rx = receivers()
    service.subscribe(rx.url, "lp-1", SECRET)
    deliverer.start()
    with pytest.raises(RuntimeError), service.db.session() as s:
        service.enqueue("lp-1", EventKind.VERSION_CREATED, version(1), session=s)
        raise RuntimeError("the version could not be stored")
    with service.db.session() as s:
        [d] = service.enqueue("lp-1", EventKind.VERSION_CREATED, version(2), session=s)
    wait_for(lambda: status_of(service, d) == "delivered")
    assert [r.json["data"]["version"] for r in rx.got] == [2]


# -- the routes ----------------------------------------------------------------------------------------


def test_subscribe_read_list_delete(app_factory: Any) -> None:
    c: TestClient = app_factory()
    c.app.state.live_plan_exists = lambda plan_id: True  # type: ignore[attr-defined]  (delivery, not lookup)
    body = {"url": "https://receiver.example/hooks", "live_plan_id": "lp-1", "secret": SECRET,
            "kinds": ["call.moved", "call.unservable"]}
    r = c.post("/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert r.headers["location"] == f"/v1/webhooks/{sub['id']}" == sub["links"]["self"]
    assert "secret" not in sub and SECRET not in r.text
    assert sub["kinds"] == ["call.moved", "call.unservable"] and sub["active"] is True
    other = c.post("/v1/webhooks", json={**body, "live_plan_id": "lp-2", "kinds": None}).json()
    assert other["kinds"] == ["version.created", "call.moved", "call.unservable"]
    got = c.get(f"/v1/webhooks/{sub['id']}")
    assert got.status_code == 200 and got.json() == sub and SECRET not in got.text
    assert [s["id"] for s in c.get("/v1/webhooks").json()["items"]] == [sub["id"], other["id"]]
    assert [s["id"] for s in c.get("/v1/webhooks?live_plan_id=lp-2").json()["items"]] == [other["id"]]
    assert c.get(f"/v1/webhooks/{sub['id']}/deliveries").json() == {"items": []}
    service: WebhookService = c.app.state.webhooks  # type: ignore[attr-defined]
    [d] = service.enqueue("lp-1", EventKind.CALL_MOVED, CallMoved.model_validate(MOVED))
    assert service.enqueue("lp-1", EventKind.VERSION_CREATED, version(1)) == []  # not subscribed
    assert c.delete(f"/v1/webhooks/{sub['id']}").status_code == 204
    assert status_of(service, d) == "failed"  # dropped, never sent
    for r in (c.get(f"/v1/webhooks/{sub['id']}"), c.delete(f"/v1/webhooks/{sub['id']}"),
              c.get(f"/v1/webhooks/{sub['id']}/deliveries")):
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert service.enqueue("lp-1", EventKind.CALL_MOVED, MOVED) == []
    ops = {op["operationId"] for path, item in c.get("/openapi.json").json()["paths"].items()
           if path.startswith("/v1/webhooks") for op in item.values()}
    assert ops == {"subscribeWebhook", "getWebhook", "listWebhooks", "deleteWebhook", "listWebhookDeliveries"}


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "ftp://receiver.example/x"}, "url"),
    ({"url": "https:///no-host"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"secret": "too-short"}, "secret"),
    ({"kinds": ["plan.exploded"]}, "kinds.0"),
    ({"kinds": []}, "kinds"),
    ({"live_plan_id": ""}, "live_plan_id"),
    ({"live_plan_id": "no-such-plan"}, "live_plan_id"),
    ({"colour": "blue"}, "colour"),
])
def test_validation_errors_name_the_field(app_factory: Any, change: dict[str, Any], field: str) -> None:
    c: TestClient = app_factory()
    c.app.state.live_plan_exists = lambda plan_id: plan_id == "lp-1"  # type: ignore[attr-defined]
    body = {"url": "http://127.0.0.1:9/hook", "live_plan_id": "lp-1", "secret": SECRET, **change}
    r = c.post("/v1/webhooks", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert c.get("/v1/webhooks").json()["items"] == []


def test_the_lifespan_starts_and_stops_the_deliverer(tmp_path: Path) -> None:
    from api.app import create_app

    app = create_app(make_settings(tmp_path))
    with TestClient(app):
        assert app.state.deliverer.alive()
    assert not app.state.deliverer.alive()


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTSYNC_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("PORTSYNC_WEBHOOK_TIMEOUT_S", "0.5")
    s = Settings()
    assert s.webhook_max_attempts == 3 and s.webhook_timeout_s == 0.5 and s.webhook_retry_base_s == 1.0
