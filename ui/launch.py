"""Starting the chat app: storage, auth and a loopback default.

Exposing the app beyond this machine without a password is refused unless asked for
explicitly: the tools run code and read files on the host's sandbox. The check looks at the
address the server will really bind (an empty host means Gradio's ``GRADIO_SERVER_NAME``).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class UiAuthError(ValueError):
    """Auth settings that cannot be used, or a public address without auth."""


class UiLaunch(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    auth: list[tuple[str, str]] = Field(default_factory=list)
    allow_no_auth: bool = False


def parse_auth(entries: list[str]) -> list[tuple[str, str]]:
    """``user:password`` entries (from options or HANLIN_UI_AUTH, comma separated)."""
    pairs: list[tuple[str, str]] = []
    for entry in entries:
        for item in (piece.strip() for piece in entry.split(",")):
            if not item:
                continue
            user, sep, password = item.partition(":")
            if not sep or not user or not password:
                raise UiAuthError(
                    f"auth entries look like user:password, got {item.split(':')[0]!r}:…"
                )
            pairs.append((user, password))
    return pairs


def bind_host(host: str) -> str:
    """The address the server binds for ``host``: Gradio reads ``GRADIO_SERVER_NAME`` when the
    host is empty, then falls back to 127.0.0.1."""
    return host.strip() or os.environ.get("GRADIO_SERVER_NAME", "").strip() or "127.0.0.1"


def is_loopback(host: str) -> bool:
    """True when every address ``host`` stands for is a loopback address."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if not name:
        return False
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in addresses
    )


def check_exposure(launch: UiLaunch) -> None:
    host = bind_host(launch.host)
    if not is_loopback(host) and not launch.auth and not launch.allow_no_auth:
        raise UiAuthError(
            f"refusing to serve on {host} without a password: give --auth user:password "
            "(or HANLIN_UI_AUTH), or --no-auth if this network is trusted"
        )


def theme() -> Any:
    """Gradio's default look with local fonts: hanlin runs offline, so no web fonts."""
    import gradio as gr

    return gr.themes.Default(
        font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )


def launch_app(demo: Any, launch: UiLaunch, *, block: bool = True) -> Any:
    """Serves ``demo`` (made by ``build_app``) where ``check_exposure`` looked, with the
    middleware that gives each browser its signed identity cookie."""
    from starlette.middleware import Middleware

    from hanlin.ui.app import CSS, identity_of

    check_exposure(launch)
    return demo.launch(
        server_name=bind_host(launch.host),
        server_port=launch.port,
        auth=launch.auth or None,
        prevent_thread_lock=not block,
        share=False,
        show_error=True,
        quiet=not block,
        theme=theme(),
        css=CSS,
        footer_links=[],
        ssr_mode=False,
        app_kwargs={"middleware": [Middleware(identity_of(demo).middleware)]},
    )


def browser_secret(path: Path | None = None) -> str:
    """A random secret made once per machine (file mode 0600) and reused by every start.

    It signs the browsers' identity cookies, so a browser keeps its threads across restarts;
    it stays on the server."""
    path = path or Path("~/.local/share/hanlin/ui-secret").expanduser()
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    return secret


def quiet_gradio() -> None:
    """No analytics or update checks: they need the internet and leak usage."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
