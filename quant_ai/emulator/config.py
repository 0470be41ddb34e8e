"""Settings of an emulator instance (plain data, no heavy imports)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["Chunking", "EmulatorConfig", "Shapes"]

Chunking = Literal["word", "char", "sentence", "none"]
"""How stream answers are cut into ``content`` events."""

Shapes = Literal["spec", "wild"]
"""``spec``: shapes of the OpenAPI spec. ``wild``: the alternative shapes seen in the docs and
vendor code (SSE ``data: {"type": "content", "content": ...}`` frames without ``event:`` lines,
``data:image/png;base64,...`` URLs in image-generation responses)."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Behaviour and fault settings of one emulator server.

    Every fault setting applies to every AI request (native and OpenAI routes, not the
    ``/_emulator`` helpers). Per-request overrides use the ``X-Emulator-*`` headers documented
    in :mod:`quant_ai.emulator`.

    Attributes:
        host: Interface to bind (loopback by default).
        port: TCP port; ``0`` picks a free one.
        latency_ms: Added latency before every AI response.
        route_latency_ms: Added latency per route name (``chat``, ``chat_stream``,
            ``embeddings``, ``image_generation``, ``executions``, ``callback``, ``models``,
            ``oai_chat``, ``oai_embeddings``, ``oai_models``, ``sessions``, ``agents``,
            ``agent_chat``, ``usage``), on top of ``latency_ms``.
        fault_status: Status code answered to the first ``fault_count`` AI requests.
        fault_count: How many requests get ``fault_status``.
        retry_after: ``Retry-After`` seconds sent with 429/503 faults.
        failure_rate: Probability (0..1) that a request fails with ``failure_status``.
        failure_status: Status used by ``failure_rate``.
        failure_seed: Seed of the failure-rate random generator (deterministic sequence).
        drop_after_events: Close the connection after this many SSE events (streams only; the
            per-request header also drops buffered responses after half the body).
        event_delay_ms: Delay between SSE events.
        chunking: How stream answers are cut into ``content`` events.
        content_events: Force exactly this many ``content`` events per stream.
        shapes: ``spec`` or ``wild`` response shapes (see :data:`Shapes`).
        execution_polls_per_state: How many status reads a durable execution spends in each
            transient state (``pending``, ``running``); ``0`` skips them.
        access_log: Print uvicorn access logs.
        organization: When set, the only organisation served (others get 403, see
            :mod:`quant_ai.emulator.auth`); also the one :attr:`QuantEmulator.api_base` shows
            (``demo`` when unset, and then any is served).
        api_key: When set, the only API key accepted (others get 401); any bearer token is
            accepted when unset. Not shown in ``repr``.
        agents: The hosted agents the server starts with (spec field names: ``name``,
            ``description``, ``systemPrompt``, ``modelId``, ``allowedTools``,
            ``allowedCollections``..., ``agentId`` optional); ``None``: one support agent
            (:data:`quant_ai.emulator.agents.DEFAULT_AGENTS`).
        monthly_budget_cents: The spend budget reported by ``usage/me`` and
            ``governance/spend`` (``None``: no budget).
        daily_budget_cents: The daily budget reported the same way.
    """

    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0.0
    route_latency_ms: dict[str, float] = field(default_factory=dict)
    fault_status: int | None = None
    fault_count: int = 0
    retry_after: float | None = None
    failure_rate: float = 0.0
    failure_status: int = 500
    failure_seed: int = 0
    drop_after_events: int | None = None
    event_delay_ms: float = 0.0
    chunking: Chunking = "word"
    content_events: int | None = None
    shapes: Shapes = "spec"
    execution_polls_per_state: int = 1
    access_log: bool = False
    organization: str | None = None
    api_key: str | None = field(default=None, repr=False)
    agents: Sequence[Mapping[str, Any]] | None = None
    monthly_budget_cents: int | None = None
    daily_budget_cents: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if self.chunking not in ("word", "char", "sentence", "none"):
            raise ValueError("chunking must be word, char, sentence or none")
        if self.shapes not in ("spec", "wild"):
            raise ValueError("shapes must be 'spec' or 'wild'")
        if self.content_events is not None and self.content_events < 1:
            raise ValueError("content_events must be at least 1")
        if self.execution_polls_per_state < 0:
            raise ValueError("execution_polls_per_state must be >= 0")
        if self.organization is not None and not self.organization.strip("/ "):
            raise ValueError("organization must be a machine name, or None to serve any")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key must not be empty (None accepts any key)")

    def with_changes(self, **changes: object) -> EmulatorConfig:
        """Return a copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
