"""`python -m api [--host H] [--port P]`."""

from __future__ import annotations

import argparse

from api.server import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m api", description="Serve the portsync API.")
    parser.add_argument("--host", default=None, help="default PORTSYNC_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default PORTSYNC_PORT or 8000")
    args = parser.parse_args()
    run(args.host, args.port)


if __name__ == "__main__":
    main()
