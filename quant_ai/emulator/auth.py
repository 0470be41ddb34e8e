"""Who may call the emulator: any bearer token (the default), or one key and one organisation.

Permissive by default, so tests and the demo work with any token and organisation. With
``EmulatorConfig(api_key=...)`` (``quant-ai emulator --api-key KEY``) another key is answered
401, as the service answers a wrong or revoked token; with ``organization=...``
(``--organization ORG``) a native request for another organisation is answered 403, as the
service answers a token that may not use that organisation. The OpenAI-compatible routes carry
no organisation, so only the key is checked there.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import unquote

from starlette.requests import Request

from quant_ai.emulator.config import EmulatorConfig

__all__ = ["DEFAULT_ORGANIZATION", "refusal"]

DEFAULT_ORGANIZATION = "demo"
"""The organisation the emulator shows (banner, ``api_base``) when none is configured."""

_BEARER = re.compile(r"Bearer ([^\s]+)")
_ORG_IN_PATH = re.compile(r"^/api/v3/organi[sz]ations/([^/]+)/")


def refusal(config: EmulatorConfig, request: Request) -> tuple[int, str] | None:
    """The status and message refusing ``request``, or ``None`` when it may go on."""
    match = _BEARER.fullmatch(request.headers.get("authorization", ""))
    if match is None:
        return 401, "Unauthenticated."
    if config.api_key is not None and not hmac.compare_digest(
        match.group(1).encode(), config.api_key.encode()
    ):
        return 401, "Unauthenticated."
    if config.organization is not None:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        found = _ORG_IN_PATH.match(raw_path.decode("latin-1"))
        if found is not None and unquote(found.group(1)) != config.organization:
            return 403, "Access denied: this token may not use that organisation."
    return None
