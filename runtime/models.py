"""Build the configured ChatModel: the embedded local model or an OpenAI-compatible server."""

from __future__ import annotations

from hanlin.llm.chat_model import ChatModel
from hanlin.llm.model_files import resolve_model_path
from hanlin.runtime.settings import ModelSettings


def model_from_settings(settings: ModelSettings) -> ChatModel:
    """Heavy backends are imported only when chosen, so a server-only setup stays light."""
    if settings.provider == "openai":
        from hanlin.llm.openai_http import OpenAICompatibleModel

        return OpenAICompatibleModel(
            settings.base_url, settings.name, api_key=settings.api_key, timeout=settings.timeout_s
        )
    resolved = resolve_model_path(settings.path)
    if resolved.kind == "hf_folder":
        from hanlin.llm.transformers_model import TransformersModel

        return TransformersModel(str(resolved.path), n_threads=settings.threads)
    from hanlin.llm.local_model import LocalModel

    return LocalModel(str(resolved.path), n_threads=settings.threads, n_ctx=settings.context_tokens)
