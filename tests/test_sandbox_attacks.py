"""Attacks a model-written program might try: each must be blocked and leave the host as it was.

Every test runs in each isolation mode this host supports (bwrap, and the Landlock fallback).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hanlin.sandbox import Limits, SandboxMode, check_host, run_python, run_shell

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _supported_modes() -> list[SandboxMode]:
    report = check_host()
    modes = []
    if report.bwrap_works:
        modes.append(SandboxMode.BWRAP)
    if report.landlock_abi >= 1 and report.seccomp and report.landlock_python_reachable:
        modes.append(SandboxMode.LANDLOCK)
    return modes


@pytest.fixture(params=_supported_modes(), ids=lambda mode: mode.value)
def mode(request: pytest.FixtureRequest) -> SandboxMode:
    return request.param


def _cmdlines() -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            found[int(entry)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return found


def _marker_processes(marker: str) -> list[int]:
    """Live (non-zombie) host processes whose command line holds `marker`, polled briefly."""
    deadline = time.monotonic() + 3.0
    while True:
        pids = [pid for pid, cmd in _cmdlines().items() if marker in cmd]
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def _unique_sleep_seconds() -> str:
    """A sleep duration that doubles as a unique marker in the process list."""
    return f"{900 + random.randint(0, 99)}.{random.randint(10**8, 10**9)}"


def _host_still_works() -> None:
    done = subprocess.run(["/bin/echo", "alive"], capture_output=True, timeout=10, check=True)
    assert done.stdout == b"alive\n"


# --- reading what is not theirs ---------------------------------------------------------------


async def test_cannot_read_root_home(mode: SandboxMode) -> None:
    secret = Path(f"/root/hanlin-sandbox-secret-{uuid.uuid4().hex}")
    secret.write_text("root-only secret")
    try:
        result = await run_python(
            f"import os\n"
            f"try:\n    print(open({str(secret)!r}).read())\n"
            "except OSError as e:\n    print('DENIED', e)\n"
            "try:\n    print('LIST', os.listdir('/root'))\n"
            "except OSError as e:\n    print('LIST DENIED')\n",
            mode=mode,
        )
    finally:
        secret.unlink()
    assert "root-only secret" not in result.stdout
    assert result.stdout.startswith("DENIED")
    listing = result.stdout.splitlines()[-1]
    assert listing.startswith("LIST") and secret.name not in listing


async def test_cannot_read_etc_shadow(mode: SandboxMode) -> None:
    result = await run_shell("cat /etc/shadow; echo rc=$?", mode=mode)
    assert "root:" not in result.stdout
    assert "rc=1" in result.stdout
    assert Path("/etc/shadow").exists()  # the host file is untouched, only unreadable


async def test_host_environment_and_secrets_are_invisible(
    mode: SandboxMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    monkeypatch.setenv("HANLIN_TEST_SECRET", token)
    code = f"""
import os
print(dict(os.environ))
for pid in ['1', 'self', str(os.getppid()), {str(os.getpid())!r}]:
    try:
        print(pid, open(f'/proc/{{pid}}/environ', 'rb').read())
    except OSError as e:
        print(pid, 'DENIED', type(e).__name__)
try:
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                print(open(f'/proc/{{entry}}/environ', 'rb').read())
            except OSError:
                pass
except OSError as e:
    print('proc DENIED')
"""
    result = await run_python(code, mode=mode)
    assert result.exit_code == 0, result.stderr
    assert token not in result.stdout + result.stderr
    assert "HANLIN_TEST_SECRET" not in result.stdout
    shell = await run_shell("env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'", mode=mode)
    assert token not in shell.stdout + shell.stderr


# --- writing outside the scratch dir ----------------------------------------------------------


async def test_cannot_write_outside_scratch(mode: SandboxMode) -> None:
    canaries = [
        Path(f"/tmp/hanlin-canary-{uuid.uuid4().hex}"),
        Path(f"/usr/hanlin-canary-{uuid.uuid4().hex}"),
        Path(f"/root/hanlin-canary-{uuid.uuid4().hex}"),
    ]
    code = "".join(
        f"try:\n    open({str(path)!r}, 'w').write('pwned')\nexcept OSError as e:\n"
        f"    print('DENIED', type(e).__name__)\n"
        for path in canaries
    )
    result = await run_python(code + "open('inside.txt', 'w').write('ok')\n", mode=mode)
    # /usr and /root are refused; /tmp is refused (Landlock) or a private tmpfs (bwrap).
    assert result.stdout.count("DENIED") == (2 if mode is SandboxMode.BWRAP else 3)
    for path in canaries:
        assert not path.exists()
    assert [f.path for f in result.files] == ["inside.txt"]
    shell = await run_shell(f"touch {canaries[0]} /usr/bin/hanlin-x; echo rc=$?", mode=mode)
    assert "rc=1" in shell.stdout
    assert not canaries[0].exists() and not Path("/usr/bin/hanlin-x").exists()


# --- network ----------------------------------------------------------------------------------


@pytest.fixture
def tcp_listener() -> Iterator[tuple[int, list[str]]]:
    """A real TCP server on 127.0.0.1 recording every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            accepted.append(str(peer))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


