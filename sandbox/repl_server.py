"""The notebook kernel that runs *inside* a session's sandbox (started as `python -c SOURCE`).

Standard library only, no hanlin imports: the sandbox sees just the Python installation.
Protocol: each message is a 4-byte big-endian length and a UTF-8 JSON object, requests on
stdin, replies on stdout. Before serving, the protocol streams move to private descriptors
and fds 0/1/2 are re-pointed (stdin to /dev/null, stdout and stderr to per-cell temp files),
so output of child processes is captured with the cell and can never corrupt the protocol.
"""

import ast
import io
import json
import os
import resource
import struct
import sys
import tempfile
import traceback

_HEADER = struct.Struct(">I")


class OutputLimitExceeded(BaseException):
    """Raised in the cell when it has printed more than the cap (BaseException: hard to catch)."""


class CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr for a cell: writes through to the fd, stops the cell at the cap."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.written = 0
        self.exceeded = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        data = text.encode("utf-8", errors="replace")
        room = self.cap - self.written
        if len(data) > room:
            os.write(self.fd, data[: max(room, 0)])
            self.written = self.cap
            self.exceeded = True
            raise OutputLimitExceeded(f"output exceeded {self.cap} bytes")
        os.write(self.fd, data)
        self.written += len(data)
        return len(text)

    def fileno(self) -> int:
        return self.fd


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, message: dict) -> None:
    payload = json.dumps(message).encode()
    data = _HEADER.pack(len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def _take(fd: int, cap: int) -> tuple[str, bool]:
    """Read back a cell's output file (at most cap bytes) and empty it for the next cell."""
    size = os.fstat(fd).st_size
    data = os.pread(fd, min(size, cap), 0)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    return data.decode("utf-8", errors="replace"), size > cap


def _limit_cpu(cpu_s: int) -> None:
    """Per-cell CPU budget: RLIMIT_CPU counts the whole process life, so move the bar."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + cpu_s
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _execute(code: str, namespace: dict) -> None:
    """Like a notebook cell: statements run, a final expression's value is printed."""
    tree = ast.parse(code, "<cell>", "exec")
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - running the cell is the job
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        if value is not None:
            print(repr(value))


def _print_traceback(exc: BaseException) -> None:
    """The traceback from the cell's own frames on (the kernel's frames are noise)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


def _run_cell(code: str, namespace: dict, out_fd: int, err_fd: int, cap: int) -> dict:
    out, err = CappedWriter(1, cap), CappedWriter(2, cap)
    sys.stdout, sys.stderr = out, err
    error = memory = False
    try:
        _execute(code, namespace)
    except OutputLimitExceeded:
        error = True
    except MemoryError as exc:
        error = memory = True
        sys.stderr = err = CappedWriter(2, cap)
        try:
            _print_traceback(exc)
        except (OutputLimitExceeded, MemoryError):
            pass
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt end the cell
        error = True
        try:
            _print_traceback(exc)
        except OutputLimitExceeded:
            pass
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:  # None when Python started without that descriptor
                    stream.flush()
            except (OSError, ValueError):
                pass
    stdout, stdout_cut = _take(out_fd, cap)
    stderr, stderr_cut = _take(err_fd, cap)
    return {
        "stdout": stdout,
        "stderr": stderr,
        "stdout_truncated": stdout_cut or out.exceeded,
        "stderr_truncated": stderr_cut or err.exceeded,
        "output_limit": out.exceeded or err.exceeded or stdout_cut or stderr_cut,
        "error": error,
        "memory": memory,
    }


def serve() -> None:
    request_fd, reply_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Open for the life of the kernel: cells write here through fds 1 and 2.
    out_file = tempfile.TemporaryFile()  # noqa: SIM115
    err_file = tempfile.TemporaryFile()  # noqa: SIM115
    os.dup2(out_file.fileno(), 1)
    os.dup2(err_file.fileno(), 2)
    out_fd, err_fd = out_file.fileno(), err_file.fileno()
    namespace: dict = {"__name__": "__main__"}
    _send(reply_fd, {"ready": True, "pid": os.getpid()})
    while True:
        try:
            (length,) = _HEADER.unpack(_read_exact(request_fd, _HEADER.size))
            request = json.loads(_read_exact(request_fd, length))
        except EOFError:
            return
        if request.get("op") == "reset":
            namespace = {"__name__": "__main__"}
            _send(reply_fd, {"reset": True})
            continue
        _limit_cpu(int(request["cpu_s"]))
        reply = _run_cell(request["code"], namespace, out_fd, err_fd, int(request["cap"]))
        _send(reply_fd, reply)


if __name__ == "__main__":
    serve()
