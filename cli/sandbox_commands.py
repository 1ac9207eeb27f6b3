"""``hanlin sandbox``: see which isolation this host supports, and run code in the sandbox.

``check`` prints the host report as JSON on stdout (for scripts) and a one-line summary on
stderr (for people). ``exec`` runs a program read from stdin and exits with its exit code,
so it composes in shell pipelines like the program itself would.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from hanlin.sandbox import (
    ExecResult,
    HostReport,
    Limits,
    SandboxError,
    SandboxMode,
    check_host,
    run_python,
    run_shell,
)

sandbox_app = typer.Typer(no_args_is_help=True)

# Exit status when the sandbox itself could not run the program (docker run uses the same).
SANDBOX_FAILED_EXIT = 125

_MODE_SUMMARY = {
    SandboxMode.BWRAP: "bubblewrap namespaces + read-only system + seccomp + rlimits",
    SandboxMode.LANDLOCK: "Landlock file rules + seccomp + rlimits, no namespaces",
}


def summary(report: HostReport) -> str:
    """One line for a person: the mode that will be used, or why none can be."""
    if report.mode is None:
        reasons = "; ".join(
            filter(
                None,
                [report.bwrap_error, report.seccomp_error, f"landlock ABI {report.landlock_abi}"],
            )
        )
        return (
            f"no safe sandbox mode works on this host ({reasons}); only "
            f"'{SandboxMode.UNSAFE_SUBPROCESS.value}' can be requested, by name"
        )
    uid = " as uid 65534" if report.is_root else ""
    return f"sandbox mode: {report.mode.value} ({_MODE_SUMMARY[report.mode]}{uid})"


@sandbox_app.command(
    help="Probe this host's isolation layers; print the report as JSON and a "
    "summary of the mode that will be used. Exit 1 if no safe mode works."
)
def check() -> None:
    report = check_host()
    typer.echo(report.model_dump_json(indent=2))
    typer.echo(summary(report), err=True)
    if report.mode is None:
        raise typer.Exit(1)


def exit_code_of(result: ExecResult) -> int:
    """The program's exit code as a process exit status (0-255); 1 if it had none."""
    if result.exit_code is None:
        return 1
    return min(max(result.exit_code, 0), 255)


@sandbox_app.command(
    name="exec",
    help="Run Python (or, with --shell, a bash script) read from "
    "stdin in a fresh sandbox; print the result as JSON and exit with the "
    f"program's exit code ({SANDBOX_FAILED_EXIT} if the sandbox failed).",
)
def exec_code(
    shell: Annotated[bool, typer.Option("--shell", help="Run stdin as a bash script.")] = False,
    timeout: Annotated[float, typer.Option(help="Wall-clock limit in seconds.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit in MB.")] = 512,
    scratch_mb: Annotated[
        int, typer.Option(help="Quota of the scratch dir (/sandbox), all files together, in MB.")
    ] = 256,
    mode: Annotated[
        SandboxMode | None,
        typer.Option(help="Isolation mode; default: the strongest that works here."),
    ] = None,
) -> None:
    try:
        limits = Limits(
            timeout_s=timeout,
            memory_mb=memory_mb,
            scratch_mb=scratch_mb,
            cpu_s=max(1, min(3600, int(timeout) + 1)),
        )
    except ValidationError as exc:
        options = {
            "timeout_s": "--timeout",
            "memory_mb": "--memory-mb",
            "cpu_s": "--timeout",
            "scratch_mb": "--scratch-mb",
        }
        problems = "; ".join(
            f"{options.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()
        )
        raise typer.BadParameter(problems) from None
    source = sys.stdin.read()
    runner = run_shell if shell else run_python
    try:
        result = asyncio.run(runner(source, limits=limits, mode=mode))
    except (SandboxError, ValueError) as exc:
        typer.echo(
            f"error: the sandbox could not run the program: {exc}. See `hanlin sandbox check`.",
            err=True,
        )
        raise typer.Exit(SANDBOX_FAILED_EXIT) from None
    typer.echo(result.model_dump_json(indent=2))
    raise typer.Exit(exit_code_of(result))
