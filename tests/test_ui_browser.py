"""The chat driven in a real browser: Debian's Chromium through Playwright, against the real
``hanlin ui`` process on the embedded model and real Redis.

Playwright is told to use the system browser (``executable_path``); it never downloads one.
Pages are awaited on ``load``: Gradio keeps a connection open, so ``networkidle`` never comes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests_support import free_port

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DEBIAN_CHROMIUM = Path("/usr/lib/chromium/chromium")
STEP_TIMEOUT_MS = 300_000

pytestmark = [pytest.mark.local_model, pytest.mark.redis]


def chromium_binary() -> str:
    if DEBIAN_CHROMIUM.is_file():
        return str(DEBIAN_CHROMIUM)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("the browser tests need Debian's chromium: apt-get install chromium")
    return found


class UiProcess:
    """``hanlin ui`` as a user starts it, on a private port and the test Redis."""

    def __init__(self, redis_url: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.redis_url = redis_url
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "HANLIN_REDIS_URL": self.redis_url}
        cli = [sys.executable, "-m", "hanlin.cli.main", "ui", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(cli, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hanlin ui exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"hanlin ui did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def ui(redis_url: str, tmp_path: Path) -> Iterator[UiProcess]:
    process = UiProcess(redis_url, tmp_path / "ui.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def page() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_binary(),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        yield context.new_page()
        context.close()
        browser.close()


def chat_text(page: object) -> str:
    return page.locator("#chat").inner_text()  # type: ignore[attr-defined]


def wait_for_status(page: object, status: str) -> None:
    page.locator("#status").get_by_text(status, exact=True).wait_for(  # type: ignore[attr-defined]
        timeout=STEP_TIMEOUT_MS
    )


def set_slider(page: object, elem_id: str, value: int, tries: int = 5) -> None:
    """Type the value and wait until the slider itself shows it: a message sent before the
    component takes the new value goes out with the old one. A value typed while the
    accordion that holds the slider is still opening can be drawn over with the old one, so
    it is typed again until it holds."""
    number = page.locator(f"#{elem_id} input[type=number]")  # type: ignore[attr-defined]
    shown = "([id, value]) => document.querySelector(`#${id} input[type=range]`)?.value === value"
    for attempt in range(tries):
        number.fill(str(value))
        number.press("Tab")
        try:
            page.wait_for_function(  # type: ignore[attr-defined]
                shown, arg=[elem_id, str(value)], timeout=10_000
            )
            return
        except playwright_api.TimeoutError:
            if attempt == tries - 1:
                raise


def send(page: object, text: str) -> None:
    box = page.locator("#message textarea")  # type: ignore[attr-defined]
    box.fill(text)
    box.press("Enter")


def test_chat_approval_debate_memory_and_restart_in_a_browser(ui: UiProcess, page: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        run_the_scenario(ui, page)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "ui-failure.png"), full_page=True)  # type: ignore[attr-defined]
        sys.stderr.write(ui.log.read_text()[-4000:])
        raise


def run_the_scenario(ui: UiProcess, page: object) -> None:
    page.goto(ui.url, wait_until="load")  # type: ignore[attr-defined]
    page.locator("#chat").wait_for(timeout=30_000)  # type: ignore[attr-defined]

    # A ReAct agent asks before its tool call; the person approves; the answer streams.
    page.get_by_label("Ask me before every tool call").check()  # type: ignore[attr-defined]
    send(page, "What is 12*7?")
    page.locator("button#approve").wait_for(timeout=STEP_TIMEOUT_MS)  # type: ignore[attr-defined]
    assert "asks to run calculator" in chat_text(page)
    assert "12*7" in page.locator("#approval-args").inner_text()  # type: ignore[attr-defined]
    page.locator("button#approve").click()  # type: ignore[attr-defined]
    wait_for_status(page, "done")
    text = chat_text(page)
    assert "assistant → calculator" in text and "84" in text
    assert not page.locator("button#approve").is_visible()  # type: ignore[attr-defined]

    # A new thread with a debate team: messages from several agents, round by round.
    page.locator("button#new-thread").click()  # type: ignore[attr-defined]
    wait_for_status(page, "new thread")
    page.get_by_label("Multi-agent debate").check()  # type: ignore[attr-defined]
    page.get_by_text("Debate and role-play").click()  # type: ignore[attr-defined]
    set_slider(page, "debaters", 2)
    set_slider(page, "max-tokens", 48)  # short replies keep the CPU run brief
    send(page, "What is 3+4? Give the result.")
    wait_for_status(page, "done")
    text = chat_text(page)
    for agent in ("debater_1", "debater_2"):
        assert f"{agent} · round 1" in text and f"{agent} · round 2" in text
    assert "debater_3" not in text
    page.screenshot(path=str(ARTIFACTS / "ui-chat.png"), full_page=True)  # type: ignore[attr-defined]

    # The memory panel shows what the ReAct agent remembered of this person.
    page.get_by_role("tab", name="Memory").click()  # type: ignore[attr-defined]
    page.locator("button#memory-refresh").click()  # type: ignore[attr-defined]
    status = page.locator("#memory-status")  # type: ignore[attr-defined]
    status.get_by_text("memories of browser-").wait_for(timeout=STEP_TIMEOUT_MS)
    assert "User: What is 12*7? AI:" in page.locator("#memory-table").inner_text()  # type: ignore[attr-defined]
    assert page.get_by_text("Forgetting curves").first.is_visible()  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "ui-memory.png"), full_page=True)  # type: ignore[attr-defined]

    # The app restarts; the browser reloads and finds its thread again.
    ui.stop()
    ui.start()
    page.goto(ui.url, wait_until="load")  # type: ignore[attr-defined]
    page.locator("#chat").get_by_text("What is 3+4? Give the result.").wait_for(  # type: ignore[attr-defined]
        timeout=STEP_TIMEOUT_MS
    )
    assert page.get_by_label("Multi-agent debate").is_checked()  # type: ignore[attr-defined]
    assert page.locator("#max-tokens input[type=number]").input_value() == "48"  # type: ignore[attr-defined]
