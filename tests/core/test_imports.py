"""``import quant_ai`` needs only the core dependencies (httpx, httpx-sse, pydantic)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

OPTIONAL = ["langchain_core", "llama_index", "starlette", "uvicorn", "jsonschema", "yaml", "numpy"]


def test_core_imports_and_works_without_optional_dependencies() -> None:
    code = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {OPTIONAL!r}:
                    raise ImportError("blocked optional dependency: " + name)
                return None

        sys.meta_path.insert(0, Block())
        import httpx
        import quant_ai
        from quant_ai import QuantClient

        def handler(request):
            return httpx.Response(200, json={{"response": {{"content": "ok"}}}})

        client = QuantClient("k", "acme", http_client=httpx.Client(transport=httpx.MockTransport(handler)))
        assert client.chat(messages=[{{"role": "user", "content": "hi"}}]).text == "ok"
        print(quant_ai.__version__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_public_names_load_lazily_and_all_resolve() -> None:
    code = textwrap.dedent(
        """
        import sys
        import quant_ai
        assert "quant_ai.client" not in sys.modules and "httpx" not in sys.modules
        for name in quant_ai.__all__:
            assert getattr(quant_ai, name) is not None, name
        assert "quant_ai.client" in sys.modules
        assert sorted(dir(quant_ai)) == sorted(quant_ai.__all__)
        try:
            quant_ai.not_a_name
        except AttributeError as exc:
            assert "not_a_name" in str(exc)
        else:
            raise SystemExit("no AttributeError")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
