"""portsync REST API: FastAPI routes, the job runner, persistence and settings (see api/README.md)."""
