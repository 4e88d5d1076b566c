"""Schema-driven fuzzing (schemathesis) of the app's own OpenAPI document: no 500, no response
that breaks the documented schema, status codes and content types as documented."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings

_TMP = Path(tempfile.mkdtemp(prefix="portsync-fuzz-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)  # also when the module is only collected
APP = create_app(Settings(database_url=f"sqlite:///{_TMP / 'fuzz.db'}", workers=1, solver_threads=1,
                          sync_time_limit_cap_s=0.3, max_body_bytes=2_000_000))


async def app_without_lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The app without its solver processes (jobs stay queued): the fuzzing is about the HTTP
    surface, and starting processes for every operation would only cost time."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await APP(scope, receive, send)


CONFIG = SchemathesisConfig.from_dict({
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_asgi("/openapi.json", app_without_lifespan, config=CONFIG)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    APP.state.runner.stop()
    APP.state.db.dispose()


@schema.exclude(path="/readyz").parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          database=None, phases=[Phase.explicit, Phase.generate])  # no shrinking: big bodies shrink slowly
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS, timeout=60)  # a week at 1-minute steps on a busy machine
