"""The background workers of one `mila run` process, kept alive: a worker task that dies is logged, counted and
started again.

Each worker (outbox, mail, desk relay, campaigns, eraser) is a coroutine that runs until it is stopped and says
when it last did its work (`beat`). Before, a worker that raised died silently: complaint e-mails stopped for good
after one bad attachment name, and `mila run` exited 1 on SIGTERM when it collected the dead task. Now a guard task
watches each one; when the worker raises, returns, or is cancelled by anyone but the supervisor, the guard logs it,
counts it (`mila_worker_restarts_total{worker}`), shows it dead in /healthz and `mila_worker_up{worker} 0`, waits a
little (growing, up to `MAX_DELAY`) and starts it again. On shutdown the supervisor stops every worker: most are
cancelled (their own code puts unfinished work back), a graceful one is asked to stop and given `GRACE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.metrics import Metrics

log = logging.getLogger("mila.workers")

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
GRACE_SECONDS = 10.0
STEADY_SECONDS = 60.0  # a worker that ran this long before dying starts again after the first delay

WorkerFactory = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class _Worker:
    name: str
    factory: WorkerFactory
    graceful: bool
    task: asyncio.Task[None] | None = None
    guard: asyncio.Task[None] | None = None
    alive: bool = False
    last_success: float | None = None
    restarts: int = 0
    last_error: str | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class Supervisor:
    def __init__(self, metrics: Metrics | None = None, *, first_delay: float = FIRST_DELAY) -> None:
        self.metrics = metrics
        self.first_delay = first_delay
        self._workers: dict[str, _Worker] = {}
        self._stopping = False

    # --- what a worker calls ---------------------------------------------------------------------------------------
    def beat(self, name: str) -> None:
        """The worker `name` did its work just now."""
        worker = self._workers.get(name)
        if worker is None:
            return
        worker.last_success = time.time()
        if self.metrics is not None:
            self.metrics.worker_last_success.labels(name).set(worker.last_success)

    def heartbeat(self, name: str) -> Callable[[], None]:
        return lambda: self.beat(name)

    # --- starting and stopping ---------------------------------------------------------------------------------
    def start(self, name: str, factory: WorkerFactory, *, graceful: bool = False) -> None:
        """Run `factory(stop)` as the worker `name`, restarted whenever it ends before the supervisor stops it.

        `graceful`: on shutdown `stop` is set and the worker finishes by itself (within `GRACE_SECONDS`) instead of
        being cancelled — for a worker that would lose work if cut off half way."""
        if name in self._workers:
            raise ValueError(f"a worker named {name} runs already")
        worker = _Worker(name, factory, graceful)
        self._workers[name] = worker
        if self.metrics is not None:
            self.metrics.worker_restarts.labels(name)  # the series exists from the start, at 0
        worker.guard = asyncio.create_task(self._guard(worker), name=f"guard-{name}")

    def task(self, name: str) -> asyncio.Task[None] | None:
        """The running task of a worker (the tests kill it to see it come back)."""
        worker = self._workers.get(name)
        return worker.task if worker is not None else None

    async def _guard(self, worker: _Worker) -> None:
        delay = self.first_delay
        while not self._stopping:
            started = time.monotonic()
            worker.task = asyncio.create_task(worker.factory(worker.stop), name=worker.name)
            self._set_alive(worker, True)
            await asyncio.wait({worker.task})
            self._set_alive(worker, False)
            if self._stopping:
                return
            worker.last_error = self._why(worker.task)
            worker.restarts += 1
            if self.metrics is not None:
                self.metrics.worker_restarts.labels(worker.name).inc()
            if time.monotonic() - started > STEADY_SECONDS:
                delay = self.first_delay
            log.error(
                "worker died; starting it again",
                extra={"worker": worker.name, "error": worker.last_error, "restarts": worker.restarts,
                       "in_seconds": round(delay, 1)},
            )  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    @staticmethod
    def _why(task: asyncio.Task[None]) -> str:
        if task.cancelled():
            return "cancelled"
        exc = task.exception()
        if exc is None:
            return "returned"
        log.error("worker error", exc_info=exc, extra={"worker": task.get_name()})
        return type(exc).__name__

    def _set_alive(self, worker: _Worker, alive: bool) -> None:
        worker.alive = alive
        if self.metrics is not None:
            self.metrics.worker_up.labels(worker.name).set(1 if alive else 0)

    async def stop(self) -> None:
        """Stop every worker: the graceful ones are asked and given time, the others cancelled; then the guards."""
        self._stopping = True
        for worker in self._workers.values():
            worker.stop.set()
            if worker.task is not None and not worker.graceful:
                worker.task.cancel()
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=GRACE_SECONDS)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        for worker in self._workers.values():
            if worker.guard is not None:
                worker.guard.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker.guard
            if worker.task is not None and worker.task.done() and not worker.task.cancelled():
                worker.task.exception()  # retrieved: a worker that failed while stopping is not reported twice

    # --- what /healthz shows ---------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, dict[str, object]]:
        shown: dict[str, dict[str, object]] = {}
        for name, worker in sorted(self._workers.items()):
            last = worker.last_success
            shown[name] = {
                "alive": worker.alive,
                "last_success": datetime.fromtimestamp(last, UTC).isoformat(timespec="seconds") if last else None,
                "restarts": worker.restarts,
            }
            if worker.last_error is not None:
                shown[name]["last_error"] = worker.last_error
        return shown

    @property
    def names(self) -> list[str]:
        return sorted(self._workers)
