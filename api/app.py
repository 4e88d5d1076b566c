"""The FastAPI application: `create_app(settings)` wires settings, database, runner and routes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api import errors
from api.db import Database
from api.jit import JitStore, include_jit
from api.jobs.runner import Runner
from api.limits import BodyLimitMiddleware
from api.live.jit_gateway import LiveGateway
from api.live.replanner import Replanner
from api.live.store import LiveStore
from api.live.webhooks import Deliverer, WebhookService
from api.logs import setup_logging
from api.openapi_manual import add_examples, describe_fields
from api.routes import (
    batches,
    board,
    board_files,
    check,
    docs,
    health,
    live_plans,
    schedules,
    solve,
    studies,
    webhooks,
    workers,
)
from api.settings import Settings

if TYPE_CHECKING:
    from api.jobs.fleet import FleetRunner

log = logging.getLogger("portsync.api")

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "instances" / "caspian"
PROBLEM_REF = "#/components/schemas/ProblemDetail"
#: Example files larger than this are left out of the OpenAPI document.
MAX_EXAMPLE_BYTES = 1_000_000

DESCRIPTION = """
Berth plans for Aktau, Kuryk and the Port of Baku at Alat, planned together with CP-SAT.

Submit a problem as a job (`POST /v1/schedules`), poll it (`GET /v1/schedules/{id}`) for the
best plan so far, stop it when the plan is good enough, and open its Gantt chart. Small problems
can be solved synchronously (`POST /v1/solve`); any plan can be checked (`POST /v1/check`).
Errors are `application/problem+json` (RFC 9457) with the failing fields.

Planners open any job or live plan on the berth board at `/board` (its data: `GET /v1/board/...`).
"""


def _logging(settings: Settings) -> None:
    setup_logging(settings.log_level, settings.log_format)


def _hide(url: str | None) -> str:
    """A URL without its password, for the log."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url or "").render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, its database migrated to the newest schema (api.db.migrate); the lifespan starts and
    stops the solver processes and the webhook deliverer (app.state.webhooks is the service whose
    `enqueue` the live-plan code calls)."""
    settings = settings or Settings()
    _logging(settings)
    db = Database(settings.database_url, settings.database_schema, settings.sqlite_busy_timeout_s)
    db.migrate()
    runner: Runner | FleetRunner
    if settings.fleet:  # jobs go to `portsync worker` processes through the broker (api.jobs.fleet)
        from api.jobs.fleet import FleetRunner

        runner = FleetRunner(settings, db)
    else:
        runner = Runner(settings, db)
    hooks = WebhookService(db, settings)
    deliverer = Deliverer(hooks)
    live_store = LiveStore(db)
    replanner: Replanner
    if settings.fleet:  # replans go to the workers too, one at a time per live plan (api.live.fleet)
        from api.live.fleet import FleetReplanner

        assert isinstance(runner, FleetRunner)
        replanner = FleetReplanner(live_store, runner.publish, batch_window_s=settings.live_batch_window_s,
                                   republish_after_s=settings.republish_after_s)
    else:
        replanner = Replanner(live_store, hooks, batch_window_s=settings.live_batch_window_s,
                              jit=JitStore(db), log_level=settings.log_level, nice=settings.solver_nice)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.open:
            log.warning("no API keys configured (PORTSYNC_API_KEYS): running open, every client sees "
                        "and can stop every job")
        await run_in_threadpool(runner.start)
        await run_in_threadpool(deliverer.start)
        await run_in_threadpool(replanner.start)
        await run_in_threadpool(board.warm)
        if settings.fleet:
            log.info("portsync API ready: jobs solved by the fleet (broker %s), database %s",
                     _hide(settings.broker_url), db.engine.url.render_as_string(hide_password=True))
        else:
            log.info("portsync API ready: %d solver process(es), database %s", settings.workers,
                     db.engine.url.render_as_string(hide_password=True))
        try:
            yield
        finally:
            await run_in_threadpool(replanner.stop)
            await run_in_threadpool(deliverer.stop)
            await run_in_threadpool(runner.stop)
            db.dispose()

    app = FastAPI(
        title="portsync",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc from the bundled assets (api.routes.docs)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.runner = runner
    app.state.webhooks = hooks
    app.state.deliverer = deliverer
    app.state.live_store = live_store
    app.state.replanner = replanner
    app.state.live_plan_exists = live_store.exists  # for POST /v1/webhooks
    errors.install(app)
    routers = (schedules, batches, studies, solve, check, live_plans, webhooks, health, workers, board,
               board_files, docs)
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=board.STATIC), name="static")
    # DCSA JIT 2.0 under /v2: carriers' timestamps become the live plans' events (api/jit/README.md)
    include_jit(app, db, lambda: LiveGateway(live_store, replanner.wake))
    app.state.route_table = errors.route_table(
        [*app.router.routes, *(r for m in routers for r in m.router.routes)])
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path, item in schema.get("paths", {}).items():
        if path.startswith("/v2/"):
            for op in item.values():  # DCSA JIT: its own ErrorResponse, 400 for invalid input
                op.get("responses", {}).pop("422", None)
            continue
        for op in item.values():
            for code, resp in op.get("responses", {}).items():
                if str(code).isdigit() and int(code) >= 400:
                    resp["content"] = {errors.PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
    _event_schemas(schema)
    describe_fields(schema)
    add_examples(schema)
    examples = load_examples()
    for path in ("/v1/schedules", "/v1/solve"):
        op = schema.get("paths", {}).get(path, {}).get("post")
        if op and examples:
            op["requestBody"]["content"]["application/json"]["examples"] = examples
    return schema


def _event_schemas(schema: dict[str, Any]) -> None:
    """The live-plan events body (parsed by its route, so that a refusal names the event's index and
    field) described as it is: one Event or a list of them, told apart by `type`."""
    from optimizer.live.events import EVENT

    event = EVENT.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in event.pop("$defs", {}).items():
        components.setdefault(name, body)
    components["Event"] = event
    op = schema.get("paths", {}).get("/v1/live-plans/{plan_id}/events", {}).get("post")
    if op is not None:
        ref = {"$ref": "#/components/schemas/Event"}
        op["requestBody"]["content"]["application/json"]["schema"] = {
            "oneOf": [ref, {"type": "array", "items": ref, "minItems": 1}]}


def load_examples(folder: Path = EXAMPLES_DIR) -> dict[str, Any]:
    """Request examples from the Caspian scenarios, read when /openapi.json is first asked for."""
    out: dict[str, Any] = {}
    try:
        files = sorted(folder.glob("*.json"))
    except OSError:
        return out
    for f in files:
        try:
            if f.stat().st_size > MAX_EXAMPLE_BYTES:
                continue
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "calls" not in data:
            continue
        summary = f"{f.stem}: {data.get('name', f.stem)}"
        out[f.stem] = {"summary": summary[:120], "description": str(data.get("description", ""))[:500],
                       "value": {"problem": data, "options": {"time_limit_s": 10}}}
    return out
