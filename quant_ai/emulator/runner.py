"""Running an emulator server: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

from quant_ai.emulator.config import EmulatorConfig

__all__ = ["Listener", "QuantEmulator", "make_server"]


class _HideDrops(logging.Filter):
    """Hide the server's traceback for connections the fault injector dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        from quant_ai.emulator.sse import DropConnection

        exc = record.exc_info[1] if record.exc_info else None
        seen = 0
        while exc is not None and seen < 8:
            if isinstance(exc, DropConnection):
                return False
            inner = getattr(exc, "exceptions", None)
            exc = inner[0] if inner else (exc.__cause__ or exc.__context__)
            seen += 1
        return True


_FILTER = _HideDrops()


_L = TypeVar("_L", bound="Listener")


class Listener:
    """What every emulator server shares: settings, address, listening socket, ``with``.

    :class:`QuantEmulator` (one server in a thread) and ``EmulatorCluster`` (worker processes
    on one port) extend it with their own :meth:`start` and :meth:`stop`.

    Args:
        config: Base settings (default :class:`EmulatorConfig()`).
        **settings: Overrides of :class:`EmulatorConfig` fields.
    """

    def __init__(self, config: EmulatorConfig | None = None, **settings: Any) -> None:
        cfg = config or EmulatorConfig()
        self.config: EmulatorConfig = replace(cfg, **settings) if settings else cfg
        self._socket: socket.socket | None = None
        self._port = 0

    # -- addresses ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The bound interface."""
        return self.config.host

    @property
    def port(self) -> int:
        """The bound TCP port (known once started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` — what ``QuantClient(base_url=...)`` takes."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def api_base(self) -> str:
        """The native API root, ``{base_url}/api/v3/organizations/{organization}``."""
        return f"{self.base_url}/api/v3/organizations/{self.organization}"

    @property
    def organization(self) -> str:
        """The organisation to use: the configured one, else ``demo`` (any is served then)."""
        from quant_ai.emulator.auth import DEFAULT_ORGANIZATION

        return self.config.organization or DEFAULT_ORGANIZATION

    @property
    def openai_base_url(self) -> str:
        """The OpenAI-compatible root, ``{base_url}/oai/v1``."""
        return f"{self.base_url}/oai/v1"

    # -- life cycle -----------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.config.port))
        sock.listen(2048)
        sock.set_inheritable(True)
        self._port = int(sock.getsockname()[1])
        return sock

    def bind(self) -> int:
        """Bind the listening socket now (before :meth:`serve_forever`) and return the port."""
        if self._socket is None:
            self._socket = self._bind()
        return self._port

    def start(self: _L, timeout: float = 10.0) -> _L:
        """Start serving; return once connections are accepted."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and close the socket."""
        raise NotImplementedError

    def __enter__(self: _L) -> _L:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def make_server(app: Any, config: EmulatorConfig) -> Any:
    """The uvicorn server of one emulator process (quiet, no lifespan, quick shutdown)."""
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_FILTER)
    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=config.access_log,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            backlog=2048,
        )
    )


class QuantEmulator(Listener):
    """A local Quant AI server on loopback, with real sockets and HTTP/1.1.

    Use it as a context manager (``with QuantEmulator() as emu:``) or call :meth:`start` and
    :meth:`stop`. Settings come from ``config`` and/or keyword overrides of
    :class:`EmulatorConfig` fields::

        with QuantEmulator(latency_ms=50, shapes="wild") as emu:
            client = QuantClient(base_url=emu.base_url, organization="acme", api_key="qc_x")

    Args:
        config: Base settings (default :class:`EmulatorConfig()`).
        **settings: Overrides of :class:`EmulatorConfig` fields.
    """

    def __init__(self, config: EmulatorConfig | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        from quant_ai.emulator.state import EmulatorState

        self.state = EmulatorState(self.config)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- counters -------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """Distinct client connections served so far (keep-alive reuse shows as one)."""
        return self.state.connections

    @property
    def requests(self) -> int:
        """Requests served so far (auth-checked routes)."""
        return self.state.requests

    @property
    def peak_in_flight(self) -> int:
        """Most requests seen waiting at once (out injected latency, or at a ``hold`` gate)."""
        return self.state.peak_in_flight

    @property
    def injected_latency_s(self) -> float:
        """Seconds of latency added before responses so far (server setting and headers)."""
        return self.state.injected_latency_s

    @property
    def injected_event_delay_s(self) -> float:
        """Seconds of pauses added between SSE events so far (slow events)."""
        return self.state.injected_event_delay_s

    def reset(self) -> None:
        """Reset counters, fault counters and durable executions."""
        self.state.reset()

    # -- life cycle -----------------------------------------------------------------------

    def _make_server(self) -> Any:
        from quant_ai.emulator.server import build_app

        return make_server(build_app(self.state), self.config)

    def start(self, timeout: float = 10.0) -> QuantEmulator:
        """Start serving in a daemon thread; return once the server accepts connections.

        Raises:
            RuntimeError: When the server did not start in ``timeout`` seconds.
        """
        if self._thread is not None:
            return self
        self._socket = self._bind()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"quant-ai-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Quant AI emulator did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None

    def serve_forever(self) -> None:
        """Serve in the calling (main) thread until interrupted (Ctrl-C or SIGTERM)."""
        if self._socket is None:
            self._socket = self._bind()
        server = self._make_server()
        try:
            server.run(sockets=[self._socket])
        finally:
            self._socket.close()
            self._socket = None

    def __repr__(self) -> str:
        return f"QuantEmulator(base_url={self.base_url!r})"
