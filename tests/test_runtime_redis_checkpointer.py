"""RedisCheckpointSaver against a real Redis server started without any modules."""

from __future__ import annotations

import dataclasses
import logging
import operator
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, TypedDict

import ormsgpack
import pydantic
import pytest
import redis
import redis.asyncio
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.base import ERROR, INTERRUPT, empty_checkpoint
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.spec.test_delete_thread import ALL_DELETE_THREAD_TESTS
from langgraph.checkpoint.conformance.spec.test_get_tuple import ALL_GET_TUPLE_TESTS
from langgraph.checkpoint.conformance.spec.test_list import ALL_LIST_TESTS
from langgraph.checkpoint.conformance.spec.test_put import ALL_PUT_TESTS
from langgraph.checkpoint.conformance.spec.test_put_writes import ALL_PUT_WRITES_TESTS
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from redis.crc import key_slot
from tests_support import free_port

from hanlin.runtime.redis_checkpointer import CheckpointStoreError, RedisCheckpointSaver

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> str:
    return f"test-ckpt-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def raw(plain_redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(plain_redis_url)
    yield client
    client.close()


@pytest.fixture
def saver(plain_redis_url: str, prefix: str) -> Iterator[RedisCheckpointSaver]:
    with RedisCheckpointSaver(plain_redis_url, prefix=prefix) as made:
        yield made


def _keys(raw: redis.Redis, pattern: str) -> set[bytes]:
    return set(raw.scan_iter(match=pattern, count=1000))


def _config(thread: str, ns: str = "", checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _put(
    saver: RedisCheckpointSaver,
    config: dict[str, Any],
    values: dict[str, Any],
    new_versions: dict[str, Any],
    **metadata: Any,
) -> dict[str, Any]:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = dict(new_versions)
    return saver.put(config, checkpoint, {"source": "loop", "step": 0, **metadata}, new_versions)


def test_server_runs_without_modules(raw: redis.Redis) -> None:
    assert raw.execute_command("MODULE", "LIST") == []
    with pytest.raises(redis.ResponseError):
        raw.execute_command("JSON.GET", "anything")


# --- LangGraph's published conformance suite -----------------------------------------


async def test_langgraph_conformance_suite(plain_redis_url: str, prefix: str) -> None:
    @checkpointer_test(name="RedisCheckpointSaver")
    async def redis_saver() -> Any:
        made = RedisCheckpointSaver(plain_redis_url, prefix=prefix)
        yield made
        await made.aclose()

    report = await validate(redis_saver)
    report.print_report()
    base = ["put", "put_writes", "get_tuple", "list", "delete_thread"]
    failures = [f for name in base for f in report.results[name].failures]
    assert failures == []
    assert report.passed_all_base()
    passed = sum(report.results[name].tests_passed for name in base)
    suite_size = sum(
        len(checks)
        for checks in (
            ALL_PUT_TESTS,
            ALL_PUT_WRITES_TESTS,
            ALL_GET_TUPLE_TESTS,
            ALL_LIST_TESTS,
            ALL_DELETE_THREAD_TESTS,
        )
    )
    assert passed == suite_size == 58


# --- a real graph: reducer, interrupt / resume, history, a second process's view ------


class FlowState(TypedDict):
    log: Annotated[list[str], operator.add]
    topic: str
    approved: str


def _build_flow() -> StateGraph:
    def draft(state: FlowState) -> dict[str, Any]:
        return {"log": [f"draft:{state['topic']}"]}

    def review(state: FlowState) -> dict[str, Any]:
        answer = interrupt({"question": f"approve {state['topic']}?"})
        return {"log": [f"review:{answer}"], "approved": answer}

    def publish(state: FlowState) -> dict[str, Any]:
        return {"log": [f"publish:{state['approved']}"]}

    builder = StateGraph(FlowState)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", "publish")
    builder.add_edge("publish", END)
    return builder


def test_graph_interrupt_resume_and_a_fresh_saver_continues(
    plain_redis_url: str, prefix: str
) -> None:
    config = {"configurable": {"thread_id": "flow-1"}}
    with RedisCheckpointSaver(plain_redis_url, prefix=prefix) as first:
        graph = _build_flow().compile(checkpointer=first)
        paused = graph.invoke({"topic": "redis", "log": []}, config)
        assert paused["__interrupt__"][0].value == {"question": "approve redis?"}
        state = graph.get_state(config)
        assert state.next == ("review",)
        assert state.values["log"] == ["draft:redis"]

    # A new saver with its own connections, as another worker would have.
    with RedisCheckpointSaver(plain_redis_url, prefix=prefix) as second:
        graph = _build_flow().compile(checkpointer=second)
        assert graph.get_state(config).next == ("review",)
        done = graph.invoke(Command(resume="yes"), config)
        assert done["log"] == ["draft:redis", "review:yes", "publish:yes"]
        assert done["approved"] == "yes"

        history = list(graph.get_state_history(config))
        steps = [snapshot.metadata["step"] for snapshot in history]
        assert steps == sorted(steps, reverse=True)  # newest first
        assert steps[0] == 3 and steps[-1] == -1
        assert history[0].next == ()
        assert history[-1].values == {"log": []}  # the input checkpoint: only the default

        # Continue the same thread: the reducer channel keeps accumulating.
        again = graph.invoke({"topic": "valkey"}, config)
        assert again["__interrupt__"][0].value == {"question": "approve valkey?"}
        resumed = graph.invoke(Command(resume="no"), config)
        assert resumed["log"][-3:] == ["draft:valkey", "review:no", "publish:no"]
        assert len(resumed["log"]) == 6


async def test_async_graph_matches_in_memory_saver(plain_redis_url: str, prefix: str) -> None:
    config = {"configurable": {"thread_id": "flow-async"}}
    results = []
    for checkpointer in (InMemorySaver(), RedisCheckpointSaver(plain_redis_url, prefix=prefix)):
        graph = _build_flow().compile(checkpointer=checkpointer)
        await graph.ainvoke({"topic": "t", "log": []}, config)
        final = await graph.ainvoke(Command(resume="ok"), config)
        history = [s async for s in graph.aget_state_history(config)]
        results.append((final, [(s.values, s.next, s.metadata["step"]) for s in history]))
    assert results[0] == results[1]


def _concat(state: list[int], writes: list[list[int]]) -> list[int]:
    return state + [item for write in writes for item in write]


class DeltaState(TypedDict):
    items: Annotated[list[int], DeltaChannel(_concat, snapshot_frequency=3)]
    count: int


def _build_delta_counter() -> StateGraph:
    def step(state: DeltaState) -> dict[str, Any]:
        return {"items": [state["count"]], "count": state["count"] + 1}

    builder = StateGraph(DeltaState)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: "step" if s["count"] % 7 else END)
    return builder


