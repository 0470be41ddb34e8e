"""The key-hygiene walker itself finds a secret wherever an exception can hide one."""

from __future__ import annotations

import httpx
import pydantic
import pytest

from tests.key_hygiene import SecretLeak, assert_no_secret, find_secret

SECRET = "qc_secret_HYGIENE_123"


class _Holder(Exception):
    def __init__(self, message: str, payload: object = None) -> None:
        super().__init__(message)
        self.payload = payload


def _raise_chained(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise _Holder("outer") from exc
    except _Holder as outer:
        return outer


def test_clean_exception_passes() -> None:
    assert_no_secret(_Holder("nothing here", {"a": [1, "b"]}), SECRET)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(_Holder(f"key {SECRET}"), id="message"),
        pytest.param(_Holder("x", {"deep": [{"k": SECRET}]}), id="nested-attribute"),
        pytest.param(
            _Holder(
                "x",
                httpx.Request(
                    "GET", "https://q.test", headers={"Authorization": f"Bearer {SECRET}"}
                ),
            ),
            id="httpx-request-header",
        ),
        pytest.param(_raise_chained(ValueError(SECRET)), id="cause-chain"),
        pytest.param(_Holder("x", pydantic.SecretStr(SECRET).get_secret_value()), id="revealed"),
    ],
)
def test_secret_found(exc: BaseException) -> None:
    with pytest.raises(SecretLeak) as info:
        assert_no_secret(exc, SECRET)
    assert SECRET not in str(info.value)


def test_context_and_errors_method_are_walked() -> None:
    class WithErrors(Exception):
        def errors(self) -> list[dict[str, object]]:
            return [{"input": SECRET}]

    assert any("errors()" in hit for hit in find_secret(WithErrors("x"), SECRET))
    hidden = _Holder("while handling")
    hidden.__context__ = ValueError(f"Bearer {SECRET}")
    hidden.__suppress_context__ = True  # ``raise ... from None``: still reachable
    assert any("__context__" in hit for hit in find_secret(hidden, SECRET))


def test_unpicklable_exception_is_reported() -> None:
    class NeedsKeyword(Exception):
        def __init__(self, *, status: int) -> None:
            super().__init__(f"status {status}")

    exc = NeedsKeyword(status=1)
    assert any("pickle" in hit for hit in find_secret(exc, SECRET))
    assert find_secret(exc, SECRET, pickle_roundtrip=False) == []
