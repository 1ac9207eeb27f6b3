"""Scoring tool use: TS / PI / CF metrics, the served-model evaluation, and significance tests."""
