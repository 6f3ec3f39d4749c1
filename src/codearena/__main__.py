"""``python -m codearena``."""

from codearena.cli import main

main()
