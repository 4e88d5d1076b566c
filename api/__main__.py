"""`python -m api [--host H] [--port P]`, the same as `portsync-api`."""

from __future__ import annotations

from api.cli import app

if __name__ == "__main__":
    app(prog_name="python -m api")
