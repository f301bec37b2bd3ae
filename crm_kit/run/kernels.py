"""Kernels started and warmed ahead of the steps that will run in them.

Starting a Jupyter kernel and importing pandas, matplotlib and crm_kit takes
about 2 s before a notebook's first line of analysis runs; the demo cycle's
chain of six notebooks paid it six times in a row. The runner instead keeps
a few kernels ready: each is started in the notebooks' folder with the run's
environment and has the common modules imported (silently: no cell, no
execution count, nothing in the notebook). A step takes a ready kernel, and
the next one starts warming while the step runs. The notebook itself is
unchanged; its import cell just finds the modules loaded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

__all__ = ["WARM_IMPORTS", "WarmKernels", "KERNEL_ARGUMENTS"]

#: the kernels' own start-up log kept to errors: its TCP notice ("Kernel is running over TCP without encryption",
#: a local kernel's loopback sockets) is no news to a user reading a run's output
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)

#: what every notebook's import cell loads (segmentation's scikit-learn is left to the one notebook that uses it);
#: ``import crm_kit`` alone no longer loads the demo, which the notebooks import
WARM_IMPORTS = (
    "import matplotlib.pyplot, pandas, IPython.display\n"
    "import crm_kit, crm_kit.artifacts, crm_kit.campaign, crm_kit.cycle, crm_kit.demo, crm_kit.discovery, crm_kit.experiment, crm_kit.periods, "
    "crm_kit.engine, crm_kit.params, crm_kit.plotting, crm_kit.presentation, crm_kit.results, crm_kit.teaching, "
    "crm_kit.uplift"
)

log = logging.getLogger(__name__)


class WarmKernels:
    """A queue of started, warmed kernels for a run's steps.

    Parameters
    ----------
    cwd : str or pathlib.Path
        The folder the kernels start in (the notebooks' folder, as papermill would use).
    needed : int
        How many kernels the run will take in all; no more are started.
    first : int
        How many kernels to start at once (the runner: as many as steps can start together).
    spares : int
        How many kernels to keep starting or ready once the first are taken; each warms
        beside the running steps and so takes a little of their cores.
    kernel_name : str
        The Jupyter kernel to start.
    code : str
        Run silently in each kernel once it is ready.
    timeout : float
        Seconds to wait for a kernel to start and for ``code`` to run.
    """

    def __init__(self, cwd: str | Path, *, needed: int, first: int = 1, spares: int = 1,
                 kernel_name: str = "python3", code: str = WARM_IMPORTS, timeout: float = 120) -> None:
        self.cwd, self.kernel_name, self.code, self.timeout = str(cwd), kernel_name, code, timeout
        self._to_start, self._spares = needed, spares
        self._queue: deque[Future] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max(1, first, spares), thread_name_prefix="crm-kit-kernel")
        for _ in range(max(1, first)):
            self._start_one(always=True)

    def _start_one(self, always: bool = False) -> None:
        with self._lock:
            if self._closed or self._to_start <= 0 or (not always and len(self._queue) >= self._spares):
                return
            self._to_start -= 1
            self._queue.append(self._pool.submit(self._warm))

    def _warm(self):
        from jupyter_client import AsyncKernelManager

        async def start() -> AsyncKernelManager:
            km = AsyncKernelManager(kernel_name=self.kernel_name)
            await km.start_kernel(cwd=self.cwd, extra_arguments=list(KERNEL_ARGUMENTS))
            kc = km.client()
            kc.start_channels()

            async def watched(step):
                # a kernel stopped while it warms (an interrupted run stops every kernel) or a run that closed
                # ends the wait at once, not after the timeout: the process exits only when this thread has
                task = asyncio.ensure_future(step)
                while not task.done():
                    await asyncio.wait({task}, timeout=0.5)
                    if not task.done() and (self._closed or not await km.is_alive()):
                        task.cancel()
                        raise RuntimeError("the kernel stopped, or the run ended, while it warmed")
                return task.result()

            try:
                await watched(kc.wait_for_ready(timeout=self.timeout))
                reply = await watched(kc.execute_interactive(self.code, silent=True, store_history=False,
                                                             timeout=self.timeout))
            except BaseException:
                await km.shutdown_kernel(now=True)
                raise
            finally:
                kc.stop_channels()
            if reply["content"]["status"] != "ok":
                await km.shutdown_kernel(now=True)
                raise RuntimeError(f"warming a kernel failed: {reply['content'].get('evalue', '')}")
            if self._closed:  # the run ended (or was interrupted) while this kernel warmed: nobody will take it
                await km.shutdown_kernel(now=True)
                raise RuntimeError("the run no longer needs a kernel")
            return km

        return asyncio.run(start())

    def take(self):
        """A ready kernel manager (waiting for the oldest warming one), or None if none could be started.

        Taking one starts the next when fewer than ``spares`` are left. None tells the caller to let papermill
        start a kernel of its own; the reason is logged.
        """
        with self._lock:
            future = self._queue.popleft() if self._queue else None
        self._start_one()
        if future is None:
            return None
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - a kernel that failed to warm is replaced by papermill's own
            log.warning("a warmed kernel was not ready (%s); the step starts its own", exc)
            return None

    @staticmethod
    def release(km) -> None:
        """Shut down a kernel a step has finished with.

        Called from a thread with a running event loop (``run_cycle`` started
        in a notebook, whose kernel runs one), the shutdown runs in a thread
        of its own: ``asyncio.run`` refuses to nest.
        """
        if km is None:
            return

        def shut_down() -> None:
            try:
                asyncio.run(km.shutdown_kernel(now=True))
            except Exception as exc:  # noqa: BLE001 - the kernel may have died with its notebook
                log.debug("kernel shutdown: %s", exc)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            shut_down()
            return
        worker = threading.Thread(target=shut_down, name="crm-kit-kernel-shutdown")
        worker.start()
        worker.join()

    def close(self, wait: bool = True) -> None:
        """Start no more kernels and shut down those started but not taken.

        With ``wait`` False (an interrupted run) it does not wait for kernels
        still warming; the runner stops every kernel process it started.
        """
        with self._lock:
            self._closed = True
            waiting = list(self._queue)
            self._queue.clear()
        for future in waiting:
            future.cancel()
        self._pool.shutdown(wait=wait)
        if not wait:
            return
        for future in waiting:
            if not future.cancelled() and future.exception() is None:
                self.release(future.result())
