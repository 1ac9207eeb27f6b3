"""Who is calling: API keys mapped to user ids, and loopback-only serving without them.

Keys come as ``KEY=user`` (``--api-key``, repeatable, or ``HANLIN_API_KEYS`` comma
separated, which keeps them out of the process list) and are presented as
``Authorization: Bearer KEY`` or ``x-api-key: KEY`` (what the LangGraph SDK sends). They are
compared as SHA-256 digests in constant time. With no keys, only loopback clients are served
(as user ``local``); binding beyond loopback without keys needs ``--no-auth`` (every caller
is then user ``anonymous``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hanlin.service.api_errors import error_response

API_KEYS_ENV = "HANLIN_API_KEYS"
OPEN_PATHS = frozenset({"/ok", "/info"})
LOCAL_USER = "local"
ANONYMOUS_USER = "anonymous"


class AuthConfigError(ValueError):
    """Unusable keys, or an exposed bind without them."""


def parse_api_keys(entries: Iterable[str]) -> dict[str, str]:
    """``KEY=user`` entries (each may hold several, comma separated) as key -> user."""
    keys: dict[str, str] = {}
    for entry in entries:
        for piece in (p.strip() for p in entry.split(",")):
            if not piece:
                continue
            key, sep, user = piece.partition("=")
            key, user = key.strip(), user.strip()
            if not sep or not key or not user:
                raise AuthConfigError(f"an API key must be given as KEY=user, got {piece[:4]}...")
            if any(ch.isspace() for ch in key) or not key.isprintable():
                raise AuthConfigError("an API key must be printable and without spaces")
            if not user.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise AuthConfigError(f"user id {user!r}: letters, digits, '-', '_', '.' only")
            if keys.get(key, user) != user:
                raise AuthConfigError("the same API key is given for two users")
            keys[key] = user
    return keys


def is_loopback_host(host: str) -> bool:
    """True when every address ``host`` binds to is a loopback address."""
    if host == "":
        return False
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AuthConfigError(f"cannot resolve the host {host!r}: {exc}") from exc
    addresses = [ipaddress.ip_address(str(i[4][0]).split("%", 1)[0]) for i in infos]
    return bool(addresses) and all(a.is_loopback for a in addresses)


def check_exposure(host: str, keys: dict[str, str], *, allow_no_auth: bool) -> None:
    if keys or allow_no_auth or is_loopback_host(host):
        return
    raise AuthConfigError(
        f"refusing to serve on {host!r} (not loopback) without API keys: give --api-key "
        f"KEY=user (or {API_KEYS_ENV}=key1=alice,key2=bob), or --no-auth if every caller "
        "may act as one anonymous user"
    )


class AuthPolicy:
    """Keys (key -> user) and whether callers without keys are served beyond loopback."""

    def __init__(self, keys: dict[str, str], *, allow_no_auth: bool = False) -> None:
        self.keys = dict(keys)
        self.allow_no_auth = allow_no_auth
        self._digests = [(hashlib.sha256(k.encode()).digest(), u) for k, u in keys.items()]

    def user_for(self, presented: str | None) -> str | None:
        """The user a key belongs to; every key is compared, so timing reveals nothing."""
        if presented is None:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: str | None = None
        for expected, user in self._digests:
            if hmac.compare_digest(digest, expected):
                found = user
        return found


def presented_key(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def _is_loopback_client(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(str(client[0]).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class ApiAuth:
    """ASGI middleware: sets ``scope["state"]["user"]`` or answers 401 / 403."""

    def __init__(self, app: ASGIApp, policy: AuthPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        user, refusal = self._user(scope)
        if user is None:
            status, detail = refusal
            headers = {"WWW-Authenticate": 'Bearer realm="hanlin"'} if status == 401 else None
            await error_response(status, detail, headers=headers)(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    def _user(self, scope: Scope) -> tuple[str | None, tuple[int, str]]:
        if self.policy.keys:
            user = self.policy.user_for(presented_key(Headers(scope=scope)))
            detail = "a valid API key is required ('Authorization: Bearer KEY' or 'x-api-key')"
            return user, (401, detail)
        if self.policy.allow_no_auth:
            return ANONYMOUS_USER, (0, "")
        if _is_loopback_client(scope):
            return LOCAL_USER, (0, "")
        return None, (403, "this server has no API keys and serves loopback clients only")
