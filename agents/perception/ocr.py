"""Images to text with the Tesseract command-line tool (Debian ``tesseract-ocr``).

Tesseract is called as a subprocess (``tesseract stdin stdout -l eng+chi_sim``) rather than
through ``pytesseract``: that wrapper does the same through temporary files, and calling
the binary directly keeps the dependency list shorter and the error messages ours.
"""

from __future__ import annotations

import shutil
import subprocess

from pydantic import BaseModel

from hanlin.agents.perception.errors import PerceptionError

APT_PACKAGES = "tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim"
SUPPORTED_IMAGES = "PNG, JPEG, GIF, BMP, TIFF, WebP"

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


class OcrStatus(BaseModel):
    """What OCR can do on this machine, so callers can decide before sending images."""

    available: bool
    binary: str | None = None
    version: str | None = None
    languages: list[str] = []
    problem: str | None = None


def image_media_type(data: bytes) -> str | None:
    """The image type from magic bytes, or None when the bytes are no image we read."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, media_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return media_type
    return None


def check_ocr() -> OcrStatus:
    """Whether ``tesseract`` is installed, its version and the languages it has data for."""
    binary = shutil.which("tesseract")
    if binary is None:
        return OcrStatus(
            available=False, problem=f"tesseract not found; apt-get install -y {APT_PACKAGES}"
        )
    try:
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        listing = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return OcrStatus(available=False, binary=binary, problem=f"tesseract does not run: {exc}")
    first_line = (version.stdout or version.stderr).strip().splitlines()
    languages = [line.strip() for line in listing.stdout.splitlines()[1:] if line.strip()]
    return OcrStatus(
        available=listing.returncode == 0,
        binary=binary,
        version=first_line[0] if first_line else None,
        languages=sorted(languages),
        problem=None if listing.returncode == 0 else listing.stderr.strip(),
    )


def ocr_image(
    data: bytes, source: str, *, languages: str = "eng+chi_sim", timeout_s: float = 120.0
) -> str:
    """The text Tesseract reads in the image; languages it lacks data for are dropped, not fatal."""
    if image_media_type(data) is None:
        raise PerceptionError(source, "not an image format OCR can read", SUPPORTED_IMAGES)
    status = check_ocr()
    if not status.available or status.binary is None:
        raise PerceptionError(source, f"OCR is not available: {status.problem}")
    wanted = [lang for lang in languages.split("+") if lang]
    usable = [lang for lang in wanted if lang in status.languages]
    if not usable:
        raise PerceptionError(
            source,
            f"tesseract has no data for {'+'.join(wanted)} "
            f"(it has {', '.join(status.languages) or 'none'}); "
            f"apt-get install -y {APT_PACKAGES}",
        )
    try:
        result = subprocess.run(
            [status.binary, "stdin", "stdout", "-l", "+".join(usable), "--psm", "3"],
            input=data,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PerceptionError(source, f"OCR took longer than {timeout_s:.0f} s") from exc
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PerceptionError(
            source, f"OCR failed: {detail[-1] if detail else 'no message'}", SUPPORTED_IMAGES
        )
    return _tidy(result.stdout.decode("utf-8", "replace"))


def _tidy(text: str) -> str:
    """Drop the blank-line noise Tesseract emits and the spaces it puts between CJK characters."""
    lines = [_join_cjk(line.strip()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _join_cjk(line: str) -> str:
    out: list[str] = []
    for index, char in enumerate(line):
        if (
            char == " "
            and 0 < index < len(line) - 1
            and _is_cjk(line[index - 1])
            and _is_cjk(line[index + 1])
        ):
            continue
        out.append(char)
    return "".join(out)


def _is_cjk(char: str) -> bool:
    return (
        "\u4e00" <= char <= "\u9fff" or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"
    )
