"""The emulator's request-rate limit: 429 with ``Retry-After`` past a rate, as the service does.

The limit is a GCRA (generic cell rate algorithm), the token bucket written as one number:
the *theoretical arrival time* (TAT) of the next request. A request arriving at ``now`` is
admitted when ``TAT - burst_window <= now``; each admitted request moves TAT one emission
interval (``1 / rate``) further. A refused request learns exactly how long to wait
(``TAT - burst_window - now``), which becomes its ``Retry-After``.

That one number lives in a :class:`Cell`: a plain attribute under a thread lock for one
process, or a ``multiprocessing`` shared double under its own lock when several emulator
processes (``quant-ai emulator --workers N``) must enforce one limit together. Times come from
``time.monotonic``, which on Linux is one clock for every process of the machine.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Cell", "LocalCell", "RateLimit", "Refusal", "SharedCell", "retry_after_header"]


class Cell(Protocol):
    """Where the theoretical arrival time is kept (and the lock that guards it)."""

    def update(self, fn: Callable[[float], tuple[float, float | None]]) -> float | None:
        """Apply ``fn`` to the stored value atomically; ``fn`` returns (new value, result)."""
        ...


class LocalCell:
    """A cell for one process (threads of one emulator server)."""

    def __init__(self) -> None:
        self._value = 0.0
        self._lock = threading.Lock()

    def update(self, fn: Callable[[float], tuple[float, float | None]]) -> float | None:
        """Apply ``fn`` under the lock."""
        with self._lock:
            self._value, result = fn(self._value)
        return result


class SharedCell:
    """A cell shared by the processes of a multi-process emulator: 8 bytes of a file.

    Every process maps the same file and updates the value under an exclusive ``flock`` of
    it, so the limit holds across processes that share nothing else (the workers are started
    as separate programs, see :mod:`quant_ai.emulator.cluster`). POSIX only.

    Args:
        path: The file (created by :meth:`create`, removed by its creator).
    """

    def __init__(self, path: str) -> None:
        import mmap

        self.path = path
        self._file = open(path, "r+b")  # noqa: SIM115 - kept open for the cell's lifetime
        self._map = mmap.mmap(self._file.fileno(), 8)
        self._lock = threading.Lock()

    @classmethod
    def create(cls) -> SharedCell:
        """A new cell in a fresh temporary file."""
        import tempfile

        with tempfile.NamedTemporaryFile(prefix="quant-emulator-rate-", delete=False) as f:
            f.write(struct.pack("d", 0.0))
        return cls(f.name)

    def update(self, fn: Callable[[float], tuple[float, float | None]]) -> float | None:
        """Apply ``fn`` under the file lock (and a thread lock within this process)."""
        import fcntl

        with self._lock:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            try:
                (value,) = struct.unpack("d", self._map[:8])
                new, result = fn(value)
                self._map[:8] = struct.pack("d", new)
            finally:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        return result

    def close(self) -> None:
        """Unmap and close the file (the creator also removes it)."""
        self._map.close()
        self._file.close()


@dataclass(frozen=True)
class Refusal:
    """One request the limit refused (kept for tests and ``/_emulator/stats``)."""

    at: float
    """``time.monotonic()`` when it arrived."""
    key: str
    """What identifies the request: method, path and a digest of its body."""
    retry_after: float
    """The wait it was told, in seconds."""


class RateLimit:
    """Admit at most ``rate`` requests a second, with bursts of up to ``burst`` at once.

    Args:
        rate: Requests per second (> 0).
        burst: Requests admitted back to back from idle (default: one second's worth,
            ``ceil(rate)``, at least 1).
        cell: Where the state lives (default: this process only).
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        cell: Cell | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be a positive number of requests per second")
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = float(rate)
        self.burst = burst if burst is not None else max(1, math.ceil(rate))
        self.interval = 1.0 / self.rate
        self._window = (self.burst - 1) * self.interval
        self._cell: Cell = cell if cell is not None else LocalCell()
        self._clock = clock
        self._lock = threading.Lock()
        self.refusals: list[Refusal] = []
        self.admitted = 0

    def admit(self, key: str = "") -> float | None:
        """Admit a request now, or return how many seconds it must wait (it is not counted)."""
        now = self._clock()

        def step(tat: float) -> tuple[float, float | None]:
            tat = max(tat, now)
            wait = tat - self._window - now
            if wait > 1e-9:
                return tat, wait
            return tat + self.interval, None

        wait = self._cell.update(step)
        with self._lock:
            if wait is None:
                self.admitted += 1
            else:
                self.refusals.append(Refusal(now, key, wait))
        return wait

    def reset(self) -> None:
        """Forget this process's records (the shared arrival time is left as it is)."""
        with self._lock:
            self.refusals.clear()
            self.admitted = 0


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` for a wait: whole seconds when whole, else milliseconds precision.

    The service's header is a number of seconds; a fraction keeps a client from waiting a
    whole second for a slot a few milliseconds away (the Quant client reads decimals).
    """
    millis = math.ceil(seconds * 1000)
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis / 1000:.3f}"