def test_delta_channel_history_matches_in_memory_saver(plain_redis_url: str, prefix: str) -> None:
    """Delta channels store sentinels and rebuild from ancestor writes through the saver."""
    config = {"configurable": {"thread_id": "delta"}}
    memory = _build_delta_counter().compile(checkpointer=InMemorySaver())
    expected = [memory.invoke({"items": [], "count": 1}, config), memory.invoke({}, config)]
    with RedisCheckpointSaver(plain_redis_url, prefix=prefix) as writer:
        graph = _build_delta_counter().compile(checkpointer=writer)
        assert graph.invoke({"items": [], "count": 1}, config) == expected[0]
    with RedisCheckpointSaver(plain_redis_url, prefix=prefix) as reader:
        graph = _build_delta_counter().compile(checkpointer=reader)
        assert graph.get_state(config).values == expected[0]
        assert graph.invoke({}, config) == expected[1]
    assert expected[1]["items"] == list(range(1, 14))


def test_unchanged_channels_are_not_rewritten(
    saver: RedisCheckpointSaver, raw: redis.Redis, prefix: str
) -> None:
    first = _put(saver, _config("t"), {"a": "big", "b": 1}, {"a": "1", "b": "1"})
    blob_keys = _keys(raw, f"{prefix}:*:blobs:*")
    assert len(blob_keys) == 1
    [blob_key] = blob_keys
    assert raw.hlen(blob_key) == 2

    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"a": "big", "b": 2}
    checkpoint["channel_versions"] = {"a": "1", "b": "2"}
    saver.put(first, checkpoint, {"source": "loop", "step": 1}, {"b": "2"})
    assert raw.hlen(blob_key) == 3  # only the new version of "b" was written

    latest = saver.get_tuple(_config("t"))
    assert latest is not None
    assert latest.checkpoint["channel_values"] == {"a": "big", "b": 2}
    assert latest.parent_config == first


def test_put_is_one_transaction(saver: RedisCheckpointSaver, raw: redis.Redis) -> None:
    def calls(command: str) -> int:
        return raw.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)

    before = (calls("multi"), calls("exec"))
    _put(saver, _config("tx"), {"a": 1}, {"a": "1"})
    assert (calls("multi"), calls("exec")) == (before[0] + 1, before[1] + 1)


