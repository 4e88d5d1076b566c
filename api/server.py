"""`portsync-api` and `python -m api`: the API under uvicorn."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.settings import settings_or_exit


def run(host: str | None = None, port: int | None = None) -> None:
    """Serve on PORTSYNC_HOST:PORTSYNC_PORT (127.0.0.1:8000) unless host/port are given."""
    settings = settings_or_exit("portsync-api")
    # JSON logs: uvicorn's own lines go through the same JSON handler (api.logs), not its text config
    log_config = None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port,
                log_level=settings.log_level.lower(), log_config=log_config)
