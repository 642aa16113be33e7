"""Who may use the console, and how: the checks every request passes before a view runs.

- **Host**: without a token, only requests naming a loopback host (``127.0.0.1``,
  ``localhost``, ``[::1]``) or one of ``hosts``, so a web page whose DNS name rebinds to
  127.0.0.1 cannot read the memories.
- **Token**: with one, every request carries it, as ``Authorization: Bearer <token>`` or
  the cookie that opening ``/?token=<token>`` sets (HttpOnly, SameSite=Strict; the
  answer redirects to the address without the token). Compared in constant time.
- **Cross-site writes**: a request with another method than GET/HEAD is refused when
  the browser says it comes from another site (``Sec-Fetch-Site``; else an ``Origin``
  other than the console's own), as Datasette does; clients that send neither (curl)
  pass these two checks, not the token's.
- **Headers**: a content security policy allowing only the console's own files (no
  inline script), no framing, no referrer, no caching of pages.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["COOKIE", "LOOPBACK_HOSTS", "Guard", "is_loopback"]

COOKIE = "langmem_ui_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = ("GET", "HEAD")
HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class Guard:
    """ASGI middleware applying the module's checks in order: host, token, cross-site."""

    def __init__(
        self, app: ASGIApp, *, token: str | None = None, hosts: Iterable[str] | None = ()
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        # None: any host (a token guards the console); else loopback and the given names
        self.hosts = None if hosts is None else {*LOOPBACK_HOSTS, *(_bare(h) for h in hosts)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, _with_headers(send))
        else:
            await refusal(scope, receive, _with_headers(send))

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        host = headers.get("host", "")
        if self.hosts is not None and _bare(host) not in self.hosts:
            return PlainTextResponse(
                f"This console answers on {', '.join(sorted(self.hosts))} only.", 421
            )
        if self.token is not None:
            given = _given_token(scope, headers)
            if given is None or not hmac.compare_digest(given.encode(), self.token):
                return PlainTextResponse(
                    "This console needs its access token: open the address `langmem ui`"
                    " printed, or send Authorization: Bearer <token>.",
                    401,
                    headers={"www-authenticate": "Bearer"},
                )
            if _query_token(scope) is not None:  # keep it out of history and the address bar
                return _set_cookie(scope, given)
        if scope["method"] not in SAFE_METHODS and _cross_site(scope, headers):
            return PlainTextResponse(
                "Refused: this change was requested from another site. Nothing was changed.", 403
            )
        return None


def is_loopback(host: str) -> bool:
    """Whether serving on ``host`` reaches this machine only (``localhost``, 127.x, ::1)."""
    host = host.strip().strip("[]").lower()
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # another name: it may resolve anywhere
        return False


def _bare(host: str) -> str:
    """``host`` without its port (``[::1]:8001`` -> ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _query_token(scope: Scope) -> str | None:
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return next((value for name, value in query if name == "token"), None)


def _given_token(scope: Scope, headers: Headers) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    query = _query_token(scope)
    if query is not None:
        return query if scope["method"] in SAFE_METHODS else None
    return cookie_parser(headers.get("cookie", "")).get(COOKIE)


def _set_cookie(scope: Scope, token: str) -> Response:
    """A redirect to the requested address without its token, setting the cookie."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    rest = urlencode([(name, value) for name, value in query if name != "token"])
    response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


def _cross_site(scope: Scope, headers: Headers) -> bool:
    """Whether a browser says the request comes from another site (see the module doc)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin.lower() != f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in HEADERS.items():
                headers.setdefault(name, value)
        await send(message)

    return sending
