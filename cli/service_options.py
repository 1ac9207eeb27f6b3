"""What ``hanlin api`` and ``hanlin worker`` share: the Redis they meet at."""

from __future__ import annotations


def service_redis_url(explicit: str | None) -> str:
    """``--redis-url``, else the configured one (``HANLIN_REDIS_URL``), else the managed local
    Redis (started if needed), exactly as the other commands choose."""
    from hanlin.redis_stack.connection import resolve_redis_url
    from hanlin.redis_stack.server import RedisServerConfig
    from hanlin.runtime.settings import load_settings

    settings = load_settings()
    server = RedisServerConfig(
        port=settings.redis.port,
        data_dir=settings.redis.data_dir,
        appendfsync=settings.redis.appendfsync,
    )
    return resolve_redis_url(explicit or settings.effective_redis_url(), server)
