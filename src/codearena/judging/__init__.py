"""LLM judges beside human judges: ``codearena judge`` (see docs/judging.md)."""
