"""Webhook subscriptions to a live plan's events, and each subscription's delivery log.

The secret a subscriber gives signs its deliveries (see api.live.webhooks for the exact contract) and is
never given back. The bodies live here rather than in api.schemas: they belong to this resource only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth import caller
from api.body import JSONBodyRoute
from api.db.models import DeliveryStatus, WebhookDeliveryRow
from api.errors import VALIDATION_TYPE, APIError, field_error, not_found, responses
from api.live.webhooks import EventKind, Subscription, WebhookService

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=responses(401, 422),
                   route_class=JSONBodyRoute)

WebhookId = Annotated[str, Path(description="The subscription id returned by POST /v1/webhooks.")]
Owner = Annotated[str, Depends(caller)]
MAX_URL_CHARS = 2000


class SubscribeRequest(BaseModel):
    """A subscription: where to POST, which live plan, the signing secret, which kinds (all by default)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_CHARS, description="An http:// or https:// URL that takes POSTs.")
    live_plan_id: str = Field(min_length=1, max_length=255)
    secret: str = Field(min_length=16, max_length=255,
                        description="Signs every delivery (HMAC-SHA256); 16 characters or more; never shown.")
    kinds: list[EventKind] | None = Field(default=None, min_length=1,
                                          description="Event kinds to deliver; all when absent.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        try:
            parts = urlsplit(v)
            host = parts.hostname
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        if not host:
            raise ValueError("must name a host")
        if any(c.isspace() for c in v):
            raise ValueError("must not contain whitespace")
        return v


class WebhookLinks(BaseModel):
    self: str
    deliveries: str


class WebhookOut(BaseModel):
    """A subscription (its secret is never shown)."""

    id: str
    url: str
    live_plan_id: str
    kinds: list[EventKind]
    created_at: datetime
    active: bool
    links: WebhookLinks


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    """One delivery: its id is the X-Portsync-Delivery header of every attempt."""

    id: str
    kind: EventKind
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="The receiver's last HTTP status; null when none came.")
    last_error: str | None = Field(description="Why the last attempt failed (status, timeout, connection).")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried (again); null once delivered or "
                                             "failed.")
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut] = Field(description="Newest first.")


def service_of(request: Request) -> WebhookService:
    s: WebhookService = request.app.state.webhooks
    return s


def live_plan_exists_of(request: Request) -> Callable[[str], bool]:
    """The app's `live_plan_exists(id) -> bool` (app.state.live_plan_exists)."""
    f: Callable[[str], bool] = request.app.state.live_plan_exists
    return f


def webhook_path(request: Request, subscription_id: str) -> str:
    return f"{request.scope.get('root_path', '')}/v1/webhooks/{subscription_id}"


def _out(request: Request, sub: Subscription) -> WebhookOut:
    base = webhook_path(request, sub.id)
    return WebhookOut(id=sub.id, url=sub.url, live_plan_id=sub.live_plan_id, kinds=list(sub.kinds),
                      created_at=sub.created_at, active=sub.active,
                      links=WebhookLinks(self=base, deliveries=f"{base}/deliveries"))


def _delivery(row: WebhookDeliveryRow) -> DeliveryOut:
    return DeliveryOut(id=row.id, kind=EventKind(row.kind), status=DeliveryStatus(row.status),
                       attempts=row.attempts, last_status_code=row.last_status_code,
                       last_error=row.last_error,
                       created_at=row.created_at,
                       next_attempt_at=row.next_attempt_at if row.status == DeliveryStatus.PENDING else None,
                       delivered_at=row.delivered_at)


@router.post(
    "",
    status_code=201,
    response_model=WebhookOut,
    operation_id="subscribeWebhook",
    responses={**responses(413, 415), 201: {"description": "Subscribed; the subscription is at its Location.",
                                           "headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Subscribe a URL to a live plan's events",
)
def subscribe(request: Request, response: Response, body: SubscribeRequest, owner: Owner) -> WebhookOut:
    """Every event of the chosen kinds for the live plan is POSTed to `url`, signed with `secret`
    (headers X-Portsync-Delivery, -Event, -Timestamp, -Signature; see the API's README)."""
    if not live_plan_exists_of(request)(body.live_plan_id):
        raise APIError(422, f"no live plan with id {body.live_plan_id!r}", title="Invalid request",
                       type_=VALIDATION_TYPE,
                       errors=[field_error(("body", "live_plan_id"), "no such live plan", "not_found")])
    sub = service_of(request).subscribe(body.url, body.live_plan_id, body.secret, body.kinds, owner=owner)
    response.headers["Location"] = webhook_path(request, sub.id)
    return _out(request, sub)


@router.get("", response_model=WebhookList, operation_id="listWebhooks",
            summary="List your subscriptions, oldest first")
def list_webhooks(
    request: Request,
    owner: Owner,
    live_plan_id: Annotated[str | None, Query(min_length=1, max_length=255,
                                              description="Only this live plan's subscriptions.")] = None,
) -> WebhookList:
    subs = service_of(request).list_subscriptions(live_plan_id, owner=owner)
    return WebhookList(items=[_out(request, s) for s in subs])


def _subscription(request: Request, subscription_id: str, owner: str) -> Subscription:
    sub = service_of(request).get(subscription_id, owner)
    if sub is None:
        raise not_found("webhook subscription", subscription_id)
    return sub


@router.get("/{webhook_id}", response_model=WebhookOut, operation_id="getWebhook", responses=responses(404),
            summary="Read a subscription (without its secret)")
def get_webhook(request: Request, webhook_id: WebhookId, owner: Owner) -> WebhookOut:
    return _out(request, _subscription(request, webhook_id, owner))


@router.delete("/{webhook_id}", status_code=204, response_class=Response, operation_id="deleteWebhook",
               responses=responses(404), summary="Unsubscribe: nothing more is sent")
def delete_webhook(request: Request, webhook_id: WebhookId, owner: Owner) -> Response:
    """Deliveries still pending are dropped (marked failed); those under way may still arrive."""
    if not service_of(request).unsubscribe(webhook_id, owner):
        raise not_found("webhook subscription", webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList, operation_id="listWebhookDeliveries",
            responses=responses(404), summary="The subscription's delivery log, newest first")
def list_deliveries(
    request: Request,
    webhook_id: WebhookId,
    owner: Owner,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many deliveries.")] = 100,
) -> DeliveryList:
    _subscription(request, webhook_id, owner)
    rows = service_of(request).deliveries(webhook_id, limit)
    return DeliveryList(items=[_delivery(r) for r in rows])
