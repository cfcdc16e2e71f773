"""The app's protective middleware: security headers on every response, the access-token gate
(:class:`~formcheck.web.safety.TokenGate`) and the ``Host`` allow-list (DNS rebinding)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware

from formcheck.web.safety import TokenGate


def protect(app: FastAPI, token: str | None, secure_cookie: bool,
            allowed_hosts: tuple[str, ...] | None) -> None:
    """Install the middleware on ``app``, outermost last: Host check, token gate, headers.

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
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    if token:
        app.add_middleware(TokenGate, token=token, secure_cookie=secure_cookie)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