# --- strict deserialization ----------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Profile(pydantic.BaseModel):
    name: str


class Opaque:
    def __init__(self) -> None:
        self.secret = 42


SAFE_VALUES = {
    "dict": {"nested": {"k": [1, 2.5, "three", None, True, False]}},
    "list": [1, "two", 3.0, None, {"x": [False]}],
    "str": "héllo 世界",
    "int": 2**62,
    "float": 0.1,
    "bool": True,
    "none": None,
    "when": datetime(2024, 5, 17, 8, 30, 1, 123456, tzinfo=timezone(timedelta(hours=8))),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
}


def test_safe_types_round_trip_exactly(saver: RedisCheckpointSaver) -> None:
    versions = {name: "1" for name in SAFE_VALUES}
    saved = _put(saver, _config("safe"), dict(SAFE_VALUES), versions, custom=SAFE_VALUES["str"])
    saver.put_writes(saved, [("when", SAFE_VALUES["when"]), ("id", SAFE_VALUES["id"])], "task-1")
    loaded = saver.get_tuple(saved)
    assert loaded is not None
    assert loaded.checkpoint["channel_values"] == SAFE_VALUES
    for name, value in SAFE_VALUES.items():
        assert type(loaded.checkpoint["channel_values"][name]) is type(value)
    assert loaded.metadata["custom"] == SAFE_VALUES["str"]
    assert loaded.pending_writes == [
        ("task-1", "when", SAFE_VALUES["when"]),
        ("task-1", "id", SAFE_VALUES["id"]),
    ]


def test_custom_classes_are_not_revived(
    saver: RedisCheckpointSaver, caplog: pytest.LogCaptureFixture
) -> None:
    values = {"point": Point(1, 2), "profile": Profile(name="ada")}
    saved = _put(saver, _config("strict"), values, {"point": "1", "profile": "1"})
    with caplog.at_level(logging.WARNING):
        loaded = saver.get_tuple(saved)
    assert loaded is not None
    # Blocked types come back as their plain field data, never as instances.
    assert loaded.checkpoint["channel_values"] == {
        "point": {"x": 1, "y": 2},
        "profile": {"name": "ada"},
    }
    assert "Blocked deserialization" in caplog.text

    # An object the serializer cannot describe is refused on write (no pickle fallback),
    # and the failed put leaves nothing behind.
    with pytest.raises(TypeError, match="not msgpack serializable"):
        _put(saver, _config("opaque"), {"thing": Opaque()}, {"thing": "1"})
    assert saver.get_tuple(_config("opaque")) is None


def test_allow_list_revives_only_listed_classes(plain_redis_url: str, prefix: str) -> None:
    allowed = RedisCheckpointSaver(
        plain_redis_url, prefix=prefix, allowed_msgpack_modules=[(__name__, "Point")]
    )
    saved = _put(
        allowed, _config("allow"), {"p": Point(3, 4), "m": Profile(name="x")}, {"p": "1", "m": "1"}
    )
    loaded = allowed.get_tuple(saved)
    assert loaded is not None
    assert loaded.checkpoint["channel_values"] == {"p": Point(3, 4), "m": {"name": "x"}}
    allowed.close()


