"""Which model servers the chat may send requests to.

The model URL comes from the browser's form, so the server would otherwise request any
address a visitor names (internal services, cloud metadata). Only loopback servers and the
origins the operator lists (``hanlin ui --allow-model-url``) are reached.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable

import httpx
from pydantic import BaseModel, Field, HttpUrl, ValidationError


class ModelHostRefused(ValueError):
    """A model URL outside the allowed hosts."""


Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin:
    """(scheme, host, port) with the scheme's default port filled in."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.host.lower(), port


def same_origin(first: str, second: str) -> bool:
    try:
        return origin_of(first) == origin_of(second)
    except httpx.InvalidURL:
        return False


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ModelHosts(BaseModel):
    """Loopback servers on any port, plus exactly the origins of ``urls``."""

    urls: list[HttpUrl] = Field(default_factory=list)

    @classmethod
    def with_urls(cls, urls: Iterable[str]) -> ModelHosts:
        """From ``--allow-model-url`` values; raises ``ModelHostRefused`` naming a bad one."""
        checked: list[HttpUrl] = []
        for url in urls:
            try:
                checked.append(HttpUrl(url))
            except ValidationError as exc:
                raise ModelHostRefused(
                    f"--allow-model-url {url!r} is not an http(s) URL: {exc.errors()[0]['msg']}"
                ) from exc
        return cls(urls=checked)

    def allows(self, url: str) -> bool:
        try:
            origin = origin_of(url)
        except httpx.InvalidURL:
            return False
        if origin[0] not in {"http", "https"}:
            return False
        return is_loopback_host(origin[1]) or origin in {origin_of(str(u)) for u in self.urls}

    def check(self, url: str) -> None:
        if self.allows(url):
            return
        try:
            scheme, host, port = origin_of(url)
            shown = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
        except httpx.InvalidURL:
            shown = repr(url)
        raise ModelHostRefused(
            f"{shown} is not an allowed model host: this app sends requests only to loopback "
            "model servers and to those started with --allow-model-url"
        )


ALLOWED_MODEL_URLS_ENV = "HANLIN_ALLOW_MODEL_URLS"


def allowed_from_env() -> ModelHosts:
    """Loopback plus the comma-separated URLs of ``HANLIN_ALLOW_MODEL_URLS``: what a worker
    serving the chat's teams may reach (the chat's ``--allow-model-url`` sets it)."""
    raw = os.environ.get(ALLOWED_MODEL_URLS_ENV, "")
    return ModelHosts.with_urls(url.strip() for url in raw.split(",") if url.strip())
