"""The customer's answer as it is produced: a blocking job in a worker thread, told as Server-Sent Events.

Wire format (``text/event-stream; charset=utf-8``), one JSON object per event, in this order::

    event: delta            zero or more: a piece of the customer's words, provisional
    data: {"text": "…"}

    event: turn             exactly one, last: the committed turn(s) as the HTML fragment ``_answer.html``
    data: {"html": "…"}     renders — it replaces everything the deltas showed

    event: error            instead of ``turn`` when producing the answer failed
    data: {"message": "…"}

Lines starting with ``:`` are keep-alive comments. ``<``, ``>`` and ``&`` inside the JSON are written as
``\\u003c`` … so no customer text appears as markup anywhere in the stream; the page inserts delta text with
``textContent`` and only the server-rendered (autoescaped) fragment as HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from typing import Any

from simulator.errors import SimulatorError

log = logging.getLogger("simulator.web")

MEDIA_TYPE = "text/event-stream; charset=utf-8"
# Proxies must pass every event on at once: no caching, no compression (which buffers), no nginx buffering.
HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
# Comfortably below the idle timeouts of common proxies (nginx: 60 s) while a slow model thinks.
KEEPALIVE_SECONDS = 15.0

Job = Callable[[Callable[[str], None]], str]


def event(name: str, payload: dict[str, Any]) -> str:
    """One SSE event whose data is ``payload`` as single-line JSON with ``<``, ``>`` and ``&`` escaped."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    data = data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    # json.dumps escapes newlines; U+2028/U+2029 are fine in JSON and SSE only splits on CR and LF.
    return f"event: {name}\ndata: {data}\n\n"


async def answer_events(
    job: Job,
    executor: Executor,
    *,
    failed: Callable[[BaseException], str],
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[str]:
    """Run ``job(on_delta)`` in ``executor`` and yield its deltas, then its result, as SSE events.

    The job blocks (the customer calls a model), so it runs in a worker thread; ``on_delta`` is called there and
    hands each piece to this generator through the event loop's thread-safe entry point
    (``call_soon_threadsafe`` onto an :class:`asyncio.Queue`), which keeps the pieces in order and the loop
    free. If the client goes away, this generator is cancelled but the job is not: it finishes in its thread
    and commits, so a reload shows the turn.

    Args:
        job: Produces the answer, calling ``on_delta`` with provisional text; returns the final HTML fragment.
        executor: Where the job runs.
        failed: The user-facing message for an exception the job raised.
        keepalive: Seconds of silence after which a comment line is sent.
    """
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def post(kind: str, value: Any) -> None:  # called from the worker thread
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening, the job goes on
            loop.call_soon_threadsafe(inbox.put_nowait, (kind, value))

    def finished(future: Future[str]) -> None:
        exc = future.exception()
        if exc is not None and not isinstance(exc, SimulatorError):
            log.error("streaming a customer turn failed", exc_info=exc)
        post("done", future)

    # The job sees the request's context variables (the interface language).
    future = executor.submit(contextvars.copy_context().run, job, lambda text: post("delta", text))
    future.add_done_callback(finished)
    getter: asyncio.Future[tuple[str, Any]] | None = None
    try:
        while True:
            # One get() kept across keep-alive timeouts, so a piece arriving at the deadline is never dropped.
            getter = getter or asyncio.ensure_future(inbox.get())
            done, _ = await asyncio.wait({getter}, timeout=keepalive)
            if not done:
                yield ": keep-alive\n\n"
                continue
            kind, value = getter.result()
            getter = None
            if kind != "delta":
                break
            if value:
                yield event("delta", {"text": value})
    finally:
        if getter is not None:
            getter.cancel()
    exc = future.exception()
    if exc is None:
        yield event("turn", {"html": future.result()})
    else:
        yield event("error", {"message": failed(exc)})