def test_injected_payloads_never_run(
    saver: RedisCheckpointSaver, raw: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    """Someone with write access to Redis plants a constructor call; loading must not run it."""
    marker = tmp_path / "pwned"
    saved = _put(saver, _config("evil"), {"c": "harmless"}, {"c": "1"})
    [blob_key] = _keys(raw, f"{prefix}:*:blobs:*")
    [field] = raw.hkeys(blob_key)
    call = ormsgpack.packb(("os", "system", f"touch {marker}"))
    raw.hset(blob_key, field, b"msgpack\0" + ormsgpack.packb(ormsgpack.Ext(0, call)))
    loaded = saver.get_tuple(saved)
    assert loaded is not None
    assert loaded.checkpoint["channel_values"]["c"] == f"touch {marker}"  # the raw argument
    assert not marker.exists()

    raw.hset(blob_key, field, b"pickle\0" + b"cos\nsystem\n(S'true'\ntR.")
    with pytest.raises(NotImplementedError, match="pickle"):
        saver.get_tuple(saved)


# --- list, writes, delete ------------------------------------------------------------


def test_list_order_filter_limit_before(saver: RedisCheckpointSaver) -> None:
    ids, parent = [], _config("L")
    for step in range(5):
        source = "input" if step % 2 == 0 else "loop"
        parent = _put(saver, parent, {}, {}, source=source, step=step)
        ids.append(parent["configurable"]["checkpoint_id"])
    _put(saver, _config("L", ns="child:1"), {}, {}, step=9)
    _put(saver, _config("other"), {}, {}, step=7)

    def listed(config: dict[str, Any] | None, **kwargs: Any) -> list[str]:
        return [t.checkpoint["id"] for t in saver.list(config, **kwargs)]

    assert listed(_config("L")) == ids[::-1]
    assert listed(_config("L"), limit=2) == ids[:2:-1]
    assert listed(_config("L"), before=_config("L", checkpoint_id=ids[3])) == ids[2::-1]
    assert listed(_config("L"), before=_config("L", checkpoint_id=ids[3]), limit=1) == [ids[2]]
    assert listed(_config("L"), filter={"source": "loop"}) == [ids[3], ids[1]]
    assert listed(_config("L"), filter={"source": "input", "step": 2}) == [ids[2]]
    assert listed(_config("L"), filter={"source": "input"}, limit=2) == [ids[4], ids[2]]
    assert listed(_config("L"), filter={"step": 99}) == []
    assert listed(_config("L", checkpoint_id=ids[1])) == [ids[1]]
    assert listed(_config("L"), limit=0) == []
    assert listed(_config("missing")) == []
    # Without checkpoint_ns, every namespace of the thread is listed.
    no_ns = {"configurable": {"thread_id": "L"}}
    assert len(listed(no_ns)) == 6
    # Without a config, every thread under this prefix is listed.
    threads = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
    assert threads == {"L", "other"}
    assert [t.metadata["step"] for t in saver.list(None, filter={"step": 7})] == [7]


def test_put_writes_keeps_regular_and_upserts_special(saver: RedisCheckpointSaver) -> None:
    saved = _put(saver, _config("w"), {}, {})
    saver.put_writes(saved, [("a", 1), ("b", 2)], "task-b", "~b")
    saver.put_writes(saved, [("a", 100), ("b", 200)], "task-b", "~b")  # a retry: kept as is
    saver.put_writes(saved, [(ERROR, "first")], "task-b", "~b")
    saver.put_writes(saved, [(ERROR, "second")], "task-b", "~b")  # special: replaced
    saver.put_writes(saved, [("c", 3)], "task-a", "~a")
    saver.put_writes(saved, [(INTERRUPT, {"q": 1})], "task-a", "~a")
    loaded = saver.get_tuple(saved)
    assert loaded is not None
    # Sorted by (task_path, task_id, idx), as live execution applies them.
    assert loaded.pending_writes == [
        ("task-a", INTERRUPT, {"q": 1}),
        ("task-a", "c", 3),
        ("task-b", ERROR, "second"),
        ("task-b", "a", 1),
        ("task-b", "b", 2),
    ]


def test_delete_thread_removes_every_key_of_that_thread_only(
    saver: RedisCheckpointSaver, raw: redis.Redis, prefix: str, plain_redis_url: str
) -> None:
    raw.set(f"unrelated-{prefix}", "stay")
    neighbour = RedisCheckpointSaver(plain_redis_url, prefix=f"{prefix}-other")
    for target in (saver, neighbour):
        for thread in ("doomed", "kept"):
            for ns in ("", "sub:graph"):
                saved = _put(target, _config(thread, ns), {"v": thread}, {"v": "1"})
                target.put_writes(saved, [("v", "w")], "task")
    everything_before = _keys(raw, "*")
    doomed = {key for key in everything_before if key.startswith(f"{prefix}:{{doomed}}".encode())}
    assert len(doomed) == 10  # ns, registry, and per namespace: index, blobs, ckpt, writes

    saver.delete_thread("doomed")
    assert _keys(raw, "*") == everything_before - doomed
    assert saver.get_tuple(_config("doomed")) is None
    assert list(saver.list(_config("doomed"))) == []
    assert neighbour.get_tuple(_config("doomed")) is not None
    saver.delete_thread("never-existed")  # a no-op
    neighbour.delete_thread("doomed")
    neighbour.delete_thread("kept")
    neighbour.close()


def test_awkward_ids_stay_in_one_cluster_slot(
    saver: RedisCheckpointSaver, raw: redis.Redis, prefix: str
) -> None:
    thread, ns = "team:a{b}*?[x] 世", "outer:1|inner:{2}"
    saved = _put(saver, _config(thread, ns), {"v": 1}, {"v": "1"})
    saver.put_writes(saved, [("v", 2)], "task")
    keys = _keys(raw, f"{prefix}:*")
    assert len(keys) == 6
    assert len({key_slot(key) for key in keys}) == 1
    assert [t.config["configurable"]["thread_id"] for t in saver.list(None)] == [thread]
    found = saver.get_tuple(_config(thread, ns))
    assert found is not None and found.config["configurable"]["checkpoint_ns"] == ns
    saver.delete_thread(thread)
    assert _keys(raw, f"{prefix}:*") == set()


def test_ttl_applies_to_every_key_and_expires_the_thread(
    plain_redis_url: str, prefix: str, raw: redis.Redis
) -> None:
    with RedisCheckpointSaver(plain_redis_url, prefix=prefix, ttl_seconds=1) as short:
        saved = _put(short, _config("ttl"), {"v": 1}, {"v": "1"})
        short.put_writes(saved, [("v", 2)], "task")
        keys = _keys(raw, f"{prefix}:*")
        assert len(keys) == 6
        assert all(0 < raw.pttl(key) <= 1000 for key in keys)
        time.sleep(1.2)
        assert short.get_tuple(_config("ttl")) is None
        assert _keys(raw, f"{prefix}:*") == set()


# --- sync and async agree; errors ----------------------------------------------------


async def test_sync_and_async_apis_agree(plain_redis_url: str, prefix: str) -> None:
    saver = RedisCheckpointSaver(plain_redis_url, prefix=prefix)
    parent = _config("sa")
    for step in range(3):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"n": step}
        checkpoint["channel_versions"] = {"n": str(step)}
        metadata = {"source": "loop", "step": step}
        if step % 2:
            parent = await saver.aput(parent, checkpoint, metadata, {"n": str(step)})
            await saver.aput_writes(parent, [("n", step * 10)], "t", "p")
        else:
            parent = saver.put(parent, checkpoint, metadata, {"n": str(step)})
            saver.put_writes(parent, [("n", step * 10)], "t", "p")
    sync_list = list(saver.list(_config("sa")))
    async_list = [t async for t in saver.alist(_config("sa"))]
    assert sync_list == async_list and len(sync_list) == 3
    assert saver.get_tuple(parent) == await saver.aget_tuple(parent)
    assert [t async for t in saver.alist(_config("sa"), limit=1)] == sync_list[:1]
    assert [t async for t in saver.alist(None, filter={"step": 1})] == sync_list[1:2]

    # A saver given only a sync client still serves the async API (off the event loop).
    client = redis.Redis.from_url(plain_redis_url)
    sync_only = RedisCheckpointSaver(client=client, prefix=prefix)
    assert await sync_only.aget_tuple(parent) == sync_list[0]
    await saver.adelete_thread("sa")
    assert saver.get_tuple(_config("sa")) is None
    client.close()
    await saver.aclose()


