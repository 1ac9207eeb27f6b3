"""Perception of images (Tesseract OCR) and speech (PocketSphinx), on data made inside the tests."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from hanlin.agents.perception import Perception, PerceptionError
from hanlin.agents.perception.audio import read_wav, to_16k_pcm16
from hanlin.agents.perception.ocr import check_ocr
from hanlin.llm.messages import AudioPart, FilePart, ImagePart, TextPart, UserMessage

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim",
)
needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="apt-get install -y espeak-ng"
)


def perceive(message: UserMessage, **flags: bool) -> str:
    out = asyncio.run(Perception().perceive(message, **flags))
    assert isinstance(out.content, list) and all(isinstance(p, TextPart) for p in out.content)
    return out.text()


def cjk_font_path() -> str | None:
    if shutil.which("fc-list") is None:
        return None
    listing = subprocess.run(
        ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
    ).stdout
    paths = [line.split(":")[0].strip() for line in listing.splitlines() if line.strip()]
    return min(paths) if paths else None


def text_image(lines: list[str], font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bytes:
    image = Image.new("RGB", (1000, 110 * len(lines) + 60), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((40, 30 + 110 * index), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# PocketSphinx's general model hears synthetic voices poorly; counting is what it gets right
# reliably, so the tests speak digits and ask for a few of them back.
COUNTING = "one two three four five six"
DIGITS = {"one", "two", "three", "four", "five", "six"}


def heard_digits(perceived: str) -> set[str]:
    return DIGITS & set(perceived.split("]\n", 1)[1].lower().split())


def speech_wav(tmp_path: Path, sentence: str) -> Path:
    path = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), sentence],
        check=True,
        capture_output=True,
    )
    return path


@needs_tesseract
def test_check_ocr_reports_languages() -> None:
    status = check_ocr()
    assert status.available and status.version and status.version.startswith("tesseract")
    assert "eng" in status.languages


@needs_tesseract
def test_image_becomes_ocr_text_for_text_only_models(tmp_path: Path) -> None:
    path = tmp_path / "sign.png"
    path.write_bytes(
        text_image(["HELLO PERCEPTION", "Invoice total 1234"], ImageFont.load_default(size=64))
    )
    text = perceive(
        UserMessage(content=[TextPart(text="What does it say?"), ImagePart(path=str(path))])
    )
    assert "[Image: sign.png (text read by OCR" in text
    assert "HELLO PERCEPTION" in text and "1234" in text


@needs_tesseract
def test_data_url_images_and_image_files_are_read(tmp_path: Path) -> None:
    png = text_image(["OPEN SESAME"], ImageFont.load_default(size=72))
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert "OPEN SESAME" in perceive(UserMessage(content=[ImagePart(url=url)]))
    path = tmp_path / "scan"
    path.write_bytes(png)
    assert "OPEN SESAME" in perceive(UserMessage(content=[FilePart(path=str(path), name="scan")]))


@needs_tesseract
def test_chinese_text_is_read(tmp_path: Path) -> None:
    font_path = cjk_font_path()
    if font_path is None or "chi_sim" not in check_ocr().languages:
        pytest.skip("needs a CJK font (fonts-wqy-zenhei) and tesseract-ocr-chi-sim")
    path = tmp_path / "chinese.png"
    path.write_bytes(text_image(["翰林智能体", "感知模块"], ImageFont.truetype(font_path, 72)))
    text = perceive(UserMessage(content=[ImagePart(path=str(path))]))
    assert sum(char in text for char in "翰林智能体感知模块") >= 6


def test_corrupt_image_raises(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    with pytest.raises(PerceptionError, match="photo.png"):
        perceive(UserMessage(content=[ImagePart(path=str(path))]))
    path.write_bytes(b"not an image at all")
    with pytest.raises(PerceptionError, match="photo.png.*supported: PNG, JPEG"):
        perceive(UserMessage(content=[ImagePart(path=str(path))]))


@needs_espeak
def test_speech_becomes_a_transcript(tmp_path: Path) -> None:
    path = speech_wav(tmp_path, COUNTING)
    text = perceive(UserMessage(content=[TextPart(text="Reply to:"), AudioPart(path=str(path))]))
    assert "[Audio: speech.wav (transcript," in text and "pocketsphinx" in text
    assert len(heard_digits(text)) >= 2, text


@needs_espeak
def test_inline_audio_at_another_rate_is_resampled(tmp_path: Path) -> None:
    samples, rate = read_wav(speech_wav(tmp_path, COUNTING).read_bytes(), "speech.wav")
    assert rate == 22050
    stereo_44k = np.repeat(
        np.interp(
            np.linspace(0, len(samples) - 1, len(samples) * 2), np.arange(len(samples)), samples
        ),
        2,
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(44100)
        writer.writeframes((stereo_44k * 32767).astype("<i2").tobytes())
    encoded = base64.b64encode(buffer.getvalue()).decode()
    text = perceive(UserMessage(content=[AudioPart(data_base64=encoded, media_type="audio/wav")]))
    assert len(heard_digits(text)) >= 2, text


def test_resampling_keeps_duration() -> None:
    one_second = np.sin(np.linspace(0, 2 * np.pi * 440, 44100))
    assert len(to_16k_pcm16(one_second, 44100)) == 2 * 16000


def test_empty_and_unsupported_audio_raise(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
    with pytest.raises(PerceptionError, match="empty.wav.*no samples.*supported: WAV"):
        perceive(UserMessage(content=[AudioPart(path=str(empty))]))
    nothing = tmp_path / "nothing.wav"
    nothing.write_bytes(b"")
    with pytest.raises(PerceptionError, match="nothing.wav.*empty"):
        perceive(UserMessage(content=[AudioPart(path=str(nothing))]))
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(b"ID3\x03\x00" + b"\x00" * 100)
    with pytest.raises(PerceptionError, match="song.mp3.*MP3 audio is not supported.*WAV"):
        perceive(UserMessage(content=[AudioPart(path=str(mp3))]))
    with pytest.raises(PerceptionError, match="invalid base64"):
        perceive(UserMessage(content=[AudioPart(data_base64="***not base64***")]))
