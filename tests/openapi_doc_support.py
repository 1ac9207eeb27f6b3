"""A minimal OpenAPI document and one good operation, shared by the hostile-document tests."""

from __future__ import annotations

from typing import Any


def doc(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:9"}],
        "paths": paths,
        **extra,
    }


GOOD = {
    "/ok": {
        "get": {
            "operationId": "ok",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
        }
    }
}
