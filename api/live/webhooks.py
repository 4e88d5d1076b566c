"""Signed webhooks for live plans: subscriptions, an outbox of deliveries, and the `Deliverer`.

**Enqueueing** (`WebhookService.enqueue`) writes one `webhook_deliveries` row per matching active
subscription and nothing else: no network, so the live-plan code can call it right after storing a
version (or inside the same transaction, with `session=`, so the events exist exactly when the
version does: the outbox pattern). It then wakes the deliverer of this process.

**Delivering** (`Deliverer`): a thread running its own asyncio loop, so neither a slow receiver nor
the deliverer's database calls ever hold up the API's event loop. It claims due deliveries, sends
up to `webhook_concurrency` of them at once with httpx, each bounded by `webhook_timeout_s` in all,
and records the outcome. A 2xx marks a delivery `delivered`; anything else (another status, a
timeout, a refused connection) counts as a failed attempt and the delivery is retried after
`min(webhook_retry_cap_s, webhook_retry_base_s * 2 ** (attempts - 1))` seconds, until
`webhook_max_attempts` attempts have failed: then it is `failed`. Every state lives in the
database, so pending deliveries survive a restart and are picked up by the next deliverer.

**Claims** are optimistic updates (the attempt number is the guard), so several processes may run
deliverers on one database without sending a delivery twice at once; a claimed delivery's
`next_attempt_at` is pushed out by a lease, so one whose process died mid-send is retried once the
lease has passed. Delivery is therefore *at least once*: receivers de-duplicate on
`X-Portsync-Delivery`, which is the same on every attempt.

**Order** per subscription: only the oldest pending delivery of a subscription is ever in flight
or due, so a subscription's deliveries are *sent* and *delivered* in creation order; a later one
waits while an earlier one is retried, and goes once the earlier one is delivered or has failed
for good. (A retried delivery can of course reach a receiver twice; a failed one never arrives.)
Subscriptions do not wait for each other: a receiver that is down or slow delays only its own.

**The request** (the contract receivers implement)::

    POST <subscription url>
    Content-Type: application/json
    X-Portsync-Delivery: <delivery id>       (same on every retry)
    X-Portsync-Event: <kind>                 (version.created | call.moved | call.unservable)
    X-Portsync-Timestamp: <unix seconds>     (of this attempt)
    X-Portsync-Signature: sha256=<hex>

    {"delivery_id": ..., "kind": ..., "live_plan_id": ..., "created_at": <ISO 8601 UTC>, "data": {...}}

The signature is the lowercase hex HMAC-SHA256, keyed with the subscription's secret (its UTF-8
bytes), of the ASCII timestamp, one ".", and the raw body bytes exactly as received:
``hmac(secret, f"{timestamp}.".encode() + body, sha256)``. The timestamp is that of the attempt,
so each retry has a new timestamp and signature and the same body. `verify_signature` is the
receiver's side (stdlib only: copy it); it also refuses timestamps older than five minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, aliased

from api.db import Database, utcnow
from api.db.models import DeliveryStatus, WebhookDeliveryRow, WebhookSubscriptionRow
from api.settings import Settings
from optimizer.diff import Stability
from optimizer.live.causes import MoveCause, MoveSummary
from optimizer.live.state import Reconciliation
from optimizer.plan import Out, ProofRule, UnservedKind

log = logging.getLogger("portsync.api.webhooks")

DELIVERY_HEADER = "X-Portsync-Delivery"
EVENT_HEADER = "X-Portsync-Event"
TIMESTAMP_HEADER = "X-Portsync-Timestamp"
SIGNATURE_HEADER = "X-Portsync-Signature"
#: verify_signature refuses a timestamp further than this from the receiver's clock.
TOLERANCE_S = 300
#: The longest last_error kept.
MAX_ERROR_CHARS = 500


class EventKind(StrEnum):
    """What a delivery tells: a new live-plan version, a call moved, a call that cannot be served."""

    VERSION_CREATED = "version.created"
    CALL_MOVED = "call.moved"
    CALL_UNSERVABLE = "call.unservable"


class VersionCreated(Out):
    """`data` of version.created: the new version, the plan's clock, how stable it is, where to read it."""

    version: int = Field(ge=1)
    now: datetime
    stability: Stability
    link: str = Field(description="Path of the version, e.g. /v1/live-plans/{id}/versions/{n}.")
    moves: MoveSummary | None = Field(default=None, description="How many calls moved, per cause, forced or "
                                      "chosen by the search, and the search's gain.")
    reconciliations: list[Reconciliation] = Field(
        default_factory=list, description="Facts of this version's events that contradicted the plan's "
        "belief, kept as reported, and what was inferred from them (see the version).")


