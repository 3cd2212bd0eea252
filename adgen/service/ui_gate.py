"""The designer UI inside `adgen serve --ui`: behind the service's API keys, scoped like the API.

Without this gate a mounted Gradio app is open to anyone, and Gradio skips its own
allowed-path check for an app that never "launched": a POST naming /etc/passwd or another
tenant's upload copied the file out. Here:
- every request under /ui needs a key: `Authorization: Bearer <key>` (API clients) or the
  session cookie that /ui-login sets after checking a key (browsers); nothing else reaches Gradio;
- each user is the key's id: handlers allow only that key's brands and the configured models
  (no free-text model path), and each event spends the key's rate like an API request;
- file inputs are accepted only from Gradio's upload folder; ADGEN_HOME is blocked outright;
- events run one at a time through a bounded Gradio queue.
"""

from __future__ import annotations

import html
import secrets
import threading
import time

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from adgen.service.auth import authenticate, send_error
from adgen.service.core import ApiError, Service

UI_PATH = "/ui"
LOGIN_PATH = "/ui-login"
SESSION_COOKIE = "adgen_ui"
SESSION_TTL_S = 8 * 3600
UI_QUEUE_SIZE = 16


def mount_ui(app: FastAPI, service: Service) -> None:
    """Mount the designer app at /ui behind UiGate, with the login page at /ui-login."""
    import gradio as gr

    from adgen import ui

    sessions = UiSessions(service)
    models = (service.settings.model or ui.DEFAULT_MODEL,)
    policy = ui.ServedPolicy(models=models, brands_of=sessions.brands_of, tenant_of=sessions.tenant_of, db=service.db,
                             after_decision=service.send_review_callbacks)
    blocks = ui.build_ui(service.settings.model, served=policy)
    blocks.queue(default_concurrency_limit=1, max_size=UI_QUEUE_SIZE)
    gr.mount_gradio_app(app, blocks, path=UI_PATH, theme=ui.theme(), css=ui.ui_render.UI_CSS, footer_links=["api"],
                        auth_dependency=_user, allowed_paths=[], blocked_paths=[str(service.settings.home)])
    # Gradio checks file paths only once an app has "launched"; a mounted one never does.
    blocks.has_launched = True
    app.state.ui_sessions = sessions
    app.add_middleware(UiGate)
    app.add_api_route(LOGIN_PATH, _login_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(LOGIN_PATH, _login, methods=["POST"], include_in_schema=False)


def _user(request: Request) -> str | None:
    """Gradio's user for a request: the id of the key UiGate authenticated."""
    key = request.scope.get("state", {}).get("adgen_key")
    return key.id if key is not None else None


class UiSessions:
    """Browser sessions: a random token in an HttpOnly cookie, mapped here to a key id, re-checked each use."""

    def __init__(self, service: Service):
        self.service = service
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, key) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}  # drop expired ones
            self._tokens[token] = (key.id, now + SESSION_TTL_S)
        return token

    def key(self, token: str):
        """The live key behind a session token, or None (unknown, expired or revoked since)."""
        from adgen.apikeys import get_key

        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] < time.monotonic():
            return None
        key = get_key(entry[0], db=self.service.db)
        return key if key is not None and key.revoked_at is None else None

    def brands_of(self, key_id: str) -> tuple[str, ...]:
        from adgen.apikeys import get_key

        key = get_key(key_id, db=self.service.db)
        return key.brands if key is not None and key.revoked_at is None else ()

    def tenant_of(self, key_id: str) -> str | None:
        """The key's tenant: whose knowledge base the app shows it; None for a revoked key (it gets none)."""
        from adgen.apikeys import get_key

        key = get_key(key_id, db=self.service.db)
        return key.tenant if key is not None and key.revoked_at is None else None


class UiGate:
    """ASGI middleware: nothing under /ui without a key (bearer header or login session)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not (path == UI_PATH or path.startswith(UI_PATH + "/")):
            return await self.app(scope, receive, send)
        app = scope["app"]
        service: Service = app.state.service
        headers = dict(scope.get("headers") or [])
        try:
            key = self._key(service, app.state.ui_sessions, headers, spend=scope.get("method") == "POST")
        except ApiError as exc:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            if scope.get("method") == "GET" and exc.status == 401 and b"text/html" in headers.get(b"accept", b""):
                exc = ApiError(303, "login", "log in first", headers={"Location": LOGIN_PATH})
            return await send_error(send, exc)
        scope.setdefault("state", {})["adgen_key"] = key
        await self.app(scope, receive, send)

    @staticmethod
    def _key(service: Service, sessions: UiSessions, headers: dict, *, spend: bool):
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization:
            return authenticate(service, authorization, spend=spend)
        token = _cookie(headers.get(b"cookie", b"").decode("latin-1"), SESSION_COOKIE)
        key = sessions.key(token) if token else None
        if key is None:
            raise ApiError(401, "unauthorized", "the UI needs an API key: log in at /ui-login",
                           field="Authorization", headers={"WWW-Authenticate": "Bearer"})
        wait = service.rate.take(key.id) if spend else 0.0
        if wait:
            raise ApiError(429, "rate_limited", "too many requests for this API key",
                           headers={"Retry-After": str(max(1, int(wait + 0.999)))})
        return key


def _cookie(header: str, name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    return jar[name].value if name in jar else None


_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>adgen designer: log in</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto">
<h1>adgen designer</h1><p>Paste an API key (<code>adgen keys create</code>).</p>{error}
<form method="post" action="/ui-login"><input name="key" type="password" autocomplete="off" required
 style="width:100%;padding:.5rem" aria-label="API key"><p><button type="submit">Open the designer</button></p>
</form></body></html>"""


async def _login_page() -> HTMLResponse:
    return HTMLResponse(_FORM.format(error=""))


async def _login(request: Request, key: str = Form(max_length=200)):
    service: Service = request.app.state.service
    try:
        record = authenticate(service, f"Bearer {key}")
    except ApiError as exc:
        return HTMLResponse(_FORM.format(error=f"<p role=alert>{html.escape(exc.detail.message)}</p>"),
                            status_code=exc.status)
    token = request.app.state.ui_sessions.start(record)
    response = RedirectResponse(UI_PATH + "/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response
