"""API keys: with keys configured every /v1 request needs one, and a client sees only its own jobs.

A job's owner is a hash of the key, so the database never holds the keys themselves.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import APIError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key of this server.")
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")

OPEN_OWNER = ""


def owner_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def caller(
    request: Request,
    key: str | None = Security(api_key_header),
    token: HTTPAuthorizationCredentials | None = Security(bearer),
) -> str:
    """The caller's owner id; 401 when keys are configured and none (or an unknown one) is sent."""
    keys: list[str] = request.app.state.settings.api_keys
    if not keys:
        return OPEN_OWNER
    supplied = key or (token.credentials if token is not None else None)
    challenge = {"WWW-Authenticate": 'Bearer realm="portsync"'}
    if not supplied:
        raise APIError(401, "an API key is required: send it in the X-API-Key header "
                       "or as Authorization: Bearer <key>", headers=challenge)
    for k in keys:
        if hmac.compare_digest(k.encode(), supplied.encode()):
            return owner_of(k)
    raise APIError(401, "unknown API key", headers=challenge)
