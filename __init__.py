"""hanlin: agent orchestration on your own models.

Subpackages: ``llm`` (messages, model backends), ``tools`` (registry, plugins),
``sandbox`` (isolated code execution), ``memory``, ``planner``, ``agents``,
``runtime`` (LangGraph compilation, Redis checkpoints, events), ``ui``, ``training``.
"""

__version__ = "0.1.0"
