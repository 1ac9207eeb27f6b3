"""The one error perception raises, shared by the document, OCR and audio readers.

It lives in its own module so each reader can raise it without importing the
``Perception`` facade (which imports the readers).
"""

from __future__ import annotations


class PerceptionError(ValueError):
    """Input that cannot be turned into text: says which file and what would have worked."""

    def __init__(self, source: str, problem: str, supported: str | None = None) -> None:
        self.source = source
        self.problem = problem
        self.supported = supported
        message = f"cannot perceive {source!r}: {problem}"
        if supported:
            message += f" (supported: {supported})"
        super().__init__(message)
