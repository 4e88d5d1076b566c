"""Fixtures for the API tests: settings on a fresh database, test clients, problems."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import Database
from api.settings import Settings
from tests.api.fleet_support import BROKER, Fleet, base_of, broker_unreachable, fleet_on
from tests.builders import two_ships_one_berth_dict

ROOT = Path(__file__).resolve().parents[2]
WEEK = ROOT / "instances" / "caspian" / "week.json"
PG_URL = os.environ.get("PORTSYNC_TEST_POSTGRES_URL")
TERMINAL = ("done", "stopped", "failed")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's PORTSYNC_* variables of the shell must not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("PORTSYNC_") and name != "PORTSYNC_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


def tiny_problem(name: str = "tiny") -> dict[str, Any]:
    """Two vessels for one berth: solved to optimality in milliseconds."""
    return two_ships_one_berth_dict(name=name)


def long_problem() -> dict[str, Any]:
    """A problem CP-SAT keeps improving on for many seconds: the Caspian week, or a generated one."""
    if WEEK.exists():
        data: dict[str, Any] = json.loads(WEEK.read_text(encoding="utf-8"))
        return data
    from optimizer.generator import generate

    return json.loads(generate(calls=100, days=7, seed=3).model_dump_json())


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=f"sqlite:///{tmp_path / 'portsync.db'}", workers=1, solver_threads=1,
        default_time_limit_s=2.0, sync_time_limit_cap_s=2.0, progress_interval_s=0.2, poll_interval_s=0.1,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on a fresh database, without its runner: jobs stay queued (no solver processes)."""
    app = create_app(make_settings(tmp_path))
    yield TestClient(app)
    app.state.runner.stop()
    app.state.db.dispose()


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Apps with chosen settings, without their runner."""
    apps = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(make_settings(tmp_path, **overrides))
        apps.append(app)
        return TestClient(app)

    yield make
    for app in apps:
        app.state.runner.stop()
        app.state.db.dispose()


def wait_ready(c: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.get("/readyz").status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the server did not become ready")


#: `fleet` runs the tests that use `live` against a worker fleet (two `portsync worker` processes on
#: the machine's RabbitMQ and PostgreSQL) instead of the embedded runner: the same API, the same answers.
BACKEND = os.environ.get("PORTSYNC_TEST_BACKEND", "embedded")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with its runner (two solver processes, or two fleet workers with
    PORTSYNC_TEST_BACKEND=fleet), shared by a module's tests."""
    tmp = tmp_path_factory.mktemp("live")
    if BACKEND == "fleet":
        why = broker_unreachable(BROKER)
        if why:
            pytest.skip(why)
        with fleet_on(base_of(BROKER), tmp) as fleet:
            workers = [fleet.start_worker(f"w{i}@live", poll_interval_s=0.1) for i in range(2)]
            for w in workers:
                w.wait_ready()
            settings = fleet.settings(api_keys=["key-a", "key-b"], poll_interval_s=0.1,
                                      sync_time_limit_cap_s=2.0)
            with TestClient(create_app(settings)) as c:
                wait_ready(c)
                yield c
        return
    settings = make_settings(tmp, workers=2, api_keys=["key-a", "key-b"])
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        yield c


def wait_status(c: Any, location: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 30.0,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = c.get(location, headers=headers).json()
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def wait_finished(c: Any, loc: str, headers: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """A batch's or a study's gathered answer once every job of it has ended."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = c.get(loc, headers=headers).json()
        if body["status"] == "finished":
            return body
        time.sleep(0.1)
    raise AssertionError(f"{loc} not finished: {body.get('counts')}")


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(database URL, fresh schema) on the test PostgreSQL server; skipped without one."""
    if not PG_URL:
        pytest.skip("PORTSYNC_TEST_POSTGRES_URL is not set")
    import sqlalchemy as sa

    schema = f"portsync_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    yield PG_URL, schema
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    """A fresh vhost and schema on the machine's RabbitMQ and PostgreSQL (tests.api.fleet_support),
    its workers ended afterwards; skipped, with the reason, when either is not there."""
    why = broker_unreachable(BROKER)
    if why:
        pytest.skip(why)
    with fleet_on(base_of(BROKER), tmp_path) as f:
        yield f


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The job store, migrated, on SQLite and on PostgreSQL (skipped without one)."""
    if request.param == "sqlite":
        d = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    else:
        url, schema = request.getfixturevalue("pg_schema")
        d = Database(url, schema)
    d.migrate()
    yield d
    d.dispose()