async def test_network_is_unreachable(
    mode: SandboxMode, tcp_listener: tuple[int, list[str]]
) -> None:
    port, accepted = tcp_listener
    probe = socket.create_connection(("127.0.0.1", port), timeout=2)  # the listener works
    probe.close()
    await asyncio.sleep(0.3)
    assert len(accepted) == 1
    code = f"""
import socket
for family, target in [(socket.AF_INET, ('127.0.0.1', {port})), (socket.AF_INET6, ('::1', {port}))]:
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(target)
        print('CONNECTED')
    except OSError as e:
        print('BLOCKED', e)
try:
    print(socket.getaddrinfo('example.com', 80))
except OSError as e:
    print('DNS BLOCKED', e)
"""
    result = await run_python(code, mode=mode)
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("BLOCKED") == 3, result.stdout + result.stderr
    shell = await run_shell(f"echo hi > /dev/tcp/127.0.0.1/{port} && echo CONNECTED", mode=mode)
    assert "CONNECTED" not in shell.stdout
    await asyncio.sleep(0.3)
    assert len(accepted) == 1  # nothing from inside ever arrived


# --- resource exhaustion ----------------------------------------------------------------------


async def test_fork_bomb_is_contained(mode: SandboxMode) -> None:
    limits = Limits(timeout_s=3, processes=32)
    started = time.monotonic()
    result = await run_shell(":(){ :|:& };:; sleep 100", limits=limits, mode=mode)
    assert time.monotonic() - started < 15
    assert result.killed_reason == "timeout"
    _host_still_works()
    python = await run_python(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        limits=limits,
        mode=mode,
    )
    assert python.killed_reason == "timeout"
    _host_still_works()
    after = await run_python("print('fine')", mode=mode)
    assert after.stdout == "fine\n"


async def test_memory_bomb_is_stopped(mode: SandboxMode) -> None:
    limits = Limits(memory_mb=256)
    result = await run_python("b = bytearray(8 * 1024**3)", limits=limits, mode=mode)
    assert result.killed_reason == "memory"
    assert "MemoryError" in result.stderr
    grow = await run_python(
        "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024**2))",
        limits=limits,
        mode=mode,
    )
    assert grow.killed_reason == "memory"


async def test_infinite_loop_times_out(mode: SandboxMode) -> None:
    started = time.monotonic()
    result = await run_python("while True: pass", limits=Limits(timeout_s=1, cpu_s=60), mode=mode)
    assert result.killed_reason == "timeout"
    assert 0.9 < result.duration_s < 6
    assert time.monotonic() - started < 8


async def test_cpu_limit_stops_a_busy_loop(mode: SandboxMode) -> None:
    result = await run_python("while True: pass", limits=Limits(timeout_s=20, cpu_s=1), mode=mode)
    assert result.killed_reason == "cpu"
    assert result.duration_s < 10


async def test_sleeping_past_the_timeout(mode: SandboxMode) -> None:
    result = await run_shell("sleep 100", limits=Limits(timeout_s=1), mode=mode)
    assert result.killed_reason == "timeout"
    assert result.duration_s < 5
    python = await run_python("import time; time.sleep(100)", limits=Limits(timeout_s=1), mode=mode)
    assert python.killed_reason == "timeout"


async def test_huge_output_is_capped(mode: SandboxMode) -> None:
    limits = Limits(output_bytes=10_000, timeout_s=20)
    result = await run_python("while True:\n    print('x' * 1000)", limits=limits, mode=mode)
    assert result.killed_reason == "output_limit"
    assert result.stdout_truncated and result.truncated
    assert len(result.stdout.encode()) == 10_000
    assert result.duration_s < 10
    err = await run_shell("yes error >&2", limits=limits, mode=mode)
    assert err.killed_reason == "output_limit" and err.stderr_truncated


