"""More open streams than the API's Redis connections: requests wait for a connection instead
of failing. Each open stream holds a connection for its blocking read, so a fixed pool that
refuses when full turned the 101st concurrent stream into a 500."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from service_support import Service
from tests_support import free_port

CONNECTIONS, STREAMS = 4, 10


@pytest.fixture(scope="module")
def small_pool_service(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("service-capacity")
    (base / "work").mkdir()
    (base / "logs").mkdir()
    svc = Service(redis_url, f"c{uuid.uuid4().hex[:8]}", base / "work", base / "logs")
    try:
        port = free_port()
        svc.start_api(port, "--redis-connections", str(CONNECTIONS))
        svc.api_url = f"http://127.0.0.1:{port}"
        svc.wait_ready(svc.start_worker())
        yield svc
    finally:
        svc.stop()


async def test_more_streams_than_redis_connections_all_finish(small_pool_service: Service) -> None:
    block: Path = small_pool_service.workdir / "hold.block"
    block.touch()  # every run waits in its tool until all streams are open
    client = get_client(url=small_pool_service.api_url)
    threads = [await client.threads.create() for _ in range(STREAMS)]

    async def stream(thread_id: str, name: str) -> list[str]:
        parts = client.runs.stream(
            thread_id,
            "react",
            input={"messages": [{"role": "user", "content": f"hold {name}"}]},
            stream_mode="custom",
        )
        return [part.event async for part in parts]

    tasks = [asyncio.create_task(stream(t["thread_id"], f"s{i}")) for i, t in enumerate(threads)]
    await asyncio.sleep(3)  # all streams open and reading, more than the pool holds
    block.unlink()
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    await client.aclose()
    assert all(events[0] == "metadata" and events[-1] == "end" for events in results), results
    assert "Traceback" not in small_pool_service.log(small_pool_service.processes[0])
