"""Only this machine's own trial page may drive `aigaq try` or read its chats."""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "X-Aigaq-Trial"  # noqa: S105 - the name of the header, not a secret
TAB_HEADER = "X-Aigaq-Tab"
_TAB = re.compile(r"[A-Za-z0-9_-]{16,64}")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


def is_own_host(host: str, port: int) -> bool:
    """127.0.0.1 or localhost with the trial's own port (a DNS-rebinding page sends its own)."""
    names = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if port == 80:
        names |= {"127.0.0.1", "localhost"}
    return host.lower() in names


class TrialGuard:
    """Only this machine's own page drives the trial: Host checked everywhere; the API takes
    JSON only (a form or text/plain post from another site gets 415), with this run's token
    (which only the page's own HTML carries) and the tab's id."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        server = scope.get("server")
        port = int(server[1]) if server and server[1] is not None else 80
        if not is_own_host(headers.get("host", ""), port):
            return PlainTextResponse("Invalid host header", status_code=400)
        if not str(scope["path"]).startswith("/api/"):
            return None
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] != "GET" and media_type != "application/json":
            return PlainTextResponse("Only application/json", status_code=415)
        if not secrets.compare_digest(headers.get(TOKEN_HEADER, ""), self.token):
            return PlainTextResponse("Missing or wrong trial token", status_code=403)
        if not _TAB.fullmatch(headers.get(TAB_HEADER, "")):
            return PlainTextResponse("Missing tab id", status_code=400)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = not str(scope["path"]).startswith("/review")

        async def send_with_headers(message: Message) -> None:
            if page and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers[name] = value
            await send(message)

        refused = self.refusal(scope)
        if refused is not None:
            await refused(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