# --- the parent and the rest of the host ------------------------------------------------------


async def test_killing_the_parent_fails(mode: SandboxMode) -> None:
    bystander = await asyncio.create_subprocess_exec(  # a host process of the sandbox uid
        "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"
    )
    try:
        me = os.getpid()
        code = (
            "import os, signal\n"
            f"for pid in (os.getppid(), {me}, {bystander.pid}, 1):\n"
            "    try:\n        os.kill(pid, signal.SIGKILL)\n"
            "    except OSError as e:\n        print(pid, 'DENIED', type(e).__name__)\n"
            "print('still here')\n"
        )
        result = await run_python(code, mode=mode)
        shell = await run_shell(f"kill -9 {me}; kill -9 -1; echo survived", mode=mode)
        await asyncio.sleep(0.2)
        assert bystander.returncode is None, "a host process of uid 65534 was killed"
    finally:
        bystander.kill()
        await bystander.wait()
    assert result.stdout.endswith("still here\n"), result.stdout + result.stderr
    assert shell.killed_reason in ("signal", None)
    _host_still_works()  # and this test process is evidently alive


async def test_ptrace_is_blocked(mode: SandboxMode) -> None:
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
child = os.fork()
if child == 0:
    import time; time.sleep(5); os._exit(0)
for name, request, pid in [('traceme', 0, 0), ('attach', 16, child)]:
    rc = libc.ptrace(request, pid, None, None)
    print(name, rc, os.strerror(ctypes.get_errno()))
os.kill(child, 9)
"""
    result = await run_python(code, mode=mode)
    assert "traceme -1 Operation not permitted" in result.stdout, result.stdout + result.stderr
    assert "attach -1 Operation not permitted" in result.stdout


async def test_ctypes_syscalls_are_filtered(mode: SandboxMode) -> None:
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    rc = getattr(libc, name)(*args)
    print(name, rc, os.strerror(ctypes.get_errno()) if rc < 0 else '')
call('socket', 2, 1, 0)          # AF_INET
call('socket', 10, 1, 0)         # AF_INET6
call('socket', 16, 3, 0)         # AF_NETLINK
call('socket', 17, 3, 0)         # AF_PACKET
call('unshare', 0x10000000)      # CLONE_NEWUSER
call('unshare', 0x40000000)      # CLONE_NEWNET
call('mount', b'none', b'/tmp', b'tmpfs', 0, None)
call('syscall', 321, 0, 0, 0)    # bpf
call('syscall', 425, 8, 0)       # io_uring_setup
call('socket', 1, 1, 0)          # AF_UNIX stays allowed
"""
    result = await run_python(code, mode=mode)
    lines = result.stdout.splitlines()
    assert len(lines) == 10, result.stdout + result.stderr
    assert all(" -1 " in line for line in lines[:9]), result.stdout
    assert not lines[9].startswith("socket -1")


async def test_no_background_process_survives(mode: SandboxMode) -> None:
    nohup_marker = _unique_sleep_seconds()
    result = await run_shell(
        f"nohup sleep {nohup_marker} >/dev/null 2>&1 & echo started", mode=mode
    )
    assert result.stdout == "started\n"
    assert _marker_processes(nohup_marker) == []

    holder_marker = _unique_sleep_seconds()  # keeps the output pipe open: must not hang the call
    holder = await run_shell(f"sleep {holder_marker} & echo started", mode=mode)
    assert holder.stdout == "started\n" and holder.killed_reason is None
    assert holder.duration_s < 5
    assert _marker_processes(holder_marker) == []

    daemon_marker = _unique_sleep_seconds()
    code = f"""
import os
if os.fork() == 0:
    try:
        os.setsid()
    except OSError:
        pass
    if os.fork() == 0:
        os.execv('/bin/sleep', ['sleep', '{daemon_marker}'])
    os._exit(0)
print('parent done')
"""
    daemon = await run_python(code, mode=mode)
    assert "parent done" in daemon.stdout
    assert _marker_processes(daemon_marker) == []


async def test_runs_as_unprivileged_user_with_seccomp(mode: SandboxMode) -> None:
    result = await run_shell(
        "id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status", mode=mode
    )
    assert result.stdout.splitlines()[0] == "65534"
    if mode is SandboxMode.BWRAP:  # the fallback cannot read /proc at all
        assert "CapEff:\t0000000000000000" in result.stdout
        assert "NoNewPrivs:\t1" in result.stdout
        assert "Seccomp:\t2" in result.stdout
