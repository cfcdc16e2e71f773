"""Input checks of the web app: content sniffing, client names, the access-token gate.

Pure Python (no FastAPI), so it is tested on its own.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

TOKEN_COOKIE = "formcheck_token"


def token_cookie(port: int | None) -> str:
    """The token cookie's name for a server on ``port``. Cookies are per host, not per port, so
    two servers on one machine need their own names or they overwrite each other's token."""
    return f"{TOKEN_COOKIE}_{port}" if port else TOKEN_COOKIE

#: What the upload page accepts (sniffed from the first bytes, never from the name).
ACCEPTED = "MP4, MOV (iPhone), WebM, MKV or AVI"

_NOT_VIDEO = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"ID3", "an MP3 audio file"), (b"OggS", "an Ogg file (audio)"), (b"fLaC", "a FLAC audio file"),
    (b"\x1f\x8b", "a gzip archive"), (b"<", "an HTML or XML text file"),
    (b"{", "a JSON text file"),
)
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff_video(head: bytes) -> tuple[str | None, str]:
    """Decide from a file's first bytes (>= 64 recommended) whether it is a video container.

    Returns ``(suffix, kind)``: ``suffix`` is ``.mp4``, ``.mov``, ``.webm``, ``.mkv`` or ``.avi``
    for a video, ``None`` otherwise; ``kind`` describes what was found (for messages).
    """
    if not head:
        return None, "an empty file (0 bytes)"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return ".mov", "a QuickTime movie"
        if brand.startswith((b"heic", b"heix", b"mif1", b"msf1", b"avif")):
            return None, "a HEIC/AVIF still image"
        if brand.startswith((b"M4A ", b"M4B ")):
            return None, "an M4A audio file"
        return ".mp4", "an MP4 video"
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return ".mov", "a QuickTime movie"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return ".webm", "a WebM video"
        return ".mkv", "a Matroska video"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi", "an AVI video"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return None, "a WAV audio file"
    for magic, kind in _NOT_VIDEO:
        if head.startswith(magic):
            return None, kind
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return None, "a text file"
    return None, "not a video format formcheck knows"


_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>\"'`]")


def display_name(client_name: str | None, fallback: str = "upload") -> str:
    """A name to *show* for an uploaded file: the last path component of what the client sent,
    without control characters, at most 80 characters. Never used as a path (files are stored
    under generated names); templates escape it again."""
    name = unicodedata.normalize("NFC", client_name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".")
    if len(name) > 80:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 78 - len(ext)] + "…" + dot + ext) if dot and len(ext) <= 8 else name[:80]
    return name or fallback


def clean_athlete(value: str | None) -> str | None:
    """An athlete name from a form: trimmed, no control characters, at most 60 characters."""
    if value is None:
        return None
    v = re.sub(r"[\x00-\x1f\x7f]", "", unicodedata.normalize("NFC", value)).strip()[:60]
    return v or None


_DEFAULT_PORT = {"http": "80", "https": "443"}
#: Methods that change state: refused from another site (CSRF).
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_key(scheme: str, netloc: str) -> tuple[str, str]:
    scheme = {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme.lower())
    host = netloc.lower()
    port = _DEFAULT_PORT.get(scheme)
    if port and host.endswith(":" + port) and not host.endswith("]"):
        host = host[: -len(port) - 1]
    return scheme, host


def foreign_origin(headers: dict[str, str], scheme: str) -> str | None:
    """Why a request comes from another web site (CSRF, cross-site WebSocket), or None.

    ``headers``: the request's headers, names in lower case; ``scheme``: the request's
    (``http``, ``https``, ``ws`` or ``wss``). Refused: an ``Origin`` that is not this server
    (scheme, host and port as in the request's ``Host``); ``Origin: null`` (a sandboxed or
    privacy-stripped page) unless ``Sec-Fetch-Site`` says same-origin; ``Sec-Fetch-Site:
    cross-site`` or ``same-site`` (another port or subdomain of this host). A request with
    neither header (curl, scripts, old browsers) passes: it cannot be forged by a web page.
    """
    site = headers.get("sec-fetch-site", "").strip().lower()
    if site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {site}"
    origin = headers.get("origin")
    if origin is None:
        return None
    origin = origin.strip()
    if origin == "null":
        return None if site == "same-origin" else "Origin: null"
    try:
        o = urlsplit(origin)
    except ValueError:
        return f"Origin: {origin[:100]}"
    host = headers.get("host")
    if not host or not o.scheme or _origin_key(o.scheme, o.netloc) != _origin_key(scheme, host):
        return f"Origin: {origin[:100]}"
    return None


FOREIGN_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>formcheck: request from another site refused</title></head><body>
<h1>Request from another site refused</h1>
<p>This formcheck server only accepts uploads and changes from its own pages. Open the
server's address and use its form.</p></body></html>
"""


class SameOriginGate:
    """ASGI middleware: a state-changing request (POST, PUT, PATCH, DELETE) sent by a page of
    another site gets 403 (:func:`foreign_origin`), token or not (cross-site request forgery)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"].upper() not in UNSAFE_METHODS:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if foreign_origin(headers, scope.get("scheme", "http")) is None:
            return await self.app(scope, receive, send)
        if "application/json" in headers.get("accept", ""):
            body, ctype = b'{"error": "Request from another site refused."}', b"application/json"
        else:
            body, ctype = FOREIGN_HTML.encode(), b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 403, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def token_ok(given: str | None, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


DENIED_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>formcheck: access token needed</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em}
code{background:#eee;padding:0 .3em}</style></head><body>
<h1>Access token needed</h1>
<p>This formcheck server is open to the network, so it only answers people who have its
access token.</p>
<p>Open the address printed in the terminal where <code>formcheck serve</code> runs: it ends
with <code>?token=…</code>. After that first visit this browser remembers the token.</p>
</body></html>
"""


class TokenGate:
    """ASGI middleware: every HTTP request and WebSocket needs the access token.

    Accepted: ``?token=`` in the URL (a GET then redirects to the same URL without it and sets
    an HttpOnly cookie, as Jupyter does), the cookie (named with the server's port,
    :func:`token_cookie`), or ``Authorization: Bearer TOKEN``.
    Anything else gets 403 with a page saying where the token is.
    """

    def __init__(self, app, token: str, secure_cookie: bool = False) -> None:
        if not token:
            raise ValueError("TokenGate: expected a non-empty token")
        self.app = app
        self.token = token
        self.secure = secure_cookie

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        q_token = next((v for k, v in query if k == "token"), None)
        server = scope.get("server")
        name = token_cookie(server[1] if server else None)
        cookie = None
        if "cookie" in headers:
            jar = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:
                jar = SimpleCookie()
            if name in jar:
                cookie = jar[name].value
        bearer = headers.get("authorization", "")
        bearer = bearer[7:] if bearer.lower().startswith("bearer ") else None
        if token_ok(q_token, self.token) and scope["type"] == "http" and scope["method"] == "GET":
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
            attrs = "; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000" + ("; Secure" if self.secure else "")
            await send({"type": "http.response.start", "status": 303, "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", f"{name}={self.token}{attrs}".encode("latin-1")),
                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if any(token_ok(t, self.token) for t in (q_token, cookie, bearer)):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "access token needed"})
            return
        body = DENIED_HTML.encode()
        await send({"type": "http.response.start", "status": 403, "headers": [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
