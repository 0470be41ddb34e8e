"""Settings from arguments and the environment, and URL building.

Nothing here does I/O. A missing key or organisation is reported on first use, not at
construction, by :meth:`ClientConfig.require`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

from .errors import QuantConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "ClientConfig",
    "encode_path_segment",
    "is_loopback_host",
    "validate_organization",
]

DEFAULT_BASE_URL = "https://dashboard.quantcdn.io"
ENV_API_KEY = "QUANT_API_KEY"
ENV_ORGANIZATION = "QUANT_ORGANIZATION"
ENV_ORGANIZATION_UK = "QUANT_ORGANISATION"
ENV_BASE_URL = "QUANT_BASE_URL"

_BAD_ORG = re.compile(r"[/\\?#\s\x00-\x1f\x7f-\x9f]")


def validate_organization(value: str) -> str:
    """Check that ``value`` is one URL path segment and return it percent-encoded.

    Args:
        value: The organisation machine name (for example ``acme``).

    Returns:
        The percent-encoded segment.

    Raises:
        QuantConfigurationError: If the value is empty or could escape its path segment.
    """
    if not value or not value.strip():
        raise QuantConfigurationError(
            "The organisation is empty: pass organization=... or set QUANT_ORGANIZATION "
            "to your organisation machine name"
        )
    if _BAD_ORG.search(value) or ".." in value or value in {".", ".."}:
        raise QuantConfigurationError(
            f"The organisation {value!r} is not a valid machine name: it must be a single URL "
            "path segment without '/', '\\', '..', '?', '#', whitespace or control characters"
        )
    return quote(value, safe="")


def encode_path_segment(value: str, what: str) -> str:
    """Percent-encode an id (model id, execution id) for use as one path segment.

    Args:
        value: The raw id.
        what: What the id is, for the error message.

    Returns:
        The encoded segment (``/``, ``:``, ``=`` and ``+`` are all encoded).

    Raises:
        QuantConfigurationError: If the id is empty.
    """
    if not value:
        raise QuantConfigurationError(f"The {what} is empty")
    return quote(value, safe="")


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and loopback IP addresses (``127.0.0.0/8``, ``::1``).

    Names below ``.localhost`` do not count: the system resolver may send them to DNS, which
    could answer with any address.
    """
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


@dataclass(frozen=True)
class ClientConfig:
    """Resolved client settings.

    Attributes:
        api_key: The API token, or None until one is set.
        organization: The organisation machine name as given.
        base_url: The service root, without a trailing slash.
        allow_insecure_http: Allow sending the key over plain http to a non-loopback host.
    """

    api_key: SecretStr | None
    organization: str | None
    base_url: str
    allow_insecure_http: bool = False
    _org_segment: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def resolve(
        cls,
        api_key: str | SecretStr | None = None,
        organization: str | None = None,
        base_url: str | None = None,
        *,
        allow_insecure_http: bool = False,
    ) -> ClientConfig:
        """Build settings from arguments, falling back to the environment.

        Args:
            api_key: The key, else ``QUANT_API_KEY``.
            organization: The organisation, else ``QUANT_ORGANIZATION`` (or
                ``QUANT_ORGANISATION``).
            base_url: The service root, else ``QUANT_BASE_URL``, else the public cloud.
            allow_insecure_http: Opt in to plain http towards a non-loopback host.

        Returns:
            The resolved settings. Nothing is validated that needs the network.

        Raises:
            QuantConfigurationError: If the base URL is malformed (the only check done here,
                since nothing else can be fixed later).
        """
        if isinstance(api_key, str):
            key: SecretStr | None = SecretStr(api_key) if api_key else None
        elif api_key is None:
            env_key = _env(ENV_API_KEY)
            key = SecretStr(env_key) if env_key else None
        else:
            key = api_key if api_key.get_secret_value() else None
        org = organization or _env(ENV_ORGANIZATION) or _env(ENV_ORGANIZATION_UK)
        url = (base_url or _env(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise QuantConfigurationError(
                f"The base URL {url!r} is not an http(s) URL: set base_url or QUANT_BASE_URL "
                "to something like https://dashboard.quantcdn.io"
            )
        if parts.query or parts.fragment:
            raise QuantConfigurationError(
                f"The base URL {url!r} must not carry a query or fragment"
            )
        return cls(key, org, url, allow_insecure_http)

    def require(self) -> tuple[SecretStr, str]:
        """Return the key and the encoded organisation segment, or explain what is missing.

        Returns:
            ``(api_key, organisation path segment)``.

        Raises:
            QuantConfigurationError: Naming the argument and environment variable to set.
        """
        if self.api_key is None:
            raise QuantConfigurationError(
                "No Quant API key: pass api_key=... or set the QUANT_API_KEY environment "
                "variable (a token from the Quant dashboard, Profile > API Tokens)"
            )
        if not self.organization:
            raise QuantConfigurationError(
                "No Quant organisation: pass organization=... or set the QUANT_ORGANIZATION "
                "environment variable to your organisation machine name"
            )
        segment = self._org_segment
        if segment is None:
            segment = validate_organization(self.organization)
            object.__setattr__(self, "_org_segment", segment)
        parts = urlsplit(self.base_url)
        if (
            parts.scheme == "http"
            and not self.allow_insecure_http
            and not is_loopback_host(parts.hostname or "")
        ):
            raise QuantConfigurationError(
                f"Refusing to send the API key over plain http to {parts.hostname}: use https, "
                "or pass allow_insecure_http=True if you really mean it"
            )
        return self.api_key, segment

    def ai_url(self, path: str) -> str:
        """Return the absolute URL of an AI operation (``path`` starts with ``/``)."""
        _, segment = self.require()
        return f"{self.base_url}/api/v3/organizations/{segment}/ai{path}"
