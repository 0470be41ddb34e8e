"""A local Quant AI server for offline use, tests and benchmarks (like moto for AWS).

Start it in Python::

    from quant_ai.emulator import QuantEmulator

    with QuantEmulator() as emu:          # background thread, free loopback port
        print(emu.base_url)               # e.g. http://127.0.0.1:54321

or from the shell: ``quant-ai emulator [--host 127.0.0.1] [--port 8787]``.

It serves the eight AI operations of the spec under
``/api/v3/organizations/{org}/ai/`` (and the UK spelling ``organisations``), the vector
database (``/ai/vector-db/...``, :mod:`quant_ai.emulator.vector_db`) and the
OpenAI-compatible ``/oai/v1`` (chat completions, embeddings, models). Every request needs
``Authorization: Bearer <token>`` (any non-empty token without spaces; it is never logged
or echoed). Strict mode checks both: ``QuantEmulator(api_key=..., organization=...)`` or
``quant-ai emulator --api-key KEY --organization ORG`` answers 401 for another key and 403
for another organisation (:mod:`quant_ai.emulator.auth`). Request bodies are validated
against the spec-derived schemas (400 with ``{"message", "errors": {field: [...]}}``).
Behaviour is deterministic; see :mod:`quant_ai.emulator.engine` (chat and tools),
:mod:`quant_ai.emulator.executions` (durable runs), :mod:`quant_ai.emulator.images` (size
rule) and :mod:`quant_ai.emulator.embeddings`.

It also serves sessions, agents, usage and spend (:mod:`quant_ai.emulator.org`): sessions
live in memory and expire on an injectable clock (``emu.state.org.sessions.clock``; an
expired session answers 404); agents come from ``EmulatorConfig(agents=[...])`` (default: one
support agent) or ``POST /ai/agents`` and answer with the emulated model, their system prompt
and allowed built-in tools, keeping the session (``async: true`` runs as a durable execution,
``stream: true`` answers with the chat stream's events); passages of their allowed
collections come from the hook ``emu.state.org.agents.collection_search``; ``usage/me`` and
``governance/spend`` report the sum of the ``costCents`` the emulator answered with.

Spec operations it does not serve yet answer 501; a method the spec lacks for a path is a
405 with ``Allow``. The code: :mod:`quant_ai.emulator.server` assembles the app from route
tables; a module serving more native operations declares an
:class:`~quant_ai.emulator.routing.OperationTable` (operation id -> handler, see
:mod:`quant_ai.emulator.routing`) and adds it to ``server.NATIVE_TABLES``.

Markers in user text: ``[[fail]]`` makes a durable execution end ``failed``;
``[[blocked]]`` in an image prompt drops one image and adds an ``error`` (partial success).

Per-request test headers
------------------------

``X-Emulator-Fault``: ``;``-separated ``name=value`` items, all optional:

- ``status=429``: answer this status (JSON ``{"message": "Emulated fault: HTTP 429"}``) to the
  first ``count`` requests of the same fault key, then serve normally (so a client's
  retries of one request see ``count`` failures then success);
- ``count=2``: how many requests fail (default 1);
- ``retry_after=1``: ``Retry-After`` seconds for 429/503 (default 0);
- ``latency=50``: added latency in milliseconds;
- ``rate=0.3;seed=7``: instead of ``count``, fail with probability ``rate`` (status from
  ``status``, default 500), from a random generator seeded per fault key;
- ``drop_after=3``: close the connection after 3 SSE events (streams) or after half the body
  (buffered responses): the client sees a broken chunked/short response;
- ``event_delay=100``: milliseconds between SSE events;
- ``hold=200``: keep the request waiting until 200 requests with ``hold=200`` wait at once,
  then release them together (at most 30 s), to prove concurrency without timing;
- ``key=abc``: the fault key. Default: method, path, body hash and the header value.

Example: ``X-Emulator-Fault: status=429;count=2;retry_after=1``.

``X-Emulator-Shapes: wild`` selects the alternative shapes (SSE ``data: {"type": ...}`` frames
without ``event:`` lines; ``data:image/png;base64,`` image URLs). ``X-Emulator-Chunking:
word|char|sentence|none`` and ``X-Emulator-Content-Events: 500`` control stream chunking.

The same settings exist per server in :class:`EmulatorConfig` (and as CLI flags):
``latency_ms``, ``route_latency_ms``, ``fault_status``/``fault_count``/``retry_after``,
``failure_rate``/``failure_status``/``failure_seed``, ``drop_after_events``,
``event_delay_ms``, ``chunking``, ``content_events``, ``shapes``,
``execution_polls_per_state``, ``organization``, ``api_key``.

Helpers (no auth): ``GET /_emulator/stats`` (requests, connections), ``POST /_emulator/reset``.
:class:`QuantEmulator` also counts ``peak_in_flight``, ``injected_latency_s`` and
``injected_event_delay_s``, so tests can check faults without timing anything.
"""

from __future__ import annotations

from quant_ai.emulator.config import EmulatorConfig
from quant_ai.emulator.runner import QuantEmulator

__all__ = ["EmulatorConfig", "QuantEmulator"]
