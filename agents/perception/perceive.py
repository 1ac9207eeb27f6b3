"""Perception: turn a user message's attachments into parts the target model can read.

Text passes through. Images stay images for vision models and become OCR text otherwise;
audio stays audio for models that take it and becomes a transcript otherwise; documents
always become text, capped in size with a visible truncation marker. Every produced text
part starts with a bracketed header naming the file, so the model knows where it came from.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from pathlib import Path

from pydantic import BaseModel, Field

from hanlin.agents.perception.audio import SUPPORTED_AUDIO, transcribe_audio
from hanlin.agents.perception.documents import (
    SUPPORTED_DOCUMENTS,
    detect_document_kind,
    document_to_text,
)
from hanlin.agents.perception.errors import PerceptionError
from hanlin.agents.perception.ocr import SUPPORTED_IMAGES, image_media_type, ocr_image
from hanlin.llm.messages import AudioPart, ContentPart, FilePart, ImagePart, TextPart, UserMessage


class PerceptionConfig(BaseModel):
    max_chars_per_part: int = Field(default=20_000, ge=200, description="Text kept per attachment.")
    max_table_rows: int = Field(default=50, ge=1, description="CSV/TSV rows shown before a count.")
    max_file_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Larger files are refused."
    )
    ocr_languages: str = Field(
        default="eng+chi_sim", description="Tesseract languages, '+'-joined."
    )
    ocr_timeout_s: float = Field(default=120.0, gt=0)
    max_audio_seconds: float = Field(default=600.0, gt=0)


class Perception:
    """Rewrites message parts for one target model's abilities; blocking work runs in threads."""

    def __init__(self, config: PerceptionConfig | None = None) -> None:
        self.config = config or PerceptionConfig()

    async def perceive(
        self,
        message: UserMessage,
        *,
        model_supports_vision: bool = False,
        model_supports_audio: bool = False,
    ) -> UserMessage:
        if isinstance(message.content, str):
            return message
        parts: list[ContentPart] = []
        for part in message.content:
            readable_as_is = (
                isinstance(part, TextPart)
                or (isinstance(part, ImagePart) and model_supports_vision)
                or (isinstance(part, AudioPart) and model_supports_audio)
            )
            if readable_as_is:
                parts.append(part)
            else:
                parts.append(await asyncio.to_thread(self._to_text, part))
        return message.model_copy(update={"content": parts})

    def _to_text(self, part: ContentPart) -> TextPart:
        if isinstance(part, ImagePart):
            source, data = self._image_bytes(part)
            return self._ocr(source, data)
        if isinstance(part, AudioPart):
            source, data = self._audio_bytes(part)
            return self._transcribe(source, data)
        if isinstance(part, FilePart):
            return self._file(part)
        raise PerceptionError(repr(part), "unknown content part")

    def _file(self, part: FilePart) -> TextPart:
        if part.path is not None:
            source = part.name or Path(part.path).name
            data = self._read(part.path, source)
        else:
            source = part.name or "inline file"
            data = _decode_base64(part.data_base64 or "", source)
            if len(data) > self.config.max_file_bytes:
                raise PerceptionError(
                    source,
                    f"{len(data)} bytes exceeds the {self.config.max_file_bytes}-byte limit",
                )
        kind = detect_document_kind(data, part.name or part.path or "", part.media_type)
        if kind is not None:
            text = document_to_text(data, source, kind, max_table_rows=self.config.max_table_rows)
            return self._text_part(f"Document: {source} ({kind.upper()})", text)
        if image_media_type(data) is not None:
            return self._ocr(source, data)
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            return self._transcribe(source, data)
        raise PerceptionError(
            source,
            "unrecognised file type",
            f"{SUPPORTED_DOCUMENTS}; images via OCR: {SUPPORTED_IMAGES}; audio: {SUPPORTED_AUDIO}",
        )

    def _ocr(self, source: str, data: bytes) -> TextPart:
        text = ocr_image(
            data, source, languages=self.config.ocr_languages, timeout_s=self.config.ocr_timeout_s
        )
        header = f"Image: {source} (text read by OCR, {self.config.ocr_languages})"
        return self._text_part(header, text or "[OCR found no text in this image]")

    def _transcribe(self, source: str, data: bytes) -> TextPart:
        transcript = transcribe_audio(data, source, max_seconds=self.config.max_audio_seconds)
        header = f"Audio: {source} (transcript, {transcript.duration_s:.1f} s, {transcript.engine})"
        return self._text_part(header, transcript.text or "[no speech recognised]")

    def _text_part(self, header: str, text: str) -> TextPart:
        limit = self.config.max_chars_per_part
        if len(text) > limit:
            text = text[:limit] + f"\n[... truncated: showed {limit} of {len(text)} characters]"
        return TextPart(text=f"[{header}]\n{text}")

    def _image_bytes(self, part: ImagePart) -> tuple[str, bytes]:
        if part.path:
            return Path(part.path).name, self._read(part.path, Path(part.path).name)
        if part.url and part.url.startswith("data:"):
            return "inline image", _decode_data_url(part.url, "inline image")
        where = part.url or "an image part with neither url nor path"
        raise PerceptionError(
            where,
            "only local paths and data: URLs can be read by OCR "
            "(remote images need a vision model)",
        )

    def _audio_bytes(self, part: AudioPart) -> tuple[str, bytes]:
        if part.path:
            return Path(part.path).name, self._read(part.path, Path(part.path).name)
        if part.data_base64 is not None:
            return "inline audio", _decode_base64(part.data_base64, "inline audio")
        raise PerceptionError(
            "audio part", "it has neither a path nor data_base64", SUPPORTED_AUDIO
        )

    def _read(self, path: str, source: str) -> bytes:
        file = Path(path).expanduser()
        try:
            size = file.stat().st_size
            if size > self.config.max_file_bytes:
                raise PerceptionError(
                    source, f"{size} bytes exceeds the {self.config.max_file_bytes}-byte limit"
                )
            return file.read_bytes()
        except OSError as exc:
            raise PerceptionError(source, f"cannot read {path}: {exc.strerror or exc}") from exc


def _decode_data_url(url: str, source: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise PerceptionError(source, "only base64 data: URLs are supported")
    return _decode_base64(payload, source)


def _decode_base64(payload: str, source: str) -> bytes:
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PerceptionError(source, f"invalid base64 data ({exc})") from exc
