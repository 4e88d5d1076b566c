"""`portsync-api` and `python -m api`: the API's own command, apart from the optimizer's CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

import api.cli
from optimizer.cli import app as optimizer_app

runner = CliRunner()


def test_serve_passes_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str | None, int | None]] = []
    monkeypatch.setattr(api.cli, "run", lambda host, port: seen.append((host, port)))
    assert runner.invoke(api.cli.app, ["--host", "0.0.0.0", "--port", "8123"]).exit_code == 0
    assert runner.invoke(api.cli.app, []).exit_code == 0
    assert seen == [("0.0.0.0", 8123), (None, None)]


def test_python_m_api_is_the_same_command() -> None:
    result = subprocess.run([sys.executable, "-m", "api", "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "--host" in result.stdout and "--port" in result.stdout


def test_the_optimizer_cli_does_not_serve() -> None:
    assert runner.invoke(optimizer_app, ["serve"]).exit_code != 0
