"""A worker fleet for the tests: a fresh RabbitMQ vhost and PostgreSQL schema, `portsync worker`
subprocesses (each in its own process group, so a test can SIGKILL or SIGSTOP a whole worker),
and the API in this process on the same broker and store.

Skipped, with the reason, when PostgreSQL (PORTSYNC_TEST_POSTGRES_URL), RabbitMQ
(PORTSYNC_TEST_BROKER_URL, default amqp://guest:guest@127.0.0.1:5672//) or rabbitmqctl (to make
the vhost) is not there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get("PORTSYNC_TEST_POSTGRES_URL")
BROKER = os.environ.get("PORTSYNC_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
PORTSYNC = Path(sys.executable).with_name("portsync")

#: Short leases and reconciler passes, so that a lost worker is noticed within seconds.
FLEET_SETTINGS: dict[str, Any] = dict(
    lease_s=3.0, reconcile_interval_s=0.5, republish_after_s=5.0, progress_interval_s=0.2,
    solver_threads=1, max_crashes=5,
)


def broker_unreachable(url: str) -> str | None:
    """Why the broker cannot be used, or None."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"no RabbitMQ at {url.split('@')[-1]}: {type(exc).__name__}: {exc}"
    return None


def rabbitmqctl(*args: str, node: str | None = None) -> None:
    cmd = ["rabbitmqctl", *(["-n", node] if node else []), *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@dataclass
class Worker:
    """One `portsync worker` subprocess, the leader of its own process group."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if f"worker {self.name} ready" in self.text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} did not start:\n{self.text()[-3000:]}")

    def signal(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig)

    def end(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with suppress(ProcessLookupError):
            self.signal(signal.SIGKILL)  # whatever is left of its group
        self.proc.wait(timeout=10)


@dataclass
class Fleet:
    broker_url: str
    database_url: str
    schema: str
    tmp: Path
    workers: list[Worker] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Any:
        from api.settings import Settings

        values = dict(FLEET_SETTINGS, database_url=self.database_url, database_schema=self.schema,
                      broker_url=self.broker_url, default_time_limit_s=2.0)
        values.update(overrides)
        return Settings(**values)

    def env(self, **overrides: Any) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSYNC_")}
        values = dict(FLEET_SETTINGS, broker_url=self.broker_url, database_url=self.database_url,
                      database_schema=self.schema)
        values.update(overrides)
        env.update({f"PORTSYNC_{k.upper()}": str(v) for k, v in values.items()})
        return env

    def start_worker(self, name: str, concurrency: int = 1, extra_env: dict[str, str] | None = None,
                     **overrides: Any) -> Worker:
        """`extra_env`: more environment, e.g. PGAPPNAME (the application_name of its PostgreSQL
        connections, by which a test finds them)."""
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(PORTSYNC), "worker", "--concurrency", str(concurrency), "--name", name,
                 "--queues", "portsync.jobs,portsync.solve,portsync.live"],
                env={**self.env(**overrides), **(extra_env or {})}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        w = Worker(name, proc, log)
        self.workers.append(w)
        return w


@contextmanager
def fleet_on(broker_base: str, tmp: Path) -> Iterator[Fleet]:
    """A fresh vhost on the broker at `broker_base` (amqp://user:password@host:port, no vhost)
    and a fresh schema; the workers started on it are ended afterwards."""
    if not PG_URL:
        pytest.skip("PORTSYNC_TEST_POSTGRES_URL is not set")
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed (it makes each test's vhost)")
    vhost = f"portsync-test-{uuid.uuid4().hex[:10]}"
    schema = f"portsync_fleet_{uuid.uuid4().hex[:10]}"
    node = _node_of(broker_base)
    rabbitmqctl("add_vhost", vhost, node=node)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*", node=node)
    fleet = Fleet(f"{broker_base}/{vhost}", PG_URL, schema, tmp)
    try:
        yield fleet
    finally:
        for w in fleet.workers:  # all at once: each warm shutdown takes a moment
            with suppress(ProcessLookupError):
                w.signal(signal.SIGCONT)
                w.signal(signal.SIGTERM)
        for w in fleet.workers:
            w.end()
        import sqlalchemy as sa

        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        with suppress(Exception):
            rabbitmqctl("delete_vhost", vhost, node=node)


class CuttableLink:
    """A TCP relay to PostgreSQL that a test can cut: while cut, every connection through it is
    closed and new ones are closed as they come (a worker's network path to the store gone, the
    database itself untouched for everyone else). `url` is the database URL through it."""

    def __init__(self, database_url: str):
        from sqlalchemy.engine import make_url

        target = make_url(database_url)
        self.target = (target.host or "127.0.0.1", int(target.port or 5432))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = target.set(host="127.0.0.1", port=self.server.getsockname()[1]).render_as_string(
            hide_password=False)
        self.up = threading.Event()
        self.up.set()
        self.closed = False
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="pg-link", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            opened, self._open = self._open, []
        for sock in opened:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.server.close()


#: Brokers started by the tests, by port: their node names.
_NODES: dict[str, str] = {}


def _node_of(broker_base: str) -> str | None:
    port = broker_base.rsplit(":", 1)[-1]
    return _NODES.get(port)


def base_of(url: str) -> str:
    """amqp://user:password@host:port of a broker URL (without its vhost)."""
    rest = url.split("://", 1)[1]
    hostpart = rest.split("/", 1)[0]
    return f"{url.split('://', 1)[0]}://{hostpart}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def short_timeout_broker(tmp: Path, consumer_timeout_ms: int = 3000) -> Iterator[str]:
    """A second RabbitMQ node on this machine whose consumer timeout is `consumer_timeout_ms`
    (RabbitMQ 3.10 has no per-queue x-consumer-timeout; 3.12 would), checked every second
    (channel_tick_interval) rather than every minute; its base URL. Skipped when it cannot start."""
    if shutil.which("rabbitmq-server") is None or shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmq-server is not installed: no broker with a short consumer timeout")
    if os.geteuid() != 0:
        pytest.skip("starting a second RabbitMQ node needs root (its files belong to the rabbitmq user)")
    port, dist_port = _free_port(), _free_port()
    # the node runs as the rabbitmq user: its files outside pytest's private tmp (mode 700)
    base = Path(tempfile.mkdtemp(prefix="portsync-rabbit-"))
    for d in ("mnesia", "log"):
        (base / d).mkdir(parents=True, exist_ok=True)
    (base / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{port}\nconsumer_timeout = {consumer_timeout_ms}\n"
        "loopback_users = none\n")
    (base / "advanced.config").write_text("[{rabbit, [{channel_tick_interval, 1000}]}].\n")
    (base / "enabled_plugins").write_text("[].\n")
    subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(base)], check=False)
    node = f"portsync-ct-{uuid.uuid4().hex[:6]}@localhost"
    env = dict(os.environ, RABBITMQ_NODENAME=node, RABBITMQ_NODE_PORT=str(port),
               RABBITMQ_DIST_PORT=str(dist_port), RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
               RABBITMQ_LOG_BASE=str(base / "log"), RABBITMQ_CONFIG_FILE=str(base / "rabbitmq"),
               RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),
               RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
               RABBITMQ_PID_FILE=str(base / "pid"))
    out = (tmp / "rabbit-server.log").open("wb")
    proc = subprocess.Popen(["rabbitmq-server"], env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"amqp://guest:guest@127.0.0.1:{port}"
    _NODES[str(port)] = node
    try:
        deadline = time.monotonic() + 60
        while broker_unreachable(url + "//") is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip("the second RabbitMQ node did not start: "
                            + (tmp / "rabbit-server.log").read_text(errors="replace")[-500:])
            time.sleep(0.5)
        yield url
    finally:
        subprocess.run(["rabbitmqctl", "-n", node, "stop"], capture_output=True, timeout=60, check=False)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        _NODES.pop(str(port), None)
        out.close()
        shutil.rmtree(base, ignore_errors=True)


def submit(c: Any, problem: dict[str, Any], time_limit_s: float) -> str:
    """POST a job to the fleet's API; its id."""
    r = c.post(f"/v1/schedules?time_limit_s={time_limit_s}", json=problem)
    assert r.status_code == 202, r.text
    job_id: str = r.json()["id"]
    return job_id
