"""``hanlin api`` and ``hanlin worker`` refuse unsafe or broken setups before serving."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from service_support import TESTS

from hanlin.service.api_auth import AuthConfigError, AuthPolicy, parse_api_keys


def hanlin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "HANLIN_API_KEYS"}
    full_env.update({"PYTHONPATH": str(TESTS), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "hanlin.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )


def test_serving_beyond_loopback_without_keys_is_refused() -> None:
    result = hanlin(
        "api",
        "--app",
        "workers.service_app:app",
        "--host",
        "0.0.0.0",
        "--redis-url",
        "redis://127.0.0.1:1/0",
    )
    assert result.returncode == 2
    assert "refusing to serve on '0.0.0.0'" in result.stderr and "--no-auth" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["api", "--app", "workers.service_app:app", "--api-key", "justakey"], "KEY=user"),
        (["api", "--app", "workers.service_app:nothing"], "has no attribute 'nothing'"),
        (["api", "--app", "no_such_module_here:app"], "cannot import"),
        (["worker", "--app", "workers.service_app:count"], "not a ServiceApp"),
        (["worker", "--app", "missing-colon"], "package.module:app"),
    ],
)
def test_bad_keys_and_apps_are_named_before_anything_starts(args: list[str], message: str) -> None:
    result = hanlin(*args, "--redis-url", "redis://127.0.0.1:1/0")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_keys_map_to_users_and_compare_whole() -> None:
    keys = parse_api_keys(["k1=alice", "k2=bob, k3=alice", ""])
    assert keys == {"k1": "alice", "k2": "bob", "k3": "alice"}
    policy = AuthPolicy(keys)
    assert [policy.user_for(k) for k in ("k1", "k2", "k3", "k", "k1 ", None)] == [
        "alice",
        "bob",
        "alice",
        None,
        None,
        None,
    ]
    for bad in (["k1=alice", "k1=bob"], ["key with space=x"], ["k=al ice"], ["=alice"]):
        with pytest.raises(AuthConfigError):
            parse_api_keys(bad)


async def test_without_keys_only_loopback_clients_are_served() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from hanlin.service.api_auth import ApiAuth

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.scope["state"]["user"]})

    def app(policy: AuthPolicy) -> ApiAuth:
        return ApiAuth(Starlette(routes=[Route("/me", whoami)]), policy)

    async def user(policy: AuthPolicy, client: str, **headers: str) -> tuple[int, object]:
        transport = httpx.ASGITransport(app=app(policy), client=(client, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/me", headers=headers)
            return response.status_code, response.json()

    assert await user(AuthPolicy({}), "127.0.0.1") == (200, {"user": "local"})
    status, body = await user(AuthPolicy({}), "10.1.2.3")
    assert status == 403 and body["code"] == "forbidden"  # type: ignore[index]
    assert await user(AuthPolicy({}, allow_no_auth=True), "10.1.2.3") == (
        200,
        {"user": "anonymous"},
    )
    keyed = AuthPolicy({"k1": "alice"})
    assert (await user(keyed, "127.0.0.1"))[0] == 401, "with keys, loopback needs one too"
    assert await user(keyed, "10.1.2.3", authorization="Bearer k1") == (200, {"user": "alice"})
    assert await user(keyed, "10.1.2.3", **{"x-api-key": "k1"}) == (200, {"user": "alice"})


async def test_only_a_frontend_key_may_act_for_someone() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from hanlin.service.api_auth import ApiAuth

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.scope["state"]["user"]})

    policy = AuthPolicy({"k1": "alice"}, frontend_keys={"f1": "chat"})
    unkeyed = AuthPolicy({})

    async def call(policy: AuthPolicy, **headers: str) -> tuple[int, object]:
        app = ApiAuth(Starlette(routes=[Route("/me", whoami)]), policy)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/me", headers=headers)
            return response.status_code, response.json()

    acting = {"x-hanlin-user": "browser-%E6%9D%8E"}  # percent-encoded UTF-8
    assert await call(policy, authorization="Bearer f1", **acting) == (200, {"user": "browser-李"})
    assert await call(policy, authorization="Bearer f1") == (200, {"user": "chat"})
    assert await call(policy, authorization="Bearer k1") == (200, {"user": "alice"})
    # A plain key, or no key at all, may not name someone else: refused, not served as itself.
    for refused in (call(policy, authorization="Bearer k1", **acting), call(unkeyed, **acting)):
        status, body = await refused
        assert status == 403 and "front-end key" in body["detail"]  # type: ignore[index]
    for bad in ("", "%FF%FE", "a\u0007b", "x" * 201):
        status, body = await call(policy, authorization="Bearer f1", **{"x-hanlin-user": bad})
        assert status == 400, (bad, status)
    with pytest.raises(AuthConfigError):
        AuthPolicy({"k1": "alice"}, frontend_keys={"k1": "chat"})


def test_the_chat_refuses_memory_only_with_a_remote_service() -> None:
    result = hanlin("ui", "--memory-only", "--api", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "--memory-only and --api exclude each other" in result.stderr


def test_the_chat_refuses_a_remote_service_without_a_frontend_key() -> None:
    result = hanlin("ui", "--api", "http://127.0.0.1:9", env={"HANLIN_UI_API_KEY": ""})
    assert result.returncode == 2
    assert "front-end key" in result.stderr
