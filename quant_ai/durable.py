"""Waiting for a durable execution: one waiter for the core client and both adapters.

A durable execution (``async: true``) runs on the service. :class:`ExecutionWaiter` polls its
status with backoff, reports each change once, refuses (before submitting anything) a wait
for client tools that are not available locally, runs the local tools through the adapter's
runner, submits their results once per ``callbackId``, keeps a record of every local call
and returns the ``complete`` status. An adapter supplies only what depends on its framework:
how to run a tool (:data:`ToolRunner`) and how to report an :class:`ExecutionUpdate` or a
:class:`LocalToolCall` as its own event. :meth:`quant_ai.QuantClient.wait_for_execution` is
this waiter with a plain ``{toolUseId: result}`` handler.

:func:`execution_outcome` reads a ``complete`` status into what the adapters' final message
needs; :func:`is_durable` and :func:`poll_settings` read the call options both adapters take
(``durable``, ``durable_poll_initial``, ``durable_poll_max``, ``durable_timeout`` and the
internal :data:`RESUME_KWARG`).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pydantic

from quant_ai.errors import (
    QuantExecutionFailedError,
    QuantExecutionTimeoutError,
    QuantLocalToolMissingError,
    QuantNotFoundError,
    QuantValidationError,
)
from quant_ai.types import ExecutionStatus, PendingTool, ToolUse, Usage

if TYPE_CHECKING:
    from quant_ai.client import QuantClient, ToolHandler
    from quant_ai.types import ChatRequest

__all__ = [
    "DURABLE_KWARGS",
    "RESUME_KWARG",
    "DurableOptions",
    "DurableResult",
    "DurableSpec",
    "ExecutionHandle",
    "ExecutionOutcome",
    "ExecutionUpdate",
    "ExecutionWaiter",
    "LocalToolCall",
    "PollSettings",
    "ResumableExecution",
    "ToolOutcome",
    "ToolRunner",
    "arun_durable",
    "callback_result",
    "execution_outcome",
    "is_durable",
    "poll_settings",
    "run_durable",
]

logger = logging.getLogger("quant_ai")

RESUME_KWARG = "quant_resume_request_id"
"""Call kwarg (internal to the adapters) that resumes an execution instead of starting one."""
DURABLE_KWARGS = (
    "durable",
    "durable_poll_initial",
    "durable_poll_max",
    "durable_timeout",
    RESUME_KWARG,
)
"""Call kwargs of the durable mode (never request fields)."""


def callback_result(value: Any) -> dict[str, Any]:
    """A local tool's return value as the result object a callback sends (the API wants one).

    Mappings and pydantic models are sent as objects, text holding a JSON object is parsed,
    and anything else is wrapped as ``{"result": value}``; values JSON cannot carry become
    their ``str()``.
    """
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return dict(_json_safe(dict(value)))
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"result": value}
        return parsed if isinstance(parsed, dict) else {"result": parsed}
    if value is None or isinstance(value, (bool, int, float, list, tuple)):
        return {"result": _json_safe(value)}
    return {"result": str(value)}


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------- handles


@dataclass(frozen=True)
class ExecutionHandle:
    """What to keep of a started durable execution to resume it later, from any process.

    Only ``request_id`` is needed to resume.

    Attributes:
        request_id: The execution's id.
        session_id: The session the service assigned, when it said.
        model: The model id of the request.
        poll_url: The service's relative poll URL (informational).
    """

    request_id: str
    session_id: str | None = None
    model: str | None = None
    poll_url: str | None = None


R = TypeVar("R")


@dataclass(frozen=True)
class ResumableExecution(ExecutionHandle, Generic[R]):
    """A handle that can wait for its execution with the model (and tools) that started it.

    The adapters' ``DurableExecution`` handles are this class with their answer type.
    """

    resumer: Callable[..., R] | None = field(default=None, repr=False, compare=False)
    aresumer: Callable[..., Awaitable[R]] | None = field(default=None, repr=False, compare=False)

    def resume(self, **kwargs: Any) -> R:
        """Wait for the execution (running local tools) and return the final answer.

        Args:
            **kwargs: Passed to the model's ``resume_execution`` (``config``, poll settings).
        """
        if self.resumer is None:
            raise QuantValidationError(
                "this handle has no model; call resume_execution(request_id) on a model"
            )
        return self.resumer(self.request_id, **kwargs)

    async def aresume(self, **kwargs: Any) -> R:
        """Async twin of :meth:`resume`."""
        if self.aresumer is None:
            raise QuantValidationError(
                "this handle has no model; call aresume_execution(request_id) on a model"
            )
        return await self.aresumer(self.request_id, **kwargs)


# --------------------------------------------------------------------------- call options


@dataclass(frozen=True)
class PollSettings:
    """Backoff of a wait: ``initial_delay`` doubling to ``max_delay``, up to ``timeout`` s."""

    initial_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float = 900.0


def is_durable(kwargs: Mapping[str, Any], default: bool) -> bool:
    """Whether a call runs as a durable execution (per-call ``durable`` or resume, else default)."""
    if kwargs.get(RESUME_KWARG):
        return True
    durable = kwargs.get("durable")
    return default if durable is None else bool(durable)


def poll_settings(kwargs: Mapping[str, Any], default: PollSettings) -> PollSettings:
    """The poll settings of a call: its ``durable_poll_*``/``durable_timeout``, else default."""
    return PollSettings(
        initial_delay=float(kwargs.get("durable_poll_initial") or default.initial_delay),
        max_delay=float(kwargs.get("durable_poll_max") or default.max_delay),
        timeout=float(kwargs.get("durable_timeout") or default.timeout),
    )


class DurableOptions(pydantic.BaseModel):
    """The durable-mode fields both adapters' chat classes share (a pydantic base).

    Attributes:
        durable: Run every call as a durable execution (``async: true``).
        durable_poll_initial: First wait between status polls, in seconds.
        durable_poll_max: Longest wait between polls (the wait doubles up to it).
        durable_timeout: Stop waiting after this many seconds (resume by id later).
    """

    durable: bool = pydantic.Field(
        default=False,
        description="Run every call as a durable execution (async: true): poll until it "
        "completes, running the client tools locally when it waits for them. Per call: "
        "durable=True.",
    )
    durable_poll_initial: float = pydantic.Field(
        default=1.0, gt=0, description="First wait between status polls, in seconds."
    )
    durable_poll_max: float = pydantic.Field(
        default=30.0, gt=0, description="Longest wait between polls (the wait doubles up to it)."
    )
    durable_timeout: float = pydantic.Field(
        default=900.0,
        gt=0,
        description="Stop waiting after this many seconds (the execution may still finish: "
        "resume it by id).",
    )

    def _is_durable(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether a call with these kwargs runs as a durable execution."""
        return is_durable(kwargs, self.durable)

    def _poll_settings(self, kwargs: Mapping[str, Any]) -> PollSettings:
        """The poll settings of a call with these kwargs."""
        default = PollSettings(
            self.durable_poll_initial, self.durable_poll_max, self.durable_timeout
        )
        return poll_settings(kwargs, default)


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class ExecutionUpdate:
    """A durable execution's status as reported to the caller (once per change).

    Attributes:
        request_id: The execution's id.
        status: ``queued``, ``pending``, ``running``, ``waiting_callback``, ``complete``...
        session_id: The session, when known (the ``queued`` report).
        callback_id: The callback of a ``waiting_callback`` status.
        pending_tools: The names of the tools it waits for.
        pending_tool_calls: ``{"name", "id", "args"}`` of each tool it waits for.
        error_type: The service's error type of a failed execution.
        error_message: The service's error message of a failed execution.
    """

    request_id: str
    status: str
    session_id: str | None = None
    callback_id: str | None = None
    pending_tools: tuple[str, ...] = ()
    pending_tool_calls: tuple[dict[str, Any], ...] = ()
    error_type: str | None = None
    error_message: str | None = None

    @classmethod
    def queued(cls, request_id: str, session_id: str | None) -> ExecutionUpdate:
        """The report of a newly created execution."""
        return cls(request_id=request_id, status="queued", session_id=session_id)

    @classmethod
    def of(cls, status: ExecutionStatus, request_id: str) -> ExecutionUpdate:
        """The report of a status read."""
        error = status.error
        return cls(
            request_id=status.request_id or request_id,
            status=status.status,
            callback_id=status.callback_id,
            pending_tools=tuple(p.name for p in status.pending_tools),
            pending_tool_calls=tuple(
                {"name": p.name, "id": p.tool_use_id, "args": dict(p.input)}
                for p in status.pending_tools
            ),
            error_type=error.error_type if error else None,
            error_message=error.error_message if error else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as a dict: the fields above but the error ones.

        ``session_id`` is there when known (always for ``queued``).
        """
        data: dict[str, Any] = {
            "request_id": self.request_id,
            "status": self.status,
            "callback_id": self.callback_id,
            "pending_tools": list(self.pending_tools),
            "pending_tool_calls": [dict(c) for c in self.pending_tool_calls],
        }
        if self.session_id is not None or self.status == "queued":
            data["session_id"] = self.session_id
        return data


@dataclass(frozen=True)
class ToolOutcome:
    """What a local tool gave, as the adapter's runner reports it.

    Attributes:
        value: The tool's return value (sent as :func:`callback_result` says).
        is_error: Whether the tool failed; then ``{"error": text}`` is sent so that the
            model can react.
        text: The output as text (the error message of a failed tool).
    """

    value: Any = None
    is_error: bool = False
    text: str | None = None

    def result(self) -> dict[str, Any]:
        """The callback's result object."""
        if self.is_error:
            return {"error": self.text if self.text is not None else str(self.value)}
        return callback_result(self.value)


@dataclass(frozen=True)
class LocalToolCall:
    """A client tool run locally while the execution waited.

    Attributes:
        name: The tool's name.
        id: The ``toolUseId`` it answered.
        args: Its arguments.
        callback_id: The callback its result was submitted with.
        output: Its output as text, when the runner gave one.
        is_error: Whether it failed.
        request_id: The execution's id (not in :meth:`as_dict`).
    """

    name: str
    id: str
    args: dict[str, Any]
    callback_id: str | None
    output: str | None = None
    is_error: bool = False
    request_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """``{"name", "id", "args", "callback_id", "output", "is_error"}``."""
        return {
            "name": self.name,
            "id": self.id,
            "args": dict(self.args),
            "callback_id": self.callback_id,
            "output": self.output,
            "is_error": self.is_error,
        }


ToolRunner = Callable[
    [Sequence[PendingTool]], Sequence[ToolOutcome] | Awaitable[Sequence[ToolOutcome]]
]
"""Runs the pending tools (the adapter's framework calls); one outcome per tool, in order."""


# --------------------------------------------------------------------------- the waiter


class _Poller:
    """Backoff and deadline of one wait."""

    def __init__(self, request_id: str, settings: PollSettings, clock: Callable[[], float]):
        if (
            settings.initial_delay <= 0
            or settings.max_delay < settings.initial_delay
            or settings.timeout <= 0
        ):
            raise QuantValidationError(
                "polling needs 0 < initial_delay <= max_delay and timeout > 0"
            )
        self.request_id = request_id
        self.settings = settings
        self.delay = settings.initial_delay
        self.clock = clock
        self.deadline = clock() + settings.timeout
        self.answered: set[str] = set()

    def step(self, status: ExecutionStatus, can_answer: bool) -> str:
        """Decide what to do after reading ``status``: done, answer or wait."""
        if status.is_complete:
            return "done"
        if status.is_failed:
            err = status.error
            raise QuantExecutionFailedError(
                status.request_id or self.request_id,
                err.error_type if err else None,
                err.error_message if err else None,
            )
        if status.is_waiting and status.callback_id:
            if not can_answer:
                return "done"
            if status.callback_id not in self.answered:
                self.answered.add(status.callback_id)
                self.delay = self.settings.initial_delay
                return "answer"
        if self.clock() + self.delay > self.deadline:
            raise QuantExecutionTimeoutError(self.request_id, self.settings.timeout, status.status)
        return "wait"

    def next_delay(self) -> float:
        """The wait before the next poll; doubles each time up to the maximum."""
        delay = self.delay
        self.delay = min(self.delay * 2, self.settings.max_delay)
        return delay


class ExecutionWaiter:
    """One wait for a durable execution, driven the same way by the client and the adapters.

    Args:
        client: The :class:`~quant_ai.QuantClient` to poll and answer with.
        request_id: The execution's id.
        settings: Backoff and deadline.
        tool_names: The tools available locally; a wait for any other tool raises
            :class:`~quant_ai.QuantLocalToolMissingError` before anything is submitted.
            None: no check (the handler decides).
        how_to_provide: How to give the missing tools, for that error's message.
        on_update: Called with an :class:`ExecutionUpdate` on every change of status or
            callback (may return an awaitable in :meth:`await_`).
        on_status: Called with every raw status read.
        on_local_call: Called with each :class:`LocalToolCall` once its result is known.

    Attributes:
        local_calls: The local tool calls made so far.
        callback_id: The callback being answered.
    """

    def __init__(
        self,
        client: QuantClient,
        request_id: str,
        *,
        settings: PollSettings | None = None,
        tool_names: Collection[str] | None = None,
        how_to_provide: str = "",
        on_update: Callable[[ExecutionUpdate], Any] | None = None,
        on_status: Callable[[ExecutionStatus], Any] | None = None,
        on_local_call: Callable[[LocalToolCall], Any] | None = None,
    ) -> None:
        self.client = client
        self.request_id = request_id
        self.settings = settings or PollSettings()
        self.tool_names = tool_names
        self.how_to_provide = how_to_provide
        self.on_update = on_update
        self.on_status = on_status
        self.on_local_call = on_local_call
        self.local_calls: list[LocalToolCall] = []
        self.callback_id: str | None = None
        self._last: tuple[str, str | None] | None = None

    # ------------------------------------------------------------------ reports

    def announce_queued(self, session_id: str | None) -> ExecutionUpdate:
        """The ``queued`` report of an execution just started (counted as the first change)."""
        self._last = ("queued", None)
        return ExecutionUpdate.queued(self.request_id, session_id)

    def _changed(self, status: ExecutionStatus) -> ExecutionUpdate | None:
        key = (status.status, status.callback_id)
        if key == self._last:
            return None
        self._last = key
        return ExecutionUpdate.of(status, self.request_id)

    def _check(self, pending: Sequence[PendingTool], callback_id: str | None) -> None:
        if self.tool_names is not None:
            QuantLocalToolMissingError.check(
                self.request_id,
                callback_id,
                (p.name for p in pending),
                self.tool_names,
                how_to_provide=self.how_to_provide,
            )

    def _seen(self, status: ExecutionStatus) -> list[Any]:
        """Report a status read; the values the callbacks returned (awaitables, maybe)."""
        out: list[Any] = []
        if self.on_status is not None:
            out.append(self.on_status(status))
        update = self._changed(status)
        if update is not None and self.on_update is not None:
            out.append(self.on_update(update))
        if status.is_waiting and status.callback_id:
            self.callback_id = status.callback_id
            self._check(status.pending_tools, status.callback_id)
        return out

    def _results(
        self, pending: Sequence[PendingTool], outcomes: Sequence[ToolOutcome]
    ) -> tuple[dict[str, Any], list[LocalToolCall]]:
        if len(outcomes) != len(pending):
            raise QuantValidationError(
                f"the tool runner gave {len(outcomes)} outcomes for {len(pending)} tools"
            )
        results: dict[str, Any] = {}
        calls: list[LocalToolCall] = []
        for item, outcome in zip(pending, outcomes, strict=True):
            results[item.tool_use_id] = outcome.result()
            call = LocalToolCall(
                name=item.name,
                id=item.tool_use_id,
                args=dict(item.input),
                callback_id=self.callback_id,
                output=outcome.text,
                is_error=outcome.is_error,
                request_id=self.request_id,
            )
            self.local_calls.append(call)
            calls.append(call)
        return results, calls

    # ------------------------------------------------------------------ sync

    def _handler(self, run: ToolRunner) -> ToolHandler:
        def handler(pending: list[PendingTool]) -> dict[str, Any]:
            self._check(pending, self.callback_id)
            outcomes = run(pending)
            if inspect.isawaitable(outcomes):
                _discard(outcomes)
                raise QuantValidationError("the tool runner is async; use await_()")
            results, calls = self._results(pending, outcomes)
            for call in calls:
                if self.on_local_call is not None:
                    self.on_local_call(call)
            return results

        return handler

    def wait(
        self, run_tools: ToolRunner | None = None, *, tool_handler: ToolHandler | None = None
    ) -> ExecutionStatus:
        """Poll until the execution completes, answering its client tools on the way.

        Args:
            run_tools: Runs pending tools (recorded in :attr:`local_calls`).
            tool_handler: Or a plain handler returning ``{toolUseId: result}``.

        Returns:
            The ``complete`` status (or ``waiting_callback`` when neither is given).

        Raises:
            QuantExecutionFailedError: The execution failed.
            QuantExecutionTimeoutError: It did not finish in time.
            QuantLocalToolMissingError: It waits for a tool that is not available locally.
        """
        handler = self._handler(run_tools) if run_tools is not None else tool_handler
        client = self.client
        poller = _Poller(self.request_id, self.settings, client.clock)
        while True:
            status = client.get_execution(self.request_id)
            for value in self._seen(status):
                _discard(value)
            action = poller.step(status, handler is not None)
            if action == "done":
                return self._finish(status)
            if action == "answer":
                assert handler is not None
                assert status.callback_id
                results = handler(status.pending_tools)
                if inspect.isawaitable(results):
                    _discard(results)
                    raise QuantValidationError(
                        "tool_handler returned an awaitable; use await_for_execution()"
                    )
                try:
                    client.submit_tool_results(status.callback_id, results)
                except QuantNotFoundError:
                    logger.info(
                        "quant_ai: callback %s already used; polling on", status.callback_id
                    )
                continue
            client.transport.sleep(poller.next_delay())

    # ------------------------------------------------------------------ async

    def _ahandler(self, run: ToolRunner) -> ToolHandler:
        async def handler(pending: list[PendingTool]) -> dict[str, Any]:
            self._check(pending, self.callback_id)
            outcomes = run(pending)
            if inspect.isawaitable(outcomes):
                outcomes = await outcomes
            results, calls = self._results(pending, outcomes)
            for call in calls:
                if self.on_local_call is not None:
                    maybe = self.on_local_call(call)
                    if inspect.isawaitable(maybe):
                        await maybe
            return results

        return handler

    async def await_(
        self, run_tools: ToolRunner | None = None, *, tool_handler: ToolHandler | None = None
    ) -> ExecutionStatus:
        """Async twin of :meth:`wait` (runners, handlers and callbacks may be async)."""
        handler = self._ahandler(run_tools) if run_tools is not None else tool_handler
        client = self.client
        poller = _Poller(self.request_id, self.settings, client.clock)
        while True:
            status = await client.aget_execution(self.request_id)
            for value in self._seen(status):
                if inspect.isawaitable(value):
                    await value
            action = poller.step(status, handler is not None)
            if action == "done":
                return self._finish(status)
            if action == "answer":
                assert handler is not None
                assert status.callback_id
                results = handler(status.pending_tools)
                if inspect.isawaitable(results):
                    results = await results
                try:
                    await client.asubmit_tool_results(status.callback_id, results)
                except QuantNotFoundError:
                    logger.info(
                        "quant_ai: callback %s already used; polling on", status.callback_id
                    )
                continue
            await client.transport.asleep(poller.next_delay())

    def _finish(self, status: ExecutionStatus) -> ExecutionStatus:
        if status.is_complete and status.result is not None:
            # Counted under the model (or agent:<id>) that started it, when this client did.
            model = self.client._execution_models.pop(self.request_id, None)
            self.client._record(status.result.usage, model)
        return status


def _discard(value: Any) -> None:
    """Close a coroutine nobody will await (no 'never awaited' warning)."""
    if inspect.iscoroutine(value):
        value.close()


# --------------------------------------------------------------------------- the outcome


@dataclass(frozen=True)
class ExecutionOutcome:
    """What the final message of a ``complete`` execution is made of.

    Attributes:
        request_id: The execution's id.
        text: The answer text.
        usage: Its usage, when given.
        server_tools: The tools the service ran (``status`` defaults to ``complete``), the
            locally answered calls left out.
        tool_executions: ``result.toolExecutions`` as the service gave them.
    """

    request_id: str
    text: str
    usage: Usage | None
    server_tools: list[ToolUse] = field(default_factory=list)
    tool_executions: list[Any] = field(default_factory=list)


def execution_outcome(
    status: ExecutionStatus, request_id: str, local_calls: Sequence[LocalToolCall] = ()
) -> ExecutionOutcome:
    """Read a ``complete`` status into an :class:`ExecutionOutcome`."""
    result = status.result
    executions = list(result.tool_executions) if result is not None else []
    local_ids = {call.id for call in local_calls}
    server: list[ToolUse] = []
    for raw in executions:
        use = ToolUse.model_validate(raw)
        if use.tool_use_id and use.tool_use_id in local_ids:
            continue
        if use.status is None:
            use = use.model_copy(update={"status": "complete"})
        server.append(use)
    return ExecutionOutcome(
        request_id=status.request_id or request_id,
        text=result.response.content if result is not None else "",
        usage=result.usage if result is not None else None,
        server_tools=server,
        tool_executions=executions,
    )


# --------------------------------------------------------------------------- one durable call


@dataclass(frozen=True)
class DurableSpec:
    """How an adapter waits: the waiter's settings and its framework's hooks.

    Attributes:
        settings: Backoff and deadline.
        tool_names: The tools available locally (None: no check).
        how_to_provide: How to give missing tools (for the error message).
        on_update: Reports an :class:`ExecutionUpdate` (the ``queued`` one included).
        on_local_call: Reports a :class:`LocalToolCall`.
        runner: Makes the tool runner of a waiter (it may read ``waiter.callback_id``).
    """

    settings: PollSettings
    tool_names: Collection[str] | None = None
    how_to_provide: str = ""
    on_update: Callable[[ExecutionUpdate], Any] | None = None
    on_local_call: Callable[[LocalToolCall], Any] | None = None
    runner: Callable[[ExecutionWaiter], ToolRunner] | None = None

    def waiter(self, client: QuantClient, request_id: str) -> ExecutionWaiter:
        """A waiter with these settings and hooks."""
        return ExecutionWaiter(
            client,
            request_id,
            settings=self.settings,
            tool_names=self.tool_names,
            how_to_provide=self.how_to_provide,
            on_update=self.on_update,
            on_local_call=self.on_local_call,
        )


@dataclass(frozen=True)
class DurableResult:
    """A finished durable call.

    Attributes:
        status: The ``complete`` status.
        waiter: The waiter (its request id and :attr:`~ExecutionWaiter.local_calls`).
        session_id: The session the service assigned when the call started it.
    """

    status: ExecutionStatus
    waiter: ExecutionWaiter
    session_id: str | None = None


def run_durable(client: QuantClient, start: ChatRequest | str, spec: DurableSpec) -> DurableResult:
    """Start a durable execution (or resume one by id) and wait for it.

    A started execution is reported as ``queued`` first.

    Args:
        client: The core client.
        start: The request to start (``async: true`` is set) or the id of one to resume.
        spec: How to wait.
    """
    session_id: str | None = None
    if isinstance(start, str):
        waiter = spec.waiter(client, start)
    else:
        accepted = client.start_chat(start)
        session_id = accepted.session_id
        waiter = spec.waiter(client, accepted.request_id)
        if spec.on_update is not None:
            _discard(spec.on_update(waiter.announce_queued(session_id)))
    runner = spec.runner(waiter) if spec.runner is not None else None
    return DurableResult(waiter.wait(runner), waiter, session_id)


async def arun_durable(
    client: QuantClient, start: ChatRequest | str, spec: DurableSpec
) -> DurableResult:
    """Async twin of :func:`run_durable` (hooks and runners may be async)."""
    session_id: str | None = None
    if isinstance(start, str):
        waiter = spec.waiter(client, start)
    else:
        accepted = await client.astart_chat(start)
        session_id = accepted.session_id
        waiter = spec.waiter(client, accepted.request_id)
        if spec.on_update is not None:
            maybe = spec.on_update(waiter.announce_queued(session_id))
            if inspect.isawaitable(maybe):
                await maybe
    runner = spec.runner(waiter) if spec.runner is not None else None
    return DurableResult(await waiter.await_(runner), waiter, session_id)
