"""Who is asking: the login when the app has passwords, else a browser id the server issued.

The browser id lives in an HttpOnly cookie signed with the server's secret (HMAC-SHA256 from
the standard library), so page scripts cannot read it and no client can choose or forge one.
The secret itself never leaves the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

COOKIE = "hanlin-browser"
COOKIE_MAX_AGE = 400 * 86_400  # the longest lifetime browsers accept
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BrowserIdentity:
    """Issues and checks signed browser ids."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the browser identity secret needs at least 32 characters")
        self._key = hashlib.sha256(b"hanlin browser identity\0" + secret.encode()).digest()

    def _signature(self, browser_id: str) -> str:
        return hmac.new(self._key, browser_id.encode(), hashlib.sha256).hexdigest()

    def browser_storage_key(self) -> str:
        """A key for what the page keeps in local storage (its form and thread id). Gradio
        hands this key to every page, so it is derived one-way and protects nothing secret."""
        return hmac.new(self._key, b"browser storage", hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        """A new cookie value: ``<id>.<signature>``."""
        browser_id = secrets.token_hex(16)
        return f"{browser_id}.{self._signature(browser_id)}"

    def browser_id(self, cookie: str | None) -> str | None:
        """The id in a cookie this server signed; None for anything else."""
        browser_id, _, signature = (cookie or "").partition(".")
        if not browser_id or not hmac.compare_digest(signature, self._signature(browser_id)):
            return None
        return browser_id

    def owner(self, request: Any) -> str | None:
        """The identity of a Gradio request: ``user-<login>``, ``browser-<id>``, or None."""
        if request is None:
            return None
        username = getattr(request, "username", None)
        if username:
            return f"user-{username}"
        cookies = dict(getattr(request, "cookies", None) or {})
        browser_id = self.browser_id(cookies.get(COOKIE))
        return f"browser-{browser_id}" if browser_id else None

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """``app`` answering every request that lacks a valid cookie with a new one."""

        async def with_cookie(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or self.browser_id(_cookie(scope)) is not None:
                await app(scope, receive, send)
                return
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            header = (
                f"{COOKIE}={self.issue()}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; "
                f"SameSite=Lax{secure}"
            ).encode("latin-1")

            async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", header)]
                await send(message)

            await app(scope, receive, send_with_cookie)

        return with_cookie


def _cookie(scope: Scope) -> str | None:
    from starlette.requests import cookie_parser

    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1")).get(COOKIE)
    return None
