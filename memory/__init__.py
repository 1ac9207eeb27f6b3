"""Long-term memory: MemoryBank-style store in Redis with Ebbinghaus forgetting."""

from hanlin.llm.embeddings import (
    Embedder,
    EmbeddingBackendMissing,
    MultilingualE5Embedder,
    default_embedder,
)
from hanlin.memory.augment import MemoryContext, build_memory_context
from hanlin.memory.forgetting import (
    Clock,
    ForgettingCurve,
    ManualClock,
    SweepMode,
    SystemClock,
    forget_cutoffs,
    recalled,
)
from hanlin.memory.inputs import MemoryInputError
from hanlin.memory.numpy_index import NumpyVectorIndex
from hanlin.memory.records import (
    FORGETTABLE_KINDS,
    MEMORY_KINDS,
    MemoryKind,
    MemoryRecord,
    MemoryView,
    ScoredMemory,
    SweepReport,
)
from hanlin.memory.retrying import RetryPolicy
from hanlin.memory.short_term import (
    EstimatedTokenCounter,
    ShortTermMemory,
    TokenCounter,
    token_counter_for,
)
from hanlin.memory.store import MemoryStore, MemoryStoreConfig, MemoryStoreError
from hanlin.memory.summarizer import MemorySummarizer
from hanlin.memory.vector_index import (
    RedisVectorIndex,
    VectorFilter,
    VectorHit,
    VectorIndexConfig,
    server_has_search,
)

__all__ = [
    "EstimatedTokenCounter",
    "MemoryContext",
    "MemoryInputError",
    "MemorySummarizer",
    "ShortTermMemory",
    "TokenCounter",
    "build_memory_context",
    "token_counter_for",
    "FORGETTABLE_KINDS",
    "MEMORY_KINDS",
    "Clock",
    "Embedder",
    "EmbeddingBackendMissing",
    "ForgettingCurve",
    "ManualClock",
    "MemoryKind",
    "MemoryRecord",
    "MemoryStore",
    "MemoryStoreConfig",
    "MemoryStoreError",
    "MemoryView",
    "MultilingualE5Embedder",
    "NumpyVectorIndex",
    "RedisVectorIndex",
    "RetryPolicy",
    "ScoredMemory",
    "SweepMode",
    "SweepReport",
    "SystemClock",
    "VectorFilter",
    "VectorHit",
    "VectorIndexConfig",
    "default_embedder",
    "forget_cutoffs",
    "recalled",
    "server_has_search",
]
