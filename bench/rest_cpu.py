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


def cpu_at_rest(processes: dict[str, int], seconds: float) -> dict[str, float]:
    """% of one core each named process (with its descendants: gunicorn's workers) used over `seconds`."""
    children = _children()
    trees = {name: _tree(pid, children) for name, pid in processes.items()}
    before = {name: {p: _ticks(p) for p in pids} for name, pids in trees.items()}
    started = time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - started
    children = _children()
    result = {}
    for name, pid in processes.items():
        used = 0
        for p in set(_tree(pid, children)) | set(before[name]):
            now, then = _ticks(p), before[name].get(p)
            if now is not None:
                used += now - (then or 0) if then is not None else now  # a process born meanwhile: all of it
        result[name] = 100.0 * used / TICKS / took
    return result


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
