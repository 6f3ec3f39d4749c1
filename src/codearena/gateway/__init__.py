"""The multi-model gateway: one async client for OpenAI-compatible chat completions."""

from codearena.gateway.client import Gateway
from codearena.gateway.errors import UpstreamError
from codearena.gateway.types import CallResult, ChatRequest, GatewayEvent, Listener

__all__ = ["CallResult", "ChatRequest", "Gateway", "GatewayEvent", "Listener", "UpstreamError"]
