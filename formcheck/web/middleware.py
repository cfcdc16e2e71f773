"""The app's protective middleware: security headers on every response, the access-token gate
(:class:`~formcheck.web.safety.TokenGate`), the cross-site request refusal
(:class:`~formcheck.web.safety.SameOriginGate`, CSRF) and the ``Host`` allow-list (DNS
rebinding)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware

from formcheck.web.safety import SameOriginGate, TokenGate


class HeadAsGet:
    """ASGI middleware: ``HEAD`` is answered as ``GET`` without the body (headers, status and
    Content-Length as the GET would give), on every route that answers GET."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app(dict(scope, method="GET"), receive, headers_only)


def protect(app: FastAPI, token: str | None, secure_cookie: bool,
            allowed_hosts: tuple[str, ...] | None) -> None:
    """Install the middleware on ``app``, outermost last: Host check, token gate, cross-site
    refusal, headers.

    Args:
        token: access token required on every request (None: open).
        secure_cookie: the token cookie gets ``Secure`` (served over TLS).
        allowed_hosts: ``Host`` header values accepted (None or empty: any).
    """

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: with no-referrer browsers send ``Origin: null`` on the
        # app's own POSTs, which the cross-site check could not tell from a forged one.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.add_middleware(SameOriginGate)
    app.add_middleware(HeadAsGet)

    if token:
        app.add_middleware(TokenGate, token=token, secure_cookie=secure_cookie)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
