from __future__ import annotations

import logging
import pickle

import httpx
import pytest
from pydantic import SecretStr

import quant_ai
from quant_ai import QuantClient, QuantConfigurationError
from quant_ai._config import ClientConfig, is_loopback_host, validate_organization

KEY = "qc_SECRET_config_key_987"


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"count": 0, "models": []})


def test_construction_needs_nothing_and_does_no_io() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent at construction")

    client = QuantClient(http_client=httpx.Client(transport=httpx.MockTransport(boom)))
    assert client.config.api_key is None
    assert client.config.organization is None
    assert client.config.base_url == "https://dashboard.quantcdn.io"


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_API_KEY", KEY)
    monkeypatch.setenv("QUANT_ORGANIZATION", "acme")
    monkeypatch.setenv("QUANT_BASE_URL", "https://dash.quantgov.cloud/")
    client = QuantClient()
    assert client.config.api_key is not None
    assert client.config.api_key.get_secret_value() == KEY
    assert client.config.organization == "acme"
    assert client.config.base_url == "https://dash.quantgov.cloud"


def test_uk_spelling_of_organisation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_ORGANISATION", "acme-uk")
    assert QuantClient().config.organization == "acme-uk"
    monkeypatch.setenv("QUANT_ORGANIZATION", "acme-us")
    assert QuantClient().config.organization == "acme-us"


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_API_KEY", "env-key")
    monkeypatch.setenv("QUANT_ORGANIZATION", "env-org")
    client = QuantClient(api_key=SecretStr("arg-key"), organization="arg-org")
    assert client.config.api_key is not None
    assert client.config.api_key.get_secret_value() == "arg-key"
    assert client.config.organization == "arg-org"


def test_missing_key_is_reported_on_first_call_naming_the_variable() -> None:
    client = QuantClient(organization="acme")
    with pytest.raises(QuantConfigurationError, match="QUANT_API_KEY"):
        client.list_models()


def test_missing_organisation_names_the_variable() -> None:
    client = QuantClient(api_key=KEY)
    with pytest.raises(QuantConfigurationError, match="QUANT_ORGANIZATION"):
        client.chat(messages=[{"role": "user", "content": "hi"}])


async def test_missing_key_async() -> None:
    client = QuantClient(organization="acme")
    with pytest.raises(QuantConfigurationError, match="QUANT_API_KEY"):
        await client.aembed("hello")


@pytest.mark.parametrize(
    "org",
    [
        *("", "  ", "a/b", "a\\b", "..", "a..b", "a?b", "a#b", "a b", "a\tb", "a\nb"),
        *("a\x00b", "a\x7f", "a\x85b", "a\x9fb", "a\u00a0b", "a\u2028b"),
    ],
)
def test_bad_organisations_are_refused(org: str) -> None:
    with pytest.raises(QuantConfigurationError, match="organisation"):
        validate_organization(org)


def test_organisation_is_percent_encoded() -> None:
    assert validate_organization("acme") == "acme"
    assert validate_organization("ac%me") == "ac%25me"
    assert validate_organization("café") == "caf%C3%A9"


def test_bad_organisation_refused_before_any_request() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return _ok(request)

    client = QuantClient(
        KEY, "../admin", http_client=httpx.Client(transport=httpx.MockTransport(record))
    )
    with pytest.raises(QuantConfigurationError):
        client.list_models()
    assert sent == []


def test_model_and_execution_ids_are_percent_encoded(make_client) -> None:  # type: ignore[no-untyped-def]
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        if "/executions/" in paths[-1]:
            return httpx.Response(200, json={"status": "running"})
        return httpx.Response(200, json={"id": "amazon.nova-lite-v1:0"})

    client, _ = make_client(handler)
    client.get_model("amazon.nova-lite-v1:0")
    client.get_execution("XkdV+Wi/EfSw=")
    assert paths[0].endswith("/ai/models/amazon.nova-lite-v1%3A0")
    assert paths[1].endswith("/ai/chat/executions/XkdV%2BWi%2FEfSw%3D")
    with pytest.raises(QuantConfigurationError, match="model id"):
        client.get_model("")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("app.localhost", False),  # resolved by the system resolver, maybe through DNS
        ("LOCALHOST", True),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("url", ["http://example.com", "http://10.1.2.3:8080"])
