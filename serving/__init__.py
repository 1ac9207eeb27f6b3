"""Serving models: ``hanlin serve``'s OpenAI-compatible server around any ``ChatModel`` (wire
format, access control, request limits) and the vLLM launcher for GPU hosts."""
