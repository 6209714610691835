"""What the console lets in and what it tells the browser.

Only its own loopback host names reach it (a DNS-rebinding page sends its own), a POST must
come from its own origin, and every response forbids scripts, framing and type sniffing.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null` with
# the console's own form posts, which could then not be told from a sandboxed attacker.
# The console links nowhere else, so no address ever leaves it either way.
HEADERS = {
    "Cache-Control": "no-store",  # pages hold testimony: keep them out of the browser's disk cache
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HOST = re.compile(r"(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?", re.IGNORECASE)
_OWN_URL = re.compile(
    r"http://(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?(?:[/?#].*)?",
    re.IGNORECASE | re.DOTALL,
)


def own_port(scope: Scope) -> int:
    """The port the console's server listens on, as the server reports it (http's 80 if not)."""
    server = scope.get("server")
    return int(server[1]) if server and server[1] is not None else 80


def is_own_host(host: str, port: int) -> bool:
    """A loopback name, with no port or the console's own."""
    match = _HOST.fullmatch(host)
    return match is not None and (match[2] is None or int(match[2]) == port)


def is_own_origin(url: str, port: int) -> bool:
    """An Origin, or a Referer, that is the console itself: http, a loopback name, its port."""
    match = _OWN_URL.fullmatch(url)
    return match is not None and int(match[2] or 80) == port


def refusal(scope: Scope) -> Response | None:
    """Why this request must not reach the console, as a response without any page in it."""
    headers = Headers(scope=scope)
    port = own_port(scope)
    if not is_own_host(headers.get("host", ""), port):
        return PlainTextResponse("Invalid host header", status_code=400)
    if scope["method"] in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is not None:
        allowed = is_own_origin(origin, port)  # "null" (sandboxed, data:, file:) is not
    else:
        referer = headers.get("referer")
        allowed = referer is None or is_own_origin(referer, port)
    return None if allowed else PlainTextResponse("Cross-origin request refused", status_code=403)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class ConsoleGuard:
    """Wraps the whole console, error pages included: checks Host and Origin, sets the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A decrypted file opened as a page gets no origin: no cookies, no forms, no scripts.
        # So does any download (an export, a draft), should the browser ever show one.
        is_file = _route_path(scope).startswith("/file/")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                sandboxed = is_file or "content-disposition" in headers
                headers["Content-Security-Policy"] = POLICY + "; sandbox" if sandboxed else POLICY
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        refused = refusal(scope)
        if refused is not None:
            await refused(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)