def test_plain_http_to_remote_host_is_refused(url: str) -> None:
    client = QuantClient(KEY, "acme", url)
    with pytest.raises(QuantConfigurationError, match="plain http"):
        client.list_models()


def test_plain_http_opt_in_and_loopback_allowed() -> None:
    for url, flag in (
        ("http://example.com", True),
        ("http://127.0.0.1:9", False),
        ("http://[::1]:9", False),
    ):
        transport = httpx.MockTransport(_ok)
        client = QuantClient(
            KEY,
            "acme",
            url,
            allow_insecure_http=flag,
            http_client=httpx.Client(transport=transport),
        )
        assert client.list_models().count == 0


@pytest.mark.parametrize(
    "url", ["ftp://x", "dashboard.quantcdn.io", "https://x/?a=1", "https://x/#f"]
)
def test_malformed_base_url(url: str) -> None:
    with pytest.raises(QuantConfigurationError, match="base URL"):
        ClientConfig.resolve(KEY, "acme", url)


def test_key_never_in_repr_str_or_logs(make_client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(_ok, api_key=KEY)
    caplog.set_level(logging.DEBUG)
    client.list_models()
    assert KEY not in repr(client)
    assert KEY not in str(client)
    assert KEY not in repr(client.config)
    assert KEY not in caplog.text
    assert "quant_ai" in caplog.text or caplog.records  # something was logged at DEBUG


def test_user_agent_and_auth_header(make_client) -> None:  # type: ignore[no-untyped-def]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _ok(request)

    client, _ = make_client(handler, api_key=KEY, default_headers={"X-Trace": "t1"})
    client.list_models(feature="chat")
    request = seen[0]
    assert request.headers["user-agent"].startswith(f"quant-ai-python/{quant_ai.__version__}")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-trace"] == "t1"
    assert request.url.params["feature"] == "chat"


def test_client_pickles_before_and_after_use(make_client) -> None:  # type: ignore[no-untyped-def]
    fresh = QuantClient(KEY, "acme", "https://quant.test")
    clone = pickle.loads(pickle.dumps(fresh))
    assert clone.config == fresh.config
    client = QuantClient(KEY, "acme", "http://127.0.0.1:1", max_retries=0)
    _ = client.transport.http  # create the private client
    clone2 = pickle.loads(pickle.dumps(client))
    assert clone2.transport._http is None
    assert clone2.max_retries == 0


def test_context_managers_close_private_clients() -> None:
    with QuantClient(KEY, "acme") as client:
        http = client.transport.http
    assert http.is_closed
    injected = httpx.Client(transport=httpx.MockTransport(_ok))
    with QuantClient(KEY, "acme", http_client=injected):
        pass
    assert not injected.is_closed


def test_same_client_across_event_loops() -> None:
    import asyncio

    transport = httpx.MockTransport(_ok)
    client = QuantClient(KEY, "acme", "http://127.0.0.1:9")

    def fresh_async_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport)

    async def call() -> int:
        loop = asyncio.get_running_loop()
        client.transport._ahttp_by_loop[loop] = fresh_async_client()
        models = await client.alist_models()
        await client.aclose()
        return models.count or 0

    assert asyncio.run(call()) == 0
    assert asyncio.run(call()) == 0


async def test_async_client_is_created_per_loop_and_reused() -> None:
    client = QuantClient(KEY, "acme", "http://127.0.0.1:9")
    first = client.transport.ahttp()
    assert client.transport.ahttp() is first
    await client.aclose()
    assert first.is_closed
