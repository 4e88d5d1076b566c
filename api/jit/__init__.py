"""DCSA Just-in-Time Port Call 2.0, the Service Consumer's side (portsync is the terminal for
`BERTH` services): `schemas` (the standard's bodies), `store` (the records), `mapping` (calls ↔
records, timestamps → live-plan events), `publish` (REQs for changed RTAs), `gateway` (what the live
plans must provide). The routes are api/routes/jit.py; `include_jit` mounts them.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from api.db import Database
from api.jit.gateway import CallRef, EventsRefused, LivePlanGateway, NoCallsGateway
from api.jit.store import JitStore

__all__ = ["CallRef", "EventsRefused", "JitStore", "LivePlanGateway", "NoCallsGateway", "include_jit"]


def include_jit(app: FastAPI, db: Database,
                gateway_factory: Callable[[], LivePlanGateway] = NoCallsGateway) -> None:
    """Mount the /v2 routes on `app` (once) with records in `db`; every request asks
    `gateway_factory` for its gateway. Called again (e.g. once live plans exist), it only replaces
    the store and the gateway factory."""
    from api.routes import jit

    app.state.jit_store = JitStore(db)
    app.state.jit_gateway_factory = gateway_factory
    if not getattr(app.state, "jit_mounted", False):
        app.include_router(jit.router)
        app.state.jit_mounted = True