class CallMoved(Out):
    """`data` of call.moved: a call whose berth or start moved in the new version."""

    call_id: str
    version: int | None = Field(default=None, ge=1, description="The version that moved it.")
    berth_before: str | None
    berth_after: str | None
    shift_minutes: float | None = Field(description="Berth start, new minus old (served in both).")
    new_rta: datetime | None = Field(description="The call's requested time of arrival in the new version.")
    cause: MoveCause | None = Field(default=None, description="Why it moved (as the version's diff says): "
                                    "event, closure, maintenance, berth_taken, link, previous_leg, now "
                                    "(forced) or search (the search chose it to improve the plan).")
    forced: bool | None = Field(default=None, description="True: the repair of the last version had to move "
                                "it; False: the search chose to.")
    reason: str | None = Field(default=None, description="The cause in a sentence, times in the port's "
                               "local time with its offset.")
    cause_event_ids: list[str] = Field(default_factory=list, description="The events behind the cause.")
    cause_call_id: str | None = Field(default=None, description="The other call behind the cause "
                                      "(berth_taken, link, previous_leg).")


class CallUnservable(Out):
    """`data` of call.unservable: a call the new version leaves unserved, whether no plan can serve
    it (`proven`, with the `rule` that proves it) or the replan found none (`not_found`), and why."""

    call_id: str
    version: int | None = Field(default=None, ge=1)
    kind: UnservedKind = Field(default=UnservedKind.NOT_FOUND, description="proven: no plan can serve it; "
                               "not_found: the replan found no plan serving it, one may exist.")
    rule: ProofRule | None = Field(default=None, description="What proves it (proven only).")
    reasons: list[str]


PAYLOADS: dict[EventKind, type[BaseModel]] = {
    EventKind.VERSION_CREATED: VersionCreated,
    EventKind.CALL_MOVED: CallMoved,
    EventKind.CALL_UNSERVABLE: CallUnservable,
}
ALL_KINDS: tuple[EventKind, ...] = tuple(EventKind)


# -- signatures ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Portsync-Signature value: "sha256=" + hex HMAC-SHA256(secret, f"{timestamp}." + body)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *,
                     tolerance_s: float | None = TOLERANCE_S, now: float | None = None) -> bool:
    """A receiver's check of a delivery: `headers` as received (any case), `body` the raw bytes.
    True when the signature matches and (unless `tolerance_s` is None) the timestamp is recent."""
    lower = {k.lower(): v for k, v in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or not given.startswith("sha256="):
        return False
    if tolerance_s is not None and abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, int(stamp), body), given)


def backoff_s(attempts: int, base_s: float, cap_s: float) -> float:
    """The wait after the `attempts`-th failed attempt: base, 2 base, 4 base, ..., at most cap."""
    return float(min(cap_s, base_s * 2 ** max(0, attempts - 1)))


