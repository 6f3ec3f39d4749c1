"""The study's gateway experiments: ``codearena latency`` (the same prompts through several
routes, latency compared) and ``codearena stress`` (concurrency ramped until calls fail).

``common`` holds what both share (the settings an experiment runs with, the refusal of routes
whose provider is not configured, the stored rows); ``latency`` and ``stress`` each have a
request object, a runner (I/O) and pure summary functions over plain samples, with the
statistics in :mod:`codearena.stats.latency`; ``figures`` draws the latency figure;
``cli`` holds the two commands. This package imports nothing when it is imported, so
``codearena latency --help`` stays light (see docs/experiments.md).
"""
