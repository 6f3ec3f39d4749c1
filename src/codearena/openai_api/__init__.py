"""The OpenAI-compatible endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

``tokens`` (the API tokens of web accounts: hashed, with budgets, rates and expiry),
``errors`` (OpenAI's error format and the gateway's failure kinds mapped to it), ``schemas``
(the request model and the response bodies), ``calls`` (a request stored as a task with
source ``api`` and its generation), ``writer`` (the one thread writing those records, many
calls to a transaction), ``router`` (the FastAPI routes, mounted by
``codearena.web.app``) and ``cli`` (``codearena tokens``). This module imports nothing, so
``codearena tokens --help`` stays light.
"""
