"""Perception: a user's attachments become what the target models can read.

Text passes through; documents become text; images stay images for vision models and become
OCR text otherwise; audio stays audio for models that hear and becomes a transcript
otherwise. The runner calls it once per turn through the target's ``prepare``.
"""

from hanlin.agents.perception.errors import PerceptionError
from hanlin.agents.perception.ocr import check_ocr
from hanlin.agents.perception.perceive import Perception, PerceptionConfig

__all__ = ["Perception", "PerceptionConfig", "PerceptionError", "check_ocr"]
