"""The HTTP server's plumbing that both front doors share (the web platform, ``web/``, and the
OpenAI-compatible endpoint, ``openai_api/``): the access log, the limit on request bodies, the
security headers and uvicorn's protocol with one write per answer. Imports nothing of
codearena."""
