"""codearena: send one coding task to many LLMs, compare, execute and measure."""

__version__ = "0.1.0"
