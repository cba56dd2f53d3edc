"""A progress line per phase of a long job (bench/scale_seed.py's seeding): done/total, rate, time left."""
from __future__ import annotations

import sys
import time


class Progress:
    """One line per phase: done/total, rate, time left (redrawn on a terminal, every 10 % otherwise)."""

    def __init__(self, what: str, total: int, out=sys.stdout):
        self.what, self.total, self.out = what, max(1, total), out
        self.done, self.started, self.last = 0, time.monotonic(), 0.0
        self.tty = out.isatty()
        self.next_mark = 0.1

    def __call__(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        fraction = self.done / self.total
        if self.tty and now - self.last > 0.2:
            self.last = now
            self.out.write("\r" + self._line(now) + " " * 4)
            self.out.flush()
        elif not self.tty and fraction >= self.next_mark:
            self.next_mark = int(fraction * 10) / 10 + 0.1
            self.out.write(self._line(now) + "\n")
            self.out.flush()

    def _line(self, now) -> str:
        took = now - self.started
        rate = self.done / took if took > 0 else 0
        left = (self.total - self.done) / rate if rate else 0
        width = 30
        filled = int(width * min(1.0, self.done / self.total))
        return (f"[seed] {self.what:<34} [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} "
                f"{rate:,.0f}/s, {took:.0f} s, ~{left:.0f} s left")

    def end(self) -> float:
        took = time.monotonic() - self.started
        if self.tty:
            self.out.write("\r" + self._line(time.monotonic()) + "\n")
        self.out.write(f"[seed] {self.what}: {self.done:,} in {took:.1f} s\n")
        self.out.flush()
        return took
