"""CPU of processes at rest, from /proc (bench-scale's "at rest" figures): per process tree, over a window."""
from __future__ import annotations

import os
import re
import subprocess
import time


TICKS = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(entry))
    return out


def _tree(pid: int, children: dict) -> list[int]:
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def _ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _machine() -> tuple[int, int, int]:
    """(steal, busy, total) ticks of all cores from /proc/stat's first line (user nice system idle iowait irq
    softirq steal)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    idle = values[3] + values[4]
    return values[7], sum(values) - idle, sum(values)


class CpuMeter:
    """CPU seconds each named group of process trees (a pid with its descendants: gunicorn's workers) used
    between start() and stop(), and the machine's busy and steal shares over the same window (steal: time
    the hypervisor gave this machine's cores to another guest — a noisy neighbour, which no ratio survives)."""

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups

    def _snapshot(self) -> dict[str, dict[int, int | None]]:
        children = _children()
        return {name: {p: _ticks(p) for pid in pids for p in _tree(pid, children)}
                for name, pids in self.groups.items()}

    def start(self) -> "CpuMeter":
        self.before, self.began, self.machine = self._snapshot(), time.monotonic(), _machine()
        return self

    def stop(self) -> dict:
        took = time.monotonic() - self.began
        after, machine = self._snapshot(), _machine()
        cpu = {}
        for name in self.groups:
            used = 0
            for p, now in after[name].items():
                then = self.before[name].get(p)
                if now is not None:
                    used += now - then if then is not None else now  # a process born meanwhile: all of it
            cpu[name] = used / TICKS
        steal, busy, total = (a - b for a, b in zip(machine, self.machine))
        return {"seconds": took, "cpu_s": cpu, "busy_pct": 100.0 * busy / total if total else 0.0,
                "steal_pct": 100.0 * steal / total if total else 0.0}


def cpu_at_rest(processes: dict[str, int], seconds: float) -> dict[str, float]:
    """% of one core each named process (with its descendants) used over `seconds`."""
    meter = CpuMeter({name: [pid] for name, pid in processes.items()}).start()
    time.sleep(seconds)
    used = meter.stop()
    return {name: 100.0 * s / used["seconds"] for name, s in used["cpu_s"].items()}


def settle_until_quiet(pid: int, limit: float, window: float = 5.0, quiet: float = 5.0) -> float:
    """Wait until process `pid` used under `quiet` % of a core over `window` seconds (or `limit` passed)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if cpu_at_rest({"p": pid}, window)["p"] < quiet:
            break
    return time.monotonic() - started


def broker_pid() -> int | None:
    """The RabbitMQ node on 5672 (the machine's; the cluster's nodes listen elsewhere)."""
    out = subprocess.run(["ss", "-ltnpH", "sport = :5672"], capture_output=True, text=True).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else None


# --- the outbox delay and the audit page -------------------------------------------------------------
