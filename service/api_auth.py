"""Who is calling: API keys mapped to user ids, and loopback-only serving without them.

Keys come as ``KEY=user`` (``--api-key``, repeatable, or ``HANLIN_API_KEYS`` comma
separated, which keeps them out of the process list) and are presented as
``Authorization: Bearer KEY`` or ``x-api-key: KEY`` (what the LangGraph SDK sends). They are
compared as SHA-256 digests in constant time. With no keys, only loopback clients are served
(as user ``local``); binding beyond loopback without keys needs ``--no-auth`` (every caller
is then user ``anonymous``).

A front end that authenticates its own people (the chat) holds a *front-end key*
(``--frontend-key KEY=name`` or ``HANLIN_FRONTEND_KEYS``) and names the person it acts for in
the ``X-Hanlin-User`` header (percent-encoded UTF-8), so each person's threads, runs and
memories stay theirs. Such a key acts as any user it names: give it only to a trusted front
end. Any other caller that sends the header is refused, never silently served as itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hanlin.service.api_errors import error_response

API_KEYS_ENV = "HANLIN_API_KEYS"
FRONTEND_KEYS_ENV = "HANLIN_FRONTEND_KEYS"
ACT_AS_HEADER = "x-hanlin-user"
MAX_USER_CHARS = 200
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
    """Keys (key -> user), front-end keys (key -> front-end name) and whether callers without
    keys are served beyond loopback."""

    def __init__(
        self,
        keys: dict[str, str],
        *,
        allow_no_auth: bool = False,
        frontend_keys: dict[str, str] | None = None,
    ) -> None:
        self.frontend_keys = dict(frontend_keys or {})
        if set(keys) & set(self.frontend_keys):
            raise AuthConfigError("a key cannot be both an API key and a front-end key")
        self.keys = {**keys, **self.frontend_keys}
        self.allow_no_auth = allow_no_auth
        self._digests = [
            (hashlib.sha256(k.encode()).digest(), u, k in self.frontend_keys)
            for k, u in self.keys.items()
        ]

    def user_for(self, presented: str | None) -> str | None:
        """The user a key belongs to; every key is compared, so timing reveals nothing."""
        return self.caller(presented)[0]

    def caller(self, presented: str | None) -> tuple[str | None, bool]:
        """The key's user, and whether it is a front-end key (which may act for others)."""
        if presented is None:
            return None, False
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: tuple[str | None, bool] = (None, False)
        for expected, user, frontend in self._digests:
            if hmac.compare_digest(digest, expected):
                found = (user, frontend)
        return found


def acted_for(raw: str) -> str | None:
    """The person an ``X-Hanlin-User`` header names, or None when the value is unusable."""
    try:
        user = unquote(raw.strip(), errors="strict")
    except UnicodeDecodeError:
        return None
    if not user or len(user) > MAX_USER_CHARS or not user.isprintable():
        return None
    return user


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
        headers = Headers(scope=scope)
        act_as = headers.get(ACT_AS_HEADER)
        if self.policy.keys:
            user, frontend = self.policy.caller(presented_key(headers))
            if user is None:
                detail = "a valid API key is required ('Authorization: Bearer KEY' or 'x-api-key')"
                return None, (401, detail)
            if act_as is None:
                return user, (0, "")
            if not frontend:
                return None, (403, f"only a front-end key may send {ACT_AS_HEADER}")
            person = acted_for(act_as)
            detail = f"{ACT_AS_HEADER} must name a user: 1-{MAX_USER_CHARS} printable characters"
            return person, (400, detail)
        if act_as is not None:
            return None, (403, f"only a front-end key may send {ACT_AS_HEADER}")
        if self.policy.allow_no_auth:
            return ANONYMOUS_USER, (0, "")
        if _is_loopback_client(scope):
            return LOCAL_USER, (0, "")
        return None, (403, "this server has no API keys and serves loopback clients only")