# -- the service -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """A subscription as the API shows it: everything but the secret."""

    id: str
    url: str
    live_plan_id: str
    kinds: tuple[EventKind, ...]
    created_at: datetime
    active: bool


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt (`attempt` is its number, from 1)."""

    id: str
    subscription_id: str
    url: str
    secret: str
    kind: str
    attempt: int
    body: bytes


def _subscription(row: WebhookSubscriptionRow) -> Subscription:
    return Subscription(id=row.id, url=row.url, live_plan_id=row.live_plan_id,
                        kinds=tuple(EventKind(k) for k in json.loads(row.kinds)), created_at=row.created_at,
                        active=row.active)


def envelope(row: WebhookDeliveryRow) -> bytes:
    """The body of every attempt of a delivery (the same bytes each time)."""
    head = json.dumps({"delivery_id": row.id, "kind": row.kind, "live_plan_id": row.live_plan_id,
                       "created_at": row.created_at.isoformat().replace("+00:00", "Z")},
                      separators=(",", ":"))
    return (head[:-1] + ',"data":' + row.payload + "}").encode("utf-8")


class WebhookService:
    """Subscriptions and the outbox of deliveries, on the shared database."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        #: Called after deliveries are stored (the deliverer's wake-up); a no-op without a deliverer.
        self.on_enqueue: Callable[[], None] = lambda: None

    # -- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, url: str, live_plan_id: str, secret: str, kinds: Iterable[EventKind] | None = None,
                  *, owner: str = "") -> Subscription:
        chosen = list(dict.fromkeys(EventKind(k) for k in kinds)) if kinds is not None else list(ALL_KINDS)
        row = WebhookSubscriptionRow(
            id=str(uuid.uuid4()), owner=owner, url=url, live_plan_id=live_plan_id, secret=secret,
            kinds=json.dumps([k.value for k in chosen]), created_at=utcnow(), active=True)
        with self.db.session() as s:
            s.add(row)
        return _subscription(row)

    def get(self, subscription_id: str, owner: str | None = None) -> Subscription | None:
        """The active subscription, or None (unknown, deleted, or with `owner` another client's)."""
        with self.db.session() as s:
            row = s.execute(self._active(owner).where(WebhookSubscriptionRow.id == subscription_id)
                            ).scalar_one_or_none()
            return _subscription(row) if row is not None else None

    def list_subscriptions(self, live_plan_id: str | None = None, owner: str | None = None
                           ) -> list[Subscription]:
        q = self._active(owner).order_by(WebhookSubscriptionRow.seq)
        if live_plan_id is not None:
            q = q.where(WebhookSubscriptionRow.live_plan_id == live_plan_id)
        with self.db.session() as s:
            return [_subscription(r) for r in s.execute(q).scalars()]

    @staticmethod
    def _active(owner: str | None) -> Any:
        q = select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.active.is_(True))
        return q if owner is None else q.where(WebhookSubscriptionRow.owner == owner)

    def unsubscribe(self, subscription_id: str, owner: str | None = None) -> bool:
        """Deactivate the subscription; its pending deliveries are marked failed (never sent).
        False when there is no such active subscription. The delivery log is kept."""
        with self.db.session() as s:
            q = update(WebhookSubscriptionRow).where(
                WebhookSubscriptionRow.id == subscription_id, WebhookSubscriptionRow.active.is_(True))
            if owner is not None:
                q = q.where(WebhookSubscriptionRow.owner == owner)
            if s.execute(q.values(active=False)).rowcount != 1:  # type: ignore[attr-defined]
                return False
            s.execute(update(WebhookDeliveryRow).where(
                WebhookDeliveryRow.subscription_id == subscription_id,
                WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
            ).values(status=DeliveryStatus.FAILED.value, next_attempt_at=None,
                     last_error="the subscription was deleted"))
        return True

    def deliveries(self, subscription_id: str, limit: int = 100) -> list[WebhookDeliveryRow]:
        """The subscription's deliveries, newest first."""
        with self.db.session() as s:
            return list(s.execute(
                select(WebhookDeliveryRow).where(WebhookDeliveryRow.subscription_id == subscription_id)
                .order_by(WebhookDeliveryRow.seq.desc()).limit(limit)).scalars())

    def delivery(self, delivery_id: str) -> WebhookDeliveryRow | None:
        with self.db.session() as s:
            return s.execute(select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
                             ).scalar_one_or_none()

    # -- the outbox ------------------------------------------------------------------------------

    def enqueue(self, live_plan_id: str, kind: EventKind | str, payload: BaseModel | Mapping[str, Any], *,
                session: Session | None = None) -> list[str]:
        """Store one pending delivery per active subscription of `live_plan_id` to `kind`; return
        their ids (empty without subscribers). Only database work, no network.

        `payload` is the kind's record (VersionCreated, CallMoved, CallUnservable) or a mapping
        validated as one (a ValueError when it is not). With `session`, the rows are added to that
        transaction (commit it to send them); without, they are committed here."""
        kind = EventKind(kind)
        model = PAYLOADS[kind]
        data = payload if isinstance(payload, model) else model.model_validate(
            payload.model_dump() if isinstance(payload, BaseModel) else payload)
        body = data.model_dump_json()
        if session is not None:
            ids = self._enqueue(session, live_plan_id, kind, body)
            if ids:
                event.listen(session, "after_commit", lambda _s: self.on_enqueue(), once=True)
            return ids
        with self.db.session() as s:
            ids = self._enqueue(s, live_plan_id, kind, body)
        if ids:
            self.on_enqueue()
        return ids

    def _enqueue(self, s: Session, live_plan_id: str, kind: EventKind, body: str) -> list[str]:
        subs = s.execute(select(WebhookSubscriptionRow.id, WebhookSubscriptionRow.kinds).where(
            WebhookSubscriptionRow.live_plan_id == live_plan_id, WebhookSubscriptionRow.active.is_(True),
        ).order_by(WebhookSubscriptionRow.seq)).all()
        now = utcnow()
        ids = []
        for sub_id, kinds in subs:
            if kind.value not in json.loads(kinds):
                continue
            delivery_id = str(uuid.uuid4())
            s.add(WebhookDeliveryRow(
                id=delivery_id, subscription_id=sub_id, live_plan_id=live_plan_id, kind=kind.value,
                payload=body, status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now,
                created_at=now))
            ids.append(delivery_id)
        return ids

    # -- the deliverer's side --------------------------------------------------------------------

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is kept from other deliverers (a send takes at most the timeout)."""
        return 2 * self.settings.webhook_timeout_s + 5.0

    def claim_due(self, limit: int, busy: Iterable[str] = ()) -> tuple[list[Claim], datetime | None]:
        """Claim up to `limit` due deliveries, each the oldest pending one of its subscription (and
        none of a subscription in `busy`); and when the next unclaimed one falls due (None: none)."""
        now = utcnow()
        d, sub = WebhookDeliveryRow, WebhookSubscriptionRow
        head = aliased(WebhookDeliveryRow)
        heads = select(func.min(head.seq)).where(head.status == DeliveryStatus.PENDING.value
                                                 ).group_by(head.subscription_id)
        busy = set(busy)
        claims: list[Claim] = []
        soonest: datetime | None = None
        with self.db.session() as s:
            rows = s.execute(
                select(d, sub.url, sub.secret, sub.active).join(sub, sub.id == d.subscription_id)
                .where(d.seq.in_(heads), d.status == DeliveryStatus.PENDING.value)
                .order_by(d.next_attempt_at, d.seq)).all()
            for row, url, secret, active in rows:
                if row.subscription_id in busy:
                    continue
                if not active:  # enqueued while the subscription was being deleted: never sent
                    s.execute(update(d).where(d.id == row.id, d.status == DeliveryStatus.PENDING.value)
                              .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None,
                                      last_error="the subscription was deleted"))
                    soonest = now
                    continue
                due = row.next_attempt_at or now
                if due > now or len(claims) >= limit:
                    soonest = due if soonest is None else min(soonest, due)
                    continue
                attempt = row.attempts + 1
                won = s.execute(update(d).where(
                    d.id == row.id, d.status == DeliveryStatus.PENDING.value, d.attempts == row.attempts,
                ).values(attempts=attempt, next_attempt_at=now + timedelta(seconds=self.lease_s)))
                if won.rowcount == 1:  # type: ignore[attr-defined]
                    claims.append(Claim(id=row.id, subscription_id=row.subscription_id, url=url,
                                        secret=secret, kind=row.kind, attempt=attempt, body=envelope(row)))
        return claims, soonest

    def record(self, claim: Claim, status_code: int | None, error: str | None) -> str:
        """The outcome of a claimed attempt; returns the delivery's new status."""
        d = WebhookDeliveryRow
        now = utcnow()
        values: dict[str, Any] = {"last_status_code": status_code,
                                  "last_error": error[:MAX_ERROR_CHARS] if error else None}
        if status_code is not None and 200 <= status_code < 300 and error is None:
            values.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now, next_attempt_at=None)
        elif claim.attempt >= self.settings.webhook_max_attempts:
            values.update(status=DeliveryStatus.FAILED.value, next_attempt_at=None)
        else:
            st = self.settings
            wait = backoff_s(claim.attempt, st.webhook_retry_base_s, st.webhook_retry_cap_s)
            values.update(next_attempt_at=now + timedelta(seconds=wait))
        with self.db.session() as s:
            s.execute(update(d).where(d.id == claim.id, d.attempts == claim.attempt,
                                      d.status == DeliveryStatus.PENDING.value).values(**values))
        return str(values.get("status", DeliveryStatus.PENDING.value))

    def release(self, claim: Claim) -> None:
        """Give an interrupted attempt back (the deliverer is stopping): due now, not counted."""
        d = WebhookDeliveryRow
        with self.db.session() as s:
            s.execute(update(d).where(d.id == claim.id, d.attempts == claim.attempt,
                                      d.status == DeliveryStatus.PENDING.value
                                      ).values(attempts=claim.attempt - 1, next_attempt_at=utcnow()))


