"""Agents as a service: an Agent Protocol API (as the LangGraph SDK speaks it) that queues
runs in Redis, and workers that execute them under leases and take over from each other.

``ServiceApp`` registers what is served; ``hanlin api`` and ``hanlin worker`` serve it.
Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hanlin._lazy import lazy_exports

if TYPE_CHECKING:
    from hanlin.service.api_app import ApiSettings, build_api
    from hanlin.service.app_registry import ServiceApp, load_service_app
    from hanlin.service.worker import Worker, WorkerSettings

_EXPORTS: dict[str, str] = {
    "ApiSettings": "hanlin.service.api_app",
    "build_api": "hanlin.service.api_app",
    "ServiceApp": "hanlin.service.app_registry",
    "load_service_app": "hanlin.service.app_registry",
    "Worker": "hanlin.service.worker",
    "WorkerSettings": "hanlin.service.worker",
}
__all__ = [
    "ApiSettings",
    "ServiceApp",
    "Worker",
    "WorkerSettings",
    "build_api",
    "load_service_app",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
