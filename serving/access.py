"""Who may call ``hanlin serve``: bearer API keys, and no exposure beyond loopback without them.

The served model runs on the host's CPU or GPU for anyone who can reach the port, so a
non-loopback bind needs API keys unless the operator says the network is trusted
(``--no-auth``). The bind address is resolved the way the socket will be bound before the
check, so ``""``, ``0`` or a host name that maps to a public interface cannot pass for
loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from hanlin.serving.limits import ServerLimits, refuse_body

API_KEYS_ENV = "HANLIN_SERVE_API_KEYS"

# Paths anyone may call: a health probe says only that the server is up.
OPEN_PATHS = frozenset({"/health"})


class ServeAccessError(ValueError):
    """Unusable API keys, or a non-loopback bind without them."""


def parse_api_keys(entries: Iterable[str]) -> list[str]:
    """Keys from ``--api-key`` options and the environment (comma separated), deduplicated."""
    keys: list[str] = []
    for entry in entries:
        for key in (piece.strip() for piece in entry.split(",")):
            if not key:
                continue
            if any(ch.isspace() for ch in key) or not key.isprintable():
                raise ServeAccessError("an API key must be printable and without spaces")
            if key not in keys:
                keys.append(key)
    return keys


def bind_addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses a server bound to ``host`` listens on; ``""`` means every interface."""
    if host == "":
        return [ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::")]
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeAccessError(f"cannot resolve the host {host!r}: {exc}") from exc
    # Strip an IPv6 zone ("fe80::1%eth0"): ipaddress does not parse it on every version.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def is_loopback_bind(host: str) -> bool:
    """True only when every address ``host`` binds is a loopback address."""
    addresses = bind_addresses(host)
    return bool(addresses) and all(address.is_loopback for address in addresses)


def check_exposure(host: str, api_keys: Sequence[str], *, allow_no_auth: bool) -> None:
    """Refuse to serve beyond loopback with no API key, unless explicitly allowed."""
    if api_keys or allow_no_auth or is_loopback_bind(host):
        return
    raise ServeAccessError(
        f"refusing to serve on {host!r} (not loopback) without an API key: give --api-key "
        f"(or {API_KEYS_ENV}=key1,key2, which keeps keys out of the process list), or "
        "--no-auth if this network is trusted"
    )


class KeyRing:
    """Checks a presented key against every configured key in constant time.

    Keys are compared as SHA-256 digests, so the comparison time depends on neither the
    keys' lengths nor on where they first differ; every key is compared, so the time does
    not reveal which one matched.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = [hashlib.sha256(key.encode()).digest() for key in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def accepts(self, presented: str | None) -> bool:
        if presented is None:
            return False
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        matched = False
        for expected in self._digests:
            matched |= hmac.compare_digest(digest, expected)
        return matched


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_authorized(scope: Scope, keys: KeyRing) -> bool:
    """Whether the request may use the API: no keys configured, or a valid bearer key."""
    return not keys or keys.accepts(bearer_token(Headers(scope=scope)))


class BearerAuth:
    """ASGI middleware: every path but ``OPEN_PATHS`` needs a valid bearer key.

    It answers before the body is parsed, so an unauthenticated client costs no parsing
    (the body is read and dropped within ``limits``, so the client sees the 401).
    """

    def __init__(self, app: ASGIApp, keys: KeyRing, limits: ServerLimits) -> None:
        self.app, self.keys, self.limits = app, keys, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or is_authorized(scope, self.keys)
        ):
            await self.app(scope, receive, send)
            return
        body = {
            "error": {
                "message": "a valid API key is required: send it as 'Authorization: Bearer <key>'",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        headers = {"WWW-Authenticate": 'Bearer realm="hanlin"'}
        if not await refuse_body(receive, Headers(scope=scope), self.limits):
            headers["Connection"] = "close"
        await JSONResponse(body, status_code=401, headers=headers)(scope, receive, send)
