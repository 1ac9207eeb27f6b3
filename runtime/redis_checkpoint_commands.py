"""The Redis commands behind each checkpoint operation, kept free of I/O.

Each operation is a generator that yields ``Batch``es of Redis commands, receives their
replies, and yields ``Emit``s carrying results; ``RedisCheckpointSaver`` runs the same
generators with a sync or an async client, so the logic exists once.

Only core commands are used (hashes, sets, sorted sets, MULTI/EXEC), so this works on
Redis, Redis Stack and Valkey, with or without modules. Key layout (T thread id,
N namespace, C checkpoint id; each percent-encoded so that ``:``, braces and glob characters
never appear raw; ``{T}`` is a Redis Cluster hash tag, so a thread's keys share one slot):

    P:{T}:ns            SET   namespaces that hold checkpoints
    P:{T}:keys          SET   every other key of the thread (what delete_thread removes)
    P:{T}:idx:N         ZSET  checkpoint ids, all score 0: lexical order is time order (UUIDv6)
    P:{T}:blobs:N       HASH  packed (channel, version) -> typed value, written once per version
    P:{T}:ckpt:N:C      HASH  checkpoint (without values), metadata, parent id
    P:{T}:writes:N:C    HASH  packed (task_id, idx) -> packed pending write
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import ormsgpack
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)

_PAGE = 100
_DELETE_CHUNK = 500
# Printable ASCII left readable in key parts; everything else (':', '{', '}', '%', glob
# characters, whitespace, non-ASCII) is percent-encoded.
_KEY_SAFE = "!\"#$&'()+,/;<=>@^`|~"
_GLOB_CHARS = "*?[]\\"


@dataclass(frozen=True)
class Batch:
    """Redis commands to send in one round trip, atomically when ``transaction``."""

    commands: list[tuple[Any, ...]]
    transaction: bool = False


@dataclass(frozen=True)
class Emit:
    """A result handed to the caller of a protocol generator."""

    value: Any


CommandProtocol = Generator[Batch | Emit, list[Any], Any]


def _enc(part: str) -> str:
    return quote(part, safe=_KEY_SAFE)


def _pack(value: Any) -> bytes:
    return ormsgpack.packb(value)


def _unpack(raw: bytes) -> Any:
    # No ext_hook: our envelopes hold only plain strings, ints and bytes.
    return ormsgpack.unpackb(raw)


def _typed_to_bytes(typed: tuple[str, bytes]) -> bytes:
    type_, data = typed
    if "\0" in type_:
        raise ValueError(f"serializer type tag {type_!r} must not contain NUL")
    return type_.encode() + b"\0" + bytes(data)


def _typed_from_bytes(raw: bytes) -> tuple[str, bytes]:
    type_, _, data = raw.partition(b"\0")
    return type_.decode(), data


def _blob_field(channel: str, version: str | float) -> bytes:
    return _pack([channel, version])


def _thread_config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _thread_id(config: RunnableConfig) -> str:
    thread_id = config.get("configurable", {}).get("thread_id")
    if thread_id is None or thread_id == "":
        raise ValueError("config['configurable']['thread_id'] is required for checkpoints")
    return str(thread_id)


class CheckpointKeys:
    """Key names under one prefix (see the module docstring for the layout)."""

    def __init__(self, prefix: str) -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError(f"prefix must be non-empty and free of braces, got {prefix!r}")
        self.prefix = prefix

    def thread(self, t: str) -> str:
        return f"{self.prefix}:{{{_enc(t)}}}"

    def namespaces(self, t: str) -> str:
        return f"{self.thread(t)}:ns"

    def registry(self, t: str) -> str:
        return f"{self.thread(t)}:keys"

    def index(self, t: str, ns: str) -> str:
        return f"{self.thread(t)}:idx:{_enc(ns)}"

    def blobs(self, t: str, ns: str) -> str:
        return f"{self.thread(t)}:blobs:{_enc(ns)}"

    def checkpoint(self, t: str, ns: str, cid: str) -> str:
        return f"{self.thread(t)}:ckpt:{_enc(ns)}:{_enc(cid)}"

    def writes(self, t: str, ns: str, cid: str) -> str:
        return f"{self.thread(t)}:writes:{_enc(ns)}:{_enc(cid)}"

    def namespaces_pattern(self) -> str:
        escaped = "".join("\\" + ch if ch in _GLOB_CHARS else ch for ch in self.prefix)
        return f"{escaped}:{{*}}:ns"

    def thread_of_namespaces_key(self, key: str) -> str:
        return unquote(key[len(self.prefix) + 2 : -len("}:ns")])


class CheckpointCommands:
    """Checkpoint operations as command protocols, mirroring ``InMemorySaver``'s semantics."""

    def __init__(self, keys: CheckpointKeys, serde: SerializerProtocol, ttl: int | None) -> None:
        self.keys = keys
        self.serde = serde
        self.ttl = ttl

    def _expire(self, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        return [] if self.ttl is None else [("EXPIRE", key, self.ttl) for key in keys]

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> CommandProtocol:
        t, ns = _thread_id(config), config["configurable"].get("checkpoint_ns", "")
        cid, parent = checkpoint["id"], config["configurable"].get("checkpoint_id")
        stored = checkpoint.copy()
        values: dict[str, Any] = stored.pop("channel_values")  # type: ignore[misc]
        k = self.keys
        blob_args: list[Any] = []
        for channel, version in new_versions.items():
            typed = self.serde.dumps_typed(values[channel]) if channel in values else ("empty", b"")
            blob_args += [_blob_field(channel, version), _typed_to_bytes(typed)]
        meta = self.serde.dumps_typed(get_checkpoint_metadata(config, metadata))
        shared = [k.namespaces(t), k.registry(t), k.index(t, ns), k.blobs(t, ns)]
        ckpt_key = k.checkpoint(t, ns, cid)
        commands: list[tuple[Any, ...]] = []
        if blob_args:
            commands.append(("HSET", k.blobs(t, ns), *blob_args))
        commands += [
            (
                "HSET",
                ckpt_key,
                "checkpoint",
                _typed_to_bytes(self.serde.dumps_typed(stored)),
                "metadata",
                _typed_to_bytes(meta),
                "parent",
                parent or "",
            ),
            ("SADD", k.namespaces(t), ns),
            ("SADD", k.registry(t), *shared, ckpt_key),
            ("ZADD", k.index(t, ns), 0, cid),  # last write: readers find only whole checkpoints
            *self._expire([*shared, ckpt_key]),
        ]
        yield Batch(commands, transaction=True)
        yield Emit(_thread_config(t, ns, cid))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> CommandProtocol:
        t, ns = _thread_id(config), config["configurable"].get("checkpoint_ns", "")
        cid = config["configurable"]["checkpoint_id"]
        k = self.keys
        writes_key = k.writes(t, ns, cid)
        commands: list[tuple[Any, ...]] = []
        for idx, (channel, value) in enumerate(writes):
            write_idx = WRITES_IDX_MAP.get(channel, idx)
            type_, data = self.serde.dumps_typed(value)
            packed = _pack([task_id, channel, type_, bytes(data), task_path])
            # Special channels (negative index) are upserted; regular writes are kept as first seen.
            verb = "HSET" if write_idx < 0 else "HSETNX"
            commands.append((verb, writes_key, _pack([task_id, write_idx]), packed))
        if not commands:
            return
        commands.append(("SADD", k.registry(t), writes_key))
        touched = [writes_key, k.checkpoint(t, ns, cid), k.registry(t), k.namespaces(t)]
        commands += self._expire([*touched, k.index(t, ns), k.blobs(t, ns)])
        yield Batch(commands, transaction=True)

    def delete_thread(self, thread_id: str) -> CommandProtocol:
        registry = self.keys.registry(str(thread_id))
        [members] = yield Batch([("SMEMBERS", registry)])
        keys = sorted(members)
        for start in range(0, len(keys), _DELETE_CHUNK):
            yield Batch([("DEL", *keys[start : start + _DELETE_CHUNK])], transaction=True)
        yield Batch([("DEL", registry)])

    def get_tuple(self, config: RunnableConfig) -> CommandProtocol:
        t, ns = _thread_id(config), config["configurable"].get("checkpoint_ns", "")
        cid = get_checkpoint_id(config)
        if not cid:
            [latest] = yield Batch(
                [("ZREVRANGEBYLEX", self.keys.index(t, ns), "+", "-", "LIMIT", 0, 1)]
            )
            if not latest:
                return
            cid = latest[0].decode()
        loaded = yield from self._load(t, ns, [cid])
        if loaded:
            found = loaded[0]
            if get_checkpoint_id(config):
                found = found._replace(config=config)
            yield Emit(found)

    def list(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> CommandProtocol:
        """Matching checkpoints, newest first per namespace; the driver stops after ``limit``."""
        if limit is not None and limit <= 0:
            return
        page = _PAGE if filter or limit is None else min(_PAGE, limit)
        before_id = get_checkpoint_id(before) if before else None
        upper, lower = (f"({before_id}" if before_id else "+"), "-"
        if config is not None and (wanted_id := get_checkpoint_id(config)):
            if before_id and wanted_id >= before_id:
                return
            upper = lower = f"[{wanted_id}"
        for t, ns in (yield from self._namespaces(config)):
            yield from self._list_namespace(t, ns, upper, lower, filter, page)

    def _namespaces(self, config: RunnableConfig | None) -> CommandProtocol:
        """(thread, namespace) pairs to list: one thread or all of them, one namespace or all."""
        if config is None:
            threads, wanted = (yield from self._scan_threads()), None
        else:
            threads, wanted = [_thread_id(config)], config["configurable"].get("checkpoint_ns")
        if wanted is not None:
            return [(t, wanted) for t in threads]
        replies = yield Batch([("SMEMBERS", self.keys.namespaces(t)) for t in threads])
        return [
            (t, ns)
            for t, members in zip(threads, replies, strict=False)
            for ns in sorted(member.decode() for member in members)
        ]

    def _list_namespace(
        self,
        t: str,
        ns: str,
        upper: str,
        lower: str,
        filter: dict[str, Any] | None,
        page: int,
    ) -> CommandProtocol:
        index = self.keys.index(t, ns)
        while True:
            [raw] = yield Batch([("ZREVRANGEBYLEX", index, upper, lower, "LIMIT", 0, page)])
            ids = [member.decode() for member in raw]
            wanted = (yield from self._matching(t, ns, ids, filter)) if filter else ids
            for found in (yield from self._load(t, ns, wanted)):
                yield Emit(found)
            if len(ids) < page:
                return
            upper = f"({ids[-1]}"

    def _scan_threads(self) -> CommandProtocol:
        pattern, cursor = self.keys.namespaces_pattern(), 0
        threads: set[str] = set()
        while True:
            [(cursor, keys)] = yield Batch([("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)])
            threads.update(self.keys.thread_of_namespaces_key(key.decode()) for key in keys)
            if int(cursor) == 0:
                return sorted(threads)

    def _matching(
        self, t: str, ns: str, ids: Sequence[str], filter: dict[str, Any]
    ) -> CommandProtocol:
        if not ids:
            return []
        k = self.keys
        raw = yield Batch([("HGET", k.checkpoint(t, ns, cid), "metadata") for cid in ids])
        kept: list[str] = []
        for cid, meta in zip(ids, raw, strict=True):
            if meta is None:
                continue
            metadata = self.serde.loads_typed(_typed_from_bytes(meta))
            if all(metadata.get(key) == value for key, value in filter.items()):
                kept.append(cid)
        return kept

    def _load(self, t: str, ns: str, ids: Sequence[str]) -> CommandProtocol:
        """Read whole checkpoint tuples: records and writes, then the blobs they need."""
        if not ids:
            return []
        k = self.keys
        replies = yield Batch(
            [
                c
                for cid in ids
                for c in (("HGETALL", k.checkpoint(t, ns, cid)), ("HGETALL", k.writes(t, ns, cid)))
            ]
        )
        loaded: list[Any] = []
        vanished: list[str] = []
        fields: set[Any] = set()
        for i, cid in enumerate(ids):
            record, writes = replies[2 * i], replies[2 * i + 1]
            if not record:  # expired or deleted since the index was read
                vanished.append(cid)
                continue
            checkpoint = self.serde.loads_typed(_typed_from_bytes(record[b"checkpoint"]))
            fields.update(_blob_field(ch, v) for ch, v in checkpoint["channel_versions"].items())
            loaded.append((cid, record, writes, checkpoint))
        if vanished:
            yield Batch([("ZREM", k.index(t, ns), *vanished)])
        ordered_fields = sorted(fields)
        blob_values = (
            (yield Batch([("HMGET", k.blobs(t, ns), *ordered_fields)]))[0] if ordered_fields else []
        )
        blobs = dict(zip(ordered_fields, blob_values, strict=False))
        return [self._tuple(t, ns, cid, rec, wr, ckpt, blobs) for cid, rec, wr, ckpt in loaded]

    def _tuple(
        self,
        t: str,
        ns: str,
        cid: str,
        record: dict[bytes, bytes],
        raw_writes: dict[bytes, bytes],
        checkpoint: Checkpoint,
        blobs: dict[bytes, bytes | None],
    ) -> CheckpointTuple:
        values: dict[str, Any] = {}
        for channel, version in checkpoint["channel_versions"].items():
            raw = blobs.get(_blob_field(channel, version))
            if raw is None:
                continue
            typed = _typed_from_bytes(raw)
            if typed[0] != "empty":
                values[channel] = self.serde.loads_typed(typed)
        writes = []
        for field, packed in raw_writes.items():
            task_id, write_idx = _unpack(field)
            _, channel, type_, data, task_path = _unpack(packed)
            writes.append(
                (writes_sort_key(task_path, task_id, write_idx), task_id, channel, (type_, data))
            )
        writes.sort(key=lambda w: w[0])
        parent = record.get(b"parent", b"").decode()
        return CheckpointTuple(
            config=_thread_config(t, ns, cid),
            checkpoint={**checkpoint, "channel_values": values},
            metadata=self.serde.loads_typed(_typed_from_bytes(record[b"metadata"])),
            parent_config=_thread_config(t, ns, parent) if parent else None,
            pending_writes=[(tid, ch, self.serde.loads_typed(v)) for _, tid, ch, v in writes],
        )
