"""Uploaded files as message parts: images, audio and documents by their file type.

The agent's perception turns the parts into text its model can read (OCR, speech-to-text,
document extraction); teams without their own perception get the same treatment here.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


async def perceived(message: UserMessage, target: Any) -> UserMessage:
    """Attachments become text for targets that do not perceive on their own."""
    if isinstance(message.content, str) or hasattr(target, "prepare"):
        return message
    from hanlin.agents.perception import Perception

    return await Perception().perceive(message)
