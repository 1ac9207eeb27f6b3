"""Who may call ``hanlin serve``: API keys on every route, and no public bind without them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from ticker_support import Ticker, chat, ticker_server

from hanlin.serving.access import (
    API_KEYS_ENV,
    KeyRing,
    ServeAccessError,
    check_exposure,
    is_loopback_bind,
    parse_api_keys,
)

KEYS = ("k-first-0123456789abcdef", "k-second-fedcba9876543210")
ROUTES = [
    ("GET", "/v1/models"),
    ("GET", "/v1/models/ticker"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/nowhere"),
]


def hanlin_command() -> list[str]:
    exe = Path(sys.executable).with_name("hanlin")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hanlin.cli.main"]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ticker]:
    env = {**os.environ, API_KEYS_ENV: ",".join(KEYS)}
    with ticker_server(tmp_path_factory.mktemp("keyed"), {}, env=env) as server:
        yield server


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-key", f"Bearer {KEYS[0]}x", f"Basic {KEYS[0]}", "Bearer"]
)
def test_every_route_refuses_a_missing_or_wrong_key(
    keyed: Ticker, method: str, path: str, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = httpx.request(
        method,
        f"{keyed.url}{path}",
        headers=headers,
        timeout=10,
        json=chat("no-key") if method == "POST" else None,
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
    assert KEYS[0] not in response.text
    assert "start no-key" not in keyed.lines()


@pytest.mark.parametrize("key", KEYS)
def test_each_configured_key_is_accepted(keyed: Ticker, key: str) -> None:
    client = openai.OpenAI(base_url=f"{keyed.url}/v1", api_key=key, max_retries=0)
    assert [m.id for m in client.models.list().data] == ["ticker"]
    reply = client.chat.completions.create(
        model="ticker", max_tokens=2, messages=[{"role": "user", "content": "keyed"}]
    )
    assert reply.choices[0].message.content == "w0 w1"


def test_health_is_open_but_names_models_only_to_key_holders(keyed: Ticker) -> None:
    anonymous = httpx.get(f"{keyed.url}/health", timeout=10)
    assert anonymous.status_code == 200 and "models" not in anonymous.json()
    holder = httpx.get(
        f"{keyed.url}/health", timeout=10, headers={"authorization": f"Bearer {KEYS[1]}"}
    )
    assert holder.json()["models"] == ["ticker"]


def test_an_unauthenticated_large_upload_still_reads_its_401(keyed: Ticker) -> None:
    client = openai.OpenAI(base_url=f"{keyed.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="ticker", max_tokens=2, messages=[{"role": "user", "content": "z" * 5_000_000}]
        )


def test_keys_from_the_environment_stay_out_of_the_process_list(keyed: Ticker) -> None:
    command_line = Path(f"/proc/{keyed.process.pid}/cmdline").read_bytes()
    assert all(key.encode() not in command_line for key in KEYS)


@pytest.mark.parametrize("host", ["", "0.0.0.0", "0", "::"])
def test_a_public_bind_without_keys_is_refused(host: str) -> None:
    assert not is_loopback_bind(host)
    with pytest.raises(ServeAccessError, match="without an API key"):
        check_exposure(host, [], allow_no_auth=False)
    check_exposure(host, ["a-key"], allow_no_auth=False)
    check_exposure(host, [], allow_no_auth=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "::1"])
def test_loopback_needs_no_key(host: str) -> None:
    assert is_loopback_bind(host)
    check_exposure(host, [], allow_no_auth=False)


@pytest.mark.parametrize("host", ["0.0.0.0", ""])
def test_hanlin_serve_refuses_a_public_host_without_a_key(host: str) -> None:
    env = {key: value for key, value in os.environ.items() if key != API_KEYS_ENV}
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [*hanlin_command(), "serve", "--host", host, "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hanlin serve --host {host!r} started serving without an API key")
    assert result.returncode == 2, result.stderr
    assert "without an API key" in result.stderr and "--no-auth" in result.stderr
    assert time.perf_counter() - started < 30, "the check must come before loading the model"


def test_key_parsing_splits_deduplicates_and_rejects_spaces() -> None:
    assert parse_api_keys(["a,b", " b , c ", ""]) == ["a", "b", "c"]
    with pytest.raises(ServeAccessError):
        parse_api_keys(["has space"])
    ring = KeyRing(["alpha", "beta"])
    assert ring.accepts("alpha") and ring.accepts("beta")
    assert not any(ring.accepts(k) for k in [None, "", "alph", "alphaa", "ALPHA", "beta\n"])
