"""The fleet's settings: refused at start with the variable named, never a traceback (no broker needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BIN = Path(sys.executable).parent


def test_without_a_broker_nothing_changes() -> None:
    s = Settings()
    assert s.broker_url is None and not s.fleet and s.database_url.startswith("sqlite")


def test_a_broker_needs_an_amqp_url_and_a_postgresql_store() -> None:
    with pytest.raises(ValidationError, match="must be an AMQP URL"):
        Settings(broker_url="http://127.0.0.1:5672", database_url=PG)
    with pytest.raises(ValidationError, match="needs a PostgreSQL PORTSYNC_DATABASE_URL"):
        Settings(broker_url="amqp://guest:guest@127.0.0.1:5672//")
    s = Settings(broker_url=" amqp://guest:guest@127.0.0.1:5672// ", database_url=PG)
    assert s.fleet and s.broker_url == "amqp://guest:guest@127.0.0.1:5672//"
    assert Settings(broker_url="", database_url=PG).broker_url is None


@pytest.mark.parametrize(("command", "env", "says"), [
    (["portsync", "worker"], {}, "PORTSYNC_BROKER_URL is not set"),
    (["portsync", "worker"], {"PORTSYNC_BROKER_URL": "redis://h"}, "PORTSYNC_BROKER_URL: PORTSYNC_BROKER"),
    (["portsync-api"], {"PORTSYNC_BROKER_URL": "amqp://h//"}, "needs a PostgreSQL PORTSYNC_DATABASE_URL"),
])
def test_the_commands_name_the_bad_variable_and_exit_2(command: list[str], env: dict[str, str],
                                                       says: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTSYNC_")}
    r = subprocess.run([str(BIN / command[0]), *command[1:]], env={**clean, **env}, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_with_the_broker_away_a_job_is_still_accepted_and_readyz_says_so(
        pg_schema: tuple[str, str], free_tcp_port: int) -> None:
    """The job row is the record: a submit whose publish fails answers 202 all the same (the
    reconciler publishes it once the broker is back); /readyz is 503 naming the broker."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import tiny_problem

    url, schema = pg_schema
    settings = Settings(database_url=url, database_schema=schema,
                        broker_url=f"amqp://guest:guest@127.0.0.1:{free_tcp_port}//")
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/schedules", json=tiny_problem())
        assert r.status_code == 202, r.text
        assert c.get(r.headers["location"]).json()["status"] == "queued"
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "broker" in ready.json()["detail"]


@pytest.fixture
def free_tcp_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
