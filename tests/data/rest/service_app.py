"""A small weather + todo REST service for the REST plugin tests, with its real OpenAPI document.

FastAPI generates ``/openapi.json`` from the routes, so the plugin is tested against a
document written by a widely used generator, not one shaped to fit the plugin.
"""

import asyncio
from collections import Counter
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

TOKEN = "s3cr3t-token-4242"  # a test credential


class TodoIn(BaseModel):
    """A todo to create."""

    title: str = Field(description="What to do.")
    priority: int = Field(default=1, ge=1, le=5)
    tags: list[str] = Field(default_factory=list)


class Todo(TodoIn):
    id: int


def create_app() -> FastAPI:
    app = FastAPI(title="Weather and Todos", version="1.0")
    hits: Counter[str] = Counter()
    todos: dict[int, Todo] = {}
    bearer = HTTPBearer(auto_error=False)
    app.state.hits = hits

    def user(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        if credentials is None or credentials.credentials != TOKEN:
            raise HTTPException(401, detail="invalid or missing bearer token")
        return "alice"

    @app.get("/weather/{city}", operation_id="get_weather", summary="Current weather for a city")
    def get_weather(
        city: str,
        units: Literal["metric", "imperial"] = "metric",
        days: Annotated[int, Query(ge=1, le=7)] = 1,
        x_request_id: Annotated[str | None, Header()] = None,
    ) -> dict[str, object]:
        temperature = 21 if units == "metric" else 70
        return {
            "city": city,
            "units": units,
            "days": days,
            "temperature": temperature,
            "sky": "sunny",
            "request_id": x_request_id,
        }

    @app.post("/todos", operation_id="create_todo", status_code=201, summary="Create a todo")
    def create_todo(todo: TodoIn) -> Todo:
        hits["create_todo"] += 1
        if not todo.title.strip():
            raise HTTPException(422, detail={"error": "title must not be blank"})
        created = Todo(id=len(todos) + 1, **todo.model_dump())
        todos[created.id] = created
        return created

    @app.get("/todos/{todo_id}", operation_id="get_todo", summary="Read one todo")
    def get_todo(todo_id: int) -> Todo:
        hits["get_todo"] += 1
        if todo_id not in todos:
            raise HTTPException(404, detail=f"todo {todo_id} not found")
        return todos[todo_id]

    @app.get("/me", operation_id="whoami", summary="Who the caller is")
    def whoami(name: Annotated[str, Depends(user)]) -> dict[str, str]:
        return {"user": name}

    @app.get("/echo-auth", operation_id="echo_auth", summary="Echo the Authorization header")
    def echo_auth(request: Request, name: Annotated[str, Depends(user)]) -> dict[str, str]:
        return {"user": name, "received": request.headers.get("authorization", "")}

    header_key = APIKeyHeader(name="X-Service-Key", auto_error=False)
    query_key = APIKeyQuery(name="key", auto_error=False)

    @app.get("/keyed/header", operation_id="keyed_header", summary="Needs an API key header")
    def keyed_header(
        request: Request, key: Annotated[str | None, Depends(header_key)]
    ) -> dict[str, str]:
        if key != TOKEN:
            raise HTTPException(403, detail="bad api key")
        return {"user": "alice", "query": request.url.query}

    @app.get("/keyed/query", operation_id="keyed_query", summary="Needs an API key in the query")
    def keyed_query(
        request: Request, limit: int = 10, key: Annotated[str | None, Depends(query_key)] = None
    ) -> dict[str, str]:
        if key != TOKEN:
            raise HTTPException(403, detail=f"bad api key in {request.url.query}")
        return {"user": "alice", "query": request.url.query}

    @app.get("/flaky", operation_id="flaky", summary="Rate limits, fails, then works")
    def flaky(key: str) -> dict[str, object]:
        hits[f"flaky:{key}"] += 1
        if hits[f"flaky:{key}"] == 1:
            raise HTTPException(429, detail="slow down", headers={"Retry-After": "0"})
        if hits[f"flaky:{key}"] == 2:
            raise HTTPException(500, detail="temporarily broken")
        return {"ok": True, "attempt": hits[f"flaky:{key}"]}

    @app.post("/broken", operation_id="broken_post", summary="Always fails")
    def broken_post(key: str) -> dict[str, object]:
        hits[f"broken:{key}"] += 1
        raise HTTPException(503, detail="down for maintenance")

    @app.get("/text", operation_id="get_text", response_class=PlainTextResponse)
    def get_text() -> str:
        return "plain text: hello"

    @app.get("/huge", operation_id="get_huge", summary="An endless stream of bytes")
    def get_huge() -> StreamingResponse:
        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10_000):  # 640 MB: far more than any reader should take
                yield b"x" * 65536

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/slow", operation_id="slow", summary="Answers after a while")
    async def slow(request: Request, seconds: float) -> dict[str, bool]:
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:  # stop once the client gives up
            if await request.is_disconnected():
                return {"done": False}
            await asyncio.sleep(0.05)
        return {"done": True}

    return app
