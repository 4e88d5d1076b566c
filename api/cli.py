"""`portsync-api` (and `python -m api`): serve the REST API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.server import run

app = typer.Typer(
    help="portsync's REST API: berth-plan jobs for Aktau, Kuryk and Alat (OpenAPI at /docs).",
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default PORTSYNC_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default PORTSYNC_PORT or 8000.")] = None,
) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    run(host=host, port=port)
