"""Starting the chat: loopback by default, a password before it is exposed, login enforced."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests_support import free_port
from typer.testing import CliRunner

from hanlin.cli.main import app
from hanlin.ui.launch import (
    UiAuthError,
    UiLaunch,
    browser_secret,
    check_exposure,
    is_loopback,
    parse_auth,
)


def test_auth_entries_are_parsed_and_bad_ones_named() -> None:
    assert parse_auth(["ann:s3cret", "bob:pa:ss, cid:x"]) == [
        ("ann", "s3cret"),
        ("bob", "pa:ss"),
        ("cid", "x"),
    ]
    with pytest.raises(UiAuthError, match="user:password"):
        parse_auth(["justaname"])


def test_exposure_needs_a_password_or_an_explicit_no_auth() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    check_exposure(UiLaunch(host="127.0.0.1"))
    check_exposure(UiLaunch(host="0.0.0.0", auth=[("ann", "pw")]))
    check_exposure(UiLaunch(host="0.0.0.0", allow_no_auth=True))
    with pytest.raises(UiAuthError, match="refusing to serve on 0.0.0.0"):
        check_exposure(UiLaunch(host="0.0.0.0"))


def test_an_empty_host_is_checked_where_gradio_binds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gradio binds an empty host to ``GRADIO_SERVER_NAME``: the check looks there too."""
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    with pytest.raises(UiAuthError, match="refusing to serve on 0.0.0.0"):
        check_exposure(UiLaunch(host=""))
    result = CliRunner().invoke(app, ["ui", "--host", "", "--port", str(free_port())])
    assert result.exit_code == 2 and "refusing to serve on 0.0.0.0" in result.output
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.1")
    check_exposure(UiLaunch(host=""))


def test_the_cli_refuses_a_public_address_without_auth() -> None:
    result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--port", str(free_port())])
    assert result.exit_code == 2
    assert "without a password" in result.output


def test_the_browser_secret_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    first = browser_secret(path)
    assert len(first) == 64 and browser_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_password_protected_app_turns_strangers_away() -> None:
    pytest.importorskip("gradio")
    from hanlin.llm.scripted import ScriptedModel
    from hanlin.ui.app import build_app
    from hanlin.ui.launch import launch_app, quiet_gradio
    from hanlin.ui.services import UiServices

    quiet_gradio()
    model = ScriptedModel([])
    demo = build_app(UiServices(model_factory=lambda config: model, redis_url=None))
    _, url, _ = launch_app(demo, UiLaunch(port=free_port(), auth=[("ann", "s3cret")]), block=False)
    try:
        assert httpx.get(f"{url}config").status_code == 401
        with httpx.Client() as client:
            denied = client.post(f"{url}login", data={"username": "ann", "password": "nope"})
            assert denied.status_code == 400
            allowed = client.post(f"{url}login", data={"username": "ann", "password": "s3cret"})
            assert allowed.status_code == 200
            assert client.get(f"{url}config").status_code == 200
    finally:
        demo.close()


def test_form_values_round_trip_through_the_config() -> None:
    from hanlin.chat_teams.config import TeamConfig
    from hanlin.ui.app import config_from, form_values

    config = TeamConfig(
        kind="role_play",
        model_url="http://127.0.0.1:8000/v1",
        model_name="qwen",
        tools=["python", "memory"],
        approve_tools=True,
        debaters=4,
        rounds=3,
        assistant_role="Chef",
        user_role="Diner",
        max_turns=6,
        max_tokens=128,
    )
    assert config_from(*form_values(config)) == config
    assert config_from(*form_values(TeamConfig())) == TeamConfig()
