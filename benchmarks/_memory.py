"""Peak memory of a benchmark run, its worker processes included."""

from __future__ import annotations

import contextlib
import threading


class MemoryPeak:
    """Samples the resident memory of this process and its descendants in a thread."""

    def __init__(self, every_s: float = 0.2) -> None:
        import psutil

        self._me = psutil.Process()
        self._every = every_s
        self._stop = threading.Event()
        self.total_peak = 0  # this process and its descendants, summed
        self.process_peak = 0  # the largest single process
        self.children_peak = 0  # the descendants, summed
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            rss = []
            for p in self._me.children(recursive=True):
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:  # a process ended between listing and reading
                    continue
            self.children_peak = max(self.children_peak, sum(rss))
            with contextlib.suppress(psutil.Error):
                rss.append(self._me.memory_info().rss)
            self.total_peak = max(self.total_peak, sum(rss))
            self.process_peak = max(self.process_peak, max(rss, default=0))
            self._stop.wait(self._every)
