"""Which vector index serves a memory store: Redis's Query Engine when the server has it (or
config demands it), else the in-process numpy index over the same hashes."""

from __future__ import annotations

import redis.asyncio as aioredis

from hanlin.memory.numpy_index import NumpyVectorIndex
from hanlin.memory.records import KeySpace
from hanlin.memory.vector_index import (
    RedisVectorIndex,
    VectorIndex,
    VectorIndexConfig,
    server_has_search,
)


async def open_vector_index(
    client: aioredis.Redis, keys: KeySpace, dim: int, config: VectorIndexConfig
) -> VectorIndex:
    """The index for this server: Redis when it has search (or config says so), else numpy."""
    backend = config.backend
    if backend == "auto":
        backend = "redis" if await server_has_search(client) else "numpy"
    elif backend == "redis" and not await server_has_search(client):
        raise RuntimeError(
            "the memory vector index was configured with backend='redis', but this Redis server "
            "has no search module (FT.* commands); use Redis Stack or Redis 8+, or set "
            "backend='auto' or 'numpy' to search in process"
        )
    index: VectorIndex
    if backend == "redis":
        index = RedisVectorIndex(client, keys, dim, config)
    else:
        index = NumpyVectorIndex(client, keys, dim, config)
    await index.prepare()
    return index
