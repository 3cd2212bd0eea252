"""Authentication before anything else: the API key is checked before a body is read or parsed.

KeyGate is ASGI middleware over every /v1/ route: no key, a wrong or revoked key, or a key
over its rate gets its 401/429 before the request body is received, so an anonymous caller
can neither make the server parse a body nor learn how it would be parsed. require_key is
the dependency routes declare (it also documents the bearer scheme in OpenAPI).
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adgen.apikeys import ApiKey
from adgen.limits import retry_after_header
from adgen.service.core import ApiError, Service

PROTECTED_PREFIXES = ("/v1/",)
bearer = HTTPBearer(auto_error=False, description="An API key from `adgen keys create`.")


def authenticate(service: Service, authorization: str | None, *, spend: bool = True) -> ApiKey:
    """The caller's live key from an `Authorization: Bearer` value, within its rate; ApiError otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    key = service.keys.authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if key is None:
        raise ApiError(401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>",
                       field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    wait = service.rate.take(key.id) if spend else 0.0
    if wait:
        raise ApiError(429, "rate_limited", "too many requests for this API key", field="Authorization",
                       headers={"Retry-After": retry_after_header(wait)})
    return key


class KeyGate:
    """ASGI middleware: authenticate /v1/ requests from their headers alone, before the body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIXES):
            return await self.app(scope, receive, send)
        service: Service = scope["app"].state.service
        headers = dict(scope.get("headers") or [])
        try:
            key = authenticate(service, headers.get(b"authorization", b"").decode("latin-1"))
        except ApiError as exc:
            return await send_error(send, exc)
        scope.setdefault("state", {})["adgen_key"] = key
        await self.app(scope, receive, send)


async def send_error(send, exc: ApiError) -> None:
    body = json.dumps({"error": exc.detail.model_dump(mode="json")}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in (exc.headers or {}).items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def require_key(request: Request,
                      credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiKey:
    """The key KeyGate authenticated (and, where the gate is not installed, authenticate it here)."""
    key = request.scope.get("state", {}).get("adgen_key")
    if key is None:
        header = f"Bearer {credentials.credentials}" if credentials else None
        key = authenticate(request.app.state.service, header)
    return key


KeyDep = Annotated[ApiKey, Depends(require_key)]
