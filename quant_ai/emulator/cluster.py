"""Several emulator processes behind one port (``quant-ai emulator --workers N``).

One emulator process answers on one event loop, so a benchmark of many clients would measure
the emulator instead of the clients. :class:`EmulatorCluster` binds the listening socket once
and starts N worker processes (this interpreter running this module, handed the socket) that
accept on it, as a pre-fork server does.

What the workers share: the rate limit (``--rate-limit``, one GCRA cell in a shared file, see
:mod:`quant_ai.emulator.ratelimit`). What they do not: everything else a process keeps in
memory. The stateless operations (chat, streams, embeddings, image generation, models) answer
the same from any worker. The stateful ones (vector-db collections, sessions, agents, durable
executions and their callbacks, chat with ``"async": true``, which starts one, and the usage
and spend reports, which total one process's answers) would
answer from whichever worker took the connection, so with N > 1 they are refused with 501 and
a message that says to run a single process; with N = 1 nothing is refused.
``/_emulator/stats`` and ``/_emulator/reset`` speak for the worker that answers them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any

from quant_ai.emulator.config import EmulatorConfig
from quant_ai.emulator.ratelimit import Cell, SharedCell
from quant_ai.emulator.runner import Listener, make_server

__all__ = ["STATEFUL_OPERATIONS", "EmulatorCluster", "StatefulGuard"]

_AI_PATH = re.compile(r"^/api/v3/organi[sz]ations/[^/]+/ai/(?P<rest>.*)$")
_STATEFUL = re.compile(
    r"^(vector-db|sessions|agents|chat/executions|chat/callback|usage|governance)(/|$)"
)

STATEFUL_OPERATIONS = (
    "vector-db",
    "sessions",
    "agents",
    "chat/executions",
    "chat/callback",
    "usage",
    "governance",
    'chat with "async": true',
)
"""What a multi-process emulator refuses (see the module docstring)."""


class StatefulGuard:
    """ASGI middleware of a worker: refuse the stateful routes when the workers are several.

    Args:
        app: The emulator application.
        workers: How many worker processes serve the port.
    """

    def __init__(self, app: Any, workers: int) -> None:
        self.app = app
        self.workers = workers

    def _message(self) -> bytes:
        text = (
            f"this emulator runs {self.workers} worker processes, which share no state; "
            "vector-db, sessions, agents, usage and durable executions need a single process "
            "(quant-ai emulator --workers 1)"
        )
        return json.dumps({"message": text, "code": "NOT_IMPLEMENTED"}).encode()

    async def _refuse(self, send: Any) -> None:
        body = self._message()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 501, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] != "http" or self.workers <= 1:
            await self.app(scope, receive, send)
            return
        found = _AI_PATH.match(scope.get("path", ""))
        rest = found.group("rest") if found else ""
        if found and _STATEFUL.match(rest):
            await self._refuse(send)
            return
        if not (found and rest == "chat" and scope.get("method") == "POST"):
            await self.app(scope, receive, send)
            return
        # A chat request starts a durable execution when its body says "async": true: read
        # the body, decide, then hand the app the same body.
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.loads(raw)
            if isinstance(body, dict) and body.get("async") is True:
                await self._refuse(send)
                return
        replay = iter(messages)

        async def receive_again() -> Any:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, receive_again, send)


def _serve(config: EmulatorConfig, sock: socket.socket, cell: Cell | None, workers: int) -> None:
    """A worker process: one emulator app on the shared listening socket."""
    import threading

    from quant_ai.emulator.server import build_app
    from quant_ai.emulator.state import EmulatorState

    app = StatefulGuard(build_app(EmulatorState(config, rate_cell=cell)), workers)
    server = make_server(app, config)

    def announce() -> None:  # tell the parent once this worker accepts connections
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        print(f"ready {os.getpid()}", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


_CONFIG_ENV = "QUANT_EMULATOR_WORKER_CONFIG"
"""How a worker receives its settings: JSON in its environment, not on its command line, where
any user of the machine could read a strict-mode ``api_key``."""


def _worker_main(argv: list[str]) -> int:
    """``python -m quant_ai.emulator.cluster FD WORKERS [RATE_CELL_PATH]`` (settings: env)."""
    fd, workers = int(argv[0]), int(argv[1])
    sock = socket.socket(fileno=fd)
    config = EmulatorConfig(**json.loads(os.environ.pop(_CONFIG_ENV)))
    cell = SharedCell(argv[2]) if len(argv) > 2 else None
    _serve(config, sock, cell, workers)
    return 0


class EmulatorCluster(Listener):
    """``workers`` emulator processes serving one loopback port.

    Use it as a context manager, like :class:`~quant_ai.emulator.QuantEmulator`::

        with EmulatorCluster(workers=4, latency_ms=50, rate_limit_rps=200) as emu:
            client = QuantClient(base_url=emu.base_url, organization="acme", api_key="qc_x")

    Args:
        workers: Worker processes (at least 1).
        config: Base settings (default :class:`EmulatorConfig()`).
        **settings: Overrides of :class:`EmulatorConfig` fields.
    """

    def __init__(
        self, workers: int = 2, config: EmulatorConfig | None = None, **settings: Any
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        super().__init__(config, **settings)
        self.workers = workers
        self.pids: list[int] = []
        self._cell: SharedCell | None = None
        self._processes: list[subprocess.Popen[str]] = []

    def start(self, timeout: float = 60.0) -> EmulatorCluster:
        """Start the workers; return once every one of them accepts connections.

        Raises:
            RuntimeError: When the workers did not all start within ``timeout`` seconds.
        """
        if self._processes:
            return self
        if self._socket is None:
            self._socket = self._bind()
        if self.config.rate_limit_rps is not None:
            self._cell = SharedCell.create()
        fd = self._socket.fileno()
        args = [str(fd), str(self.workers)]
        if self._cell is not None:
            args.append(self._cell.path)
        env = {**os.environ, _CONFIG_ENV: json.dumps(asdict(self.config))}
        for _ in range(self.workers):
            self._processes.append(
                subprocess.Popen(  # noqa: S603 - this interpreter running this module
                    [sys.executable, "-m", "quant_ai.emulator.cluster", *args],
                    pass_fds=(fd,),
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        import selectors

        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for process in self._processes:
                assert process.stdout is not None
                selector.register(process.stdout, selectors.EVENT_READ, process)
            while len(self.pids) < self.workers:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(
                        f"only {len(self.pids)} of {self.workers} emulator workers started"
                    )
                for key, _ in selector.select(timeout=left):
                    line = key.fileobj.readline()  # type: ignore[union-attr]
                    if not line.startswith("ready "):
                        raise RuntimeError("an emulator worker process exited at start")
                    self.pids.append(int(line.split()[1]))
                    selector.unregister(key.fileobj)

    def stop(self) -> None:
        """Stop the workers and close the port."""
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - ignores SIGTERM
                process.kill()
                process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        self._processes = []
        self.pids = []
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._cell is not None:
            self._cell.close()
            with contextlib.suppress(OSError):
                os.unlink(self._cell.path)
            self._cell = None

    def serve_forever(self) -> None:
        """Run the workers until interrupted (Ctrl-C or SIGTERM), then stop them."""
        self.start()
        try:
            while all(p.poll() is None for p in self._processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __repr__(self) -> str:
        return f"EmulatorCluster(workers={self.workers}, base_url={self.base_url!r})"


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
