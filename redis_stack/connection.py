"""Pick the Redis hanlin talks to and find out what it can do.

An explicitly configured URL always wins; without one hanlin runs its own Redis Stack. Hosted
Redis services often lack the search and JSON modules and often forbid ``MODULE LIST``, so
capabilities are read from ``MODULE LIST`` / ``INFO modules`` when allowed and otherwise
inferred from whether ``FT._LIST`` and ``JSON.GET`` are known commands.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import redis
from pydantic import BaseModel
from redis.backoff import NoBackoff
from redis.retry import Retry

from hanlin.redis_stack.server import RedisServerConfig, ensure_redis_server

REDIS_URL_ENV = "HANLIN_REDIS_URL"
SEARCH_MODULE_NAMES = frozenset({"search", "ft", "searchlight", "valkey-search"})
JSON_MODULE_NAMES = frozenset({"rejson", "json", "valkey-json"})
_URL_SCHEMES = ("redis", "rediss", "unix")


class RedisUnavailableError(RuntimeError):
    """No Redis answered at the URL hanlin was told to use."""


class RedisCapabilities(BaseModel):
    """Which Redis features hanlin can rely on at one URL."""

    version: str
    has_search: bool
    has_json: bool
    modules: list[str]


def redact_url(url: str) -> str:
    """The URL with any password replaced, so it can go into messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def resolve_redis_url(
    explicit_url: str | None = None, server_config: RedisServerConfig | None = None
) -> str:
    """The Redis URL to use: ``explicit_url``, else ``$HANLIN_REDIS_URL``, else the managed server.

    Only the last case starts anything (see :func:`ensure_redis_server`).
    """
    url = (explicit_url or os.environ.get(REDIS_URL_ENV, "")).strip()
    if url:
        scheme = urlsplit(url).scheme
        if scheme not in _URL_SCHEMES:
            raise ValueError(
                f"Redis URL {redact_url(url)!r} must start with redis://, rediss:// or unix:// "
                f"(got scheme {scheme!r}); check {REDIS_URL_ENV} or the redis_url setting"
            )
        return url
    return ensure_redis_server(server_config or RedisServerConfig())


def detect_capabilities(url: str, *, timeout_s: float = 5.0) -> RedisCapabilities:
    """Connect to ``url`` and report the server version and its search / JSON support."""
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # bounded by timeout_s, not by retry backoff
    )
    try:
        try:
            client.ping()
        except redis.exceptions.AuthenticationError as error:
            raise RedisUnavailableError(
                f"Redis at {redact_url(url)} rejected the credentials ({error}); check the "
                f"user and password in {REDIS_URL_ENV}"
            ) from error
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            raise RedisUnavailableError(_unavailable_message(url, error)) from error
        version = _server_version(client)
        modules = _module_names(client)
        lowered = {name.lower() for name in modules}
        has_search = bool(lowered & SEARCH_MODULE_NAMES) or _command_known(client, "FT._LIST")
        has_json = bool(lowered & JSON_MODULE_NAMES) or _command_known(
            client, "JSON.GET", f"hanlin:capability-probe:{uuid.uuid4().hex}"
        )
        return RedisCapabilities(
            version=version, has_search=has_search, has_json=has_json, modules=modules
        )
    finally:
        client.close()


def describe_missing_modules(url: str, caps: RedisCapabilities, fallback: str) -> str:
    """Explain which features the server at ``url`` lacks and what hanlin does instead.

    Returns an empty string when nothing is missing.
    """
    missing = []
    if not caps.has_search:
        missing.append("the search module (Redis Query Engine: FT.* commands, vector search)")
    if not caps.has_json:
        missing.append("the JSON module (JSON.* commands)")
    if not missing:
        return ""
    modules = ", ".join(caps.modules) if caps.modules else "none reported"
    return (
        f"Redis {caps.version} at {redact_url(url)} lacks {' and '.join(missing)} "
        f"(loaded modules: {modules}). hanlin will use {fallback} instead. "
        "For the full feature set use Redis Stack or Redis 8 or later, or unset "
        f"{REDIS_URL_ENV} so that hanlin runs its own Redis Stack on 127.0.0.1."
    )


def _unavailable_message(url: str, error: Exception) -> str:
    parts = urlsplit(url)
    where = parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}"
    return (
        f"no Redis answered at {redact_url(url)} ({error}). Check that the server is running "
        f"and reachable at {where}, that the URL in {REDIS_URL_ENV} is right (rediss:// for "
        "TLS), and that no firewall is in the way; or unset it so that hanlin runs its own."
    )


def _server_version(client: redis.Redis) -> str:
    try:
        info = client.info("server")
    except redis.exceptions.ResponseError:
        return "unknown"
    return str(info.get("redis_version") or info.get("valkey_version") or "unknown")


def _module_names(client: redis.Redis) -> list[str]:
    """Module names from ``MODULE LIST``, else ``INFO modules``, else an empty list."""
    try:
        listed = client.execute_command("MODULE", "LIST")
        return [str(_field(entry, "name")) for entry in listed if _field(entry, "name")]
    except redis.exceptions.ResponseError:
        pass
    try:
        return [str(entry["name"]) for entry in client.info("modules").get("modules", [])]
    except (redis.exceptions.ResponseError, KeyError, TypeError):
        return []


def _field(entry: object, name: str) -> object:
    """Read a field from a MODULE LIST entry, which is a dict (RESP3) or a flat pair list."""
    if isinstance(entry, dict):
        return entry.get(name) or entry.get(name.encode())
    if isinstance(entry, (list, tuple)):
        pairs = dict(zip(entry[::2], entry[1::2], strict=False))
        return pairs.get(name) or pairs.get(name.encode())
    return None


def _command_known(client: redis.Redis, *command: str) -> bool:
    """True when the server knows the command; an error other than 'unknown command' still counts.

    A permission error (``NOPERM``) counts as unavailable, since hanlin could not use it either.
    """
    try:
        client.execute_command(*command)
    except redis.exceptions.NoPermissionError:
        return False
    except redis.exceptions.ResponseError as error:
        message = str(error).lower()
        return not ("unknown command" in message or "noperm" in message)
    return True
