"""Uploaded files as message parts: images, audio and documents by their file type.

The runner's perception step turns the parts into text the agents' models can read (OCR,
speech-to-text, document extraction), for single agents and teams alike.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path

from hanlin.llm.messages import AudioPart, ContentPart, FilePart, ImagePart, TextPart, UserMessage

ACCEPTED_UPLOADS = ["image", "audio", ".pdf", ".docx", ".csv", ".html", ".htm", ".txt", ".md"]


def part_for(path: str) -> ContentPart:
    media_type, _ = mimetypes.guess_type(path)
    name = Path(path).name
    if media_type and media_type.startswith("image/"):
        return ImagePart(path=path, media_type=media_type)
    if media_type and media_type.startswith("audio/"):
        return AudioPart(path=path, media_type=media_type)
    return FilePart(path=path, name=name, media_type=media_type)


def user_message(text: str, files: Sequence[str]) -> UserMessage:
    if not files:
        return UserMessage(content=text)
    parts: list[ContentPart] = [part_for(path) for path in files]
    if text:
        parts.insert(0, TextPart(text=text))
    return UserMessage(content=parts)