# -- the deliverer ---------------------------------------------------------------------------------


class Deliverer:
    """Sends the outbox: a thread with its own asyncio loop and httpx client (see the module doc).
    `start()` and `stop()` are called by the app's lifespan; `wake()` is safe from any thread."""

    def __init__(self, service: WebhookService, transport: httpx.AsyncBaseTransport | None = None):
        self.service = service
        self.settings = service.settings
        self.transport = transport
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="portsync-webhooks", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)
        self.service.on_enqueue = self.wake

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sending: attempts in flight are interrupted and given back (sent again later)."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        self.service.on_enqueue = lambda: None
        self._stopping = True
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(self._set_wakeup)
        thread.join(timeout)
        self._thread = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._set_wakeup)

    def _set_wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
            loop.run_until_complete(loop.shutdown_default_executor())
        except Exception:
            log.exception("the webhook deliverer stopped on an error")
        finally:
            self._ready.set()
            loop.close()

    async def _run(self) -> None:
        self._wakeup = asyncio.Event()
        self._ready.set()
        timeout = self.settings.webhook_timeout_s
        in_flight: dict[str, asyncio.Task[None]] = {}
        limits = httpx.Limits(max_connections=self.settings.webhook_concurrency)
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), limits=limits, follow_redirects=False,
                                     transport=self.transport, trust_env=False) as client:
            try:
                while not self._stopping:
                    self._wakeup.clear()
                    soonest = await self._claim_and_send(client, in_flight)
                    wait = self.settings.webhook_poll_interval_s
                    if soonest is not None:
                        wait = min(wait, max(0.01, (soonest - utcnow()).total_seconds()))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), wait)
            finally:
                for task in in_flight.values():
                    task.cancel()
                if in_flight:
                    await asyncio.gather(*in_flight.values(), return_exceptions=True)

    async def _claim_and_send(self, client: httpx.AsyncClient,
                              in_flight: dict[str, asyncio.Task[None]]) -> datetime | None:
        """Start sending what is due (one per subscription); when the next delivery falls due."""
        free = self.settings.webhook_concurrency - len(in_flight)
        if free <= 0:
            return None
        try:
            claims, soonest = await asyncio.to_thread(self.service.claim_due, free, set(in_flight))
        except Exception:
            log.exception("webhook deliveries could not be read; trying again shortly")
            return None
        for c in claims:
            task = asyncio.create_task(self._send(client, c))
            in_flight[c.subscription_id] = task
            task.add_done_callback(self._on_done(in_flight, c.subscription_id))
        return soonest

    def _on_done(self, in_flight: dict[str, asyncio.Task[None]],
                 subscription_id: str) -> Callable[[asyncio.Task[None]], None]:
        return lambda _task: self._done(in_flight, subscription_id)

    def _done(self, in_flight: dict[str, asyncio.Task[None]], subscription_id: str) -> None:
        in_flight.pop(subscription_id, None)
        self._set_wakeup()  # its next delivery may be due now

    async def _send(self, client: httpx.AsyncClient, claim: Claim) -> None:
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: claim.id, EVENT_HEADER: claim.kind,
                   TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(claim.secret, stamp, claim.body),
                   "User-Agent": "portsync-webhooks/1"}
        code: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_s):
                async with client.stream("POST", claim.url, content=claim.body, headers=headers) as r:
                    code = r.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except asyncio.CancelledError:
            await asyncio.to_thread(self.service.release, claim)
            raise
        except TimeoutError:
            error = f"timeout: no answer within {self.settings.webhook_timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # a bad URL or the like: a failed attempt, not a dead deliverer
            error = f"{type(exc).__name__}: {exc}"
        try:
            status = await asyncio.to_thread(self.service.record, claim, code, error)
        except Exception:
            log.exception("webhook delivery %s: its outcome could not be stored (it will be retried)",
                          claim.id)
            return
        level = logging.INFO if status != DeliveryStatus.PENDING.value else logging.DEBUG
        log.log(level, "webhook delivery %s (%s) attempt %d to %s: %s -> %s", claim.id, claim.kind,
                claim.attempt, claim.url, error or code, status)