async def test_async_only_saver_refuses_sync_calls(plain_redis_url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(plain_redis_url)
    saver = RedisCheckpointSaver(async_client=client, prefix=prefix)
    assert await saver.aget_tuple(_config("x")) is None
    with pytest.raises(CheckpointStoreError, match="only an async client"):
        saver.get_tuple(_config("x"))
    await client.aclose()


def test_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    saver = RedisCheckpointSaver(url)
    with pytest.raises(CheckpointStoreError) as caught:
        saver.get_tuple(_config("x"))
    message = str(caught.value)
    assert f"redis://user:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "s3cret" not in message


async def test_unreachable_redis_is_a_clear_error_in_async_too() -> None:
    saver = RedisCheckpointSaver(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(CheckpointStoreError, match="Redis checkpoint store at redis://127"):
        await saver.aput(_config("x"), empty_checkpoint(), {}, {})


def test_bad_construction_is_refused(plain_redis_url: str) -> None:
    with pytest.raises(ValueError, match="url=, client= or async_client="):
        RedisCheckpointSaver()
    with pytest.raises(ValueError, match="braces"):
        RedisCheckpointSaver(plain_redis_url, prefix="a{b}")
    with pytest.raises(ValueError, match="decode_responses"):
        RedisCheckpointSaver(client=redis.Redis.from_url(plain_redis_url, decode_responses=True))
    with pytest.raises(ValueError, match="ttl_seconds"):
        RedisCheckpointSaver(plain_redis_url, ttl_seconds=0)
    with pytest.raises(ValueError, match="thread_id"):
        RedisCheckpointSaver(plain_redis_url).get_tuple({"configurable": {}})
