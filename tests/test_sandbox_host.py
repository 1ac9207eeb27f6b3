"""Host checks, the command line the sandbox is built from, the filter and the scratch dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hanlin.sandbox import HostReport, Limits, SandboxError, SandboxMode, check_host, detect_mode
from hanlin.sandbox.bwrap import bwrap_argv, prlimit_argv, python_roots
from hanlin.sandbox.landlock import abi_version
from hanlin.sandbox.scratch import Scratch
from hanlin.sandbox.seccomp import filter_program


def test_host_report_describes_every_layer() -> None:
    report = check_host()
    assert isinstance(report, HostReport)
    assert report.is_root == (os.geteuid() == 0)
    assert report.landlock_abi == abi_version()
    if report.bwrap_works:
        assert report.mode is SandboxMode.BWRAP and report.bwrap_error is None
    assert detect_mode() is report.mode
    assert report.mode is not SandboxMode.UNSAFE_SUBPROCESS
    assert HostReport.model_validate_json(report.model_dump_json()) == report


def test_this_host_runs_bwrap_with_seccomp_and_landlock() -> None:
    # Debian 12 as root with user namespaces and Landlock: every layer should be present.
    report = check_host()
    if not Path("/usr/bin/bwrap").exists():
        pytest.skip("bubblewrap is not installed")
    assert report.seccomp, report.seccomp_error
    assert report.bwrap_works, report.bwrap_error


def test_bwrap_command_line_isolates_everything() -> None:
    argv = bwrap_argv(
        ["/bin/true"], scratch="/tmp/s", limits=Limits(tmp_mb=8), seccomp_fd=9, privileged=True
    )
    joined = " ".join(argv)
    for flag in (
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--seccomp 9",
    ):
        assert flag in joined
    assert "--cap-drop ALL" in joined
    assert "--ro-bind /usr /usr" in joined
    assert "--bind /tmp/s /sandbox" in joined and joined.count("--bind ") == 1  # one rw bind
    assert f"--size {8 * 1024 * 1024} --tmpfs /tmp" in joined
    setpriv = argv.index("/usr/bin/setpriv")
    assert argv[setpriv + 1 : setpriv + 3] == ["--reuid=65534", "--regid=65534"]
    assert "--bounding-set=-all" in argv and "--no-new-privs" in argv
    assert argv[-1] == "/bin/true"
    for root in python_roots():
        assert f"--ro-bind {root} {root}" in joined


def test_unprivileged_command_line_uses_a_user_namespace() -> None:
    argv = bwrap_argv(
        ["/bin/true"], scratch="/tmp/s", limits=Limits(), seccomp_fd=3, privileged=False
    )
    assert "--unshare-all" in argv and "--disable-userns" in argv
    assert argv[argv.index("--uid") + 1] == "65534"
    assert "/usr/bin/setpriv" not in argv


def test_prlimit_sets_every_limit() -> None:
    argv = prlimit_argv(Limits(cpu_s=3, memory_mb=100, file_size_mb=2, open_files=50, processes=10))
    assert argv[-1] == "--"
    assert "--cpu=3:4" in argv and f"--as={100 * 1024**2}" in argv
    assert f"--fsize={2 * 1024**2}" in argv and "--nofile=50" in argv and "--nproc=10" in argv
    assert "--cpu=unlimited" in prlimit_argv(Limits(), cpu=False)


def test_seccomp_program_is_classic_bpf() -> None:
    program = filter_program()
    assert len(program) % 8 == 0 and len(program) > 8 * 40
    assert len(filter_program(without_namespaces=True)) > len(program)  # adds setsid, setpgid


def test_scratch_is_owned_by_the_sandbox_user_and_lists_only_regular_files() -> None:
    scratch = Scratch()
    try:
        info = os.stat(scratch.path)
        if os.geteuid() == 0:
            assert info.st_uid == 65534
        assert info.st_mode & 0o777 == 0o770
        scratch.write_files({"a/b.txt": b"123"})
        os.symlink("/etc/shadow", os.path.join(scratch.path, "shadow"))
        os.mkfifo(os.path.join(scratch.path, "fifo"))
        assert [(f.path, f.size) for f in scratch.list_files()] == [("a/b.txt", 3)]
        assert scratch.read_file("a/b.txt") == b"123"
        with pytest.raises(OSError):
            scratch.read_file("shadow")
        with pytest.raises(ValueError, match="larger"):
            scratch.read_file("a/b.txt", max_bytes=2)
    finally:
        scratch.remove()
    assert not os.path.exists(scratch.path)
    assert Path("/etc/shadow").exists()


def test_scratch_root_taken_over_by_someone_else_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared-root"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)  # writable by anyone: a link could be swapped in under us
    with pytest.raises(SandboxError, match="writable by nobody else"):
        Scratch(root=str(shared))
    link = tmp_path / "link-root"
    link.symlink_to(tmp_path)
    with pytest.raises(SandboxError, match="must be a directory"):
        Scratch(root=str(link))
