"""bench-scale's two systems and their comparison: each a Kadra on the private FerretDB, measured part by part
in interleaved rounds (ABBA), each figure's better value over the rounds compared seeded/empty, with the CPU
every part used beside it (bench/scale.py runs it)."""
from __future__ import annotations

import os
import re
import time
import traceback
import uuid

from private_ferretdb import FerretDB, say
from rest_cpu import CpuMeter, broker_pid, cpu_at_rest, settle_until_quiet
from run import (AREAS, bench_env, bench_system, drop_databases, fmt, measure_area, measure_baselines,
                 stop_helpers)
from scale_figures import audit_page, audit_rows, login, outbox_delay
from tests.support.infra import create_vhost, delete_vhost, free_port

RATIO_GOAL = 0.9  # every figure seeded >= 0.9 of empty
# notify's delay figures on both systems at this steady rate (events/s): `make bench` takes half the throughput
# measured just before, which differed between the two systems and rounds (79-120/s in one run), so the two
# delays compared were measured at different loads. Below half of either system's throughput in every run.
NOTIFY_RATE = 80.0
BROKER = "RabbitMQ beam (the machine's, shared)"  # its name in the at-rest figures


# --- comparing -------------------------------------------------------------------------------------------

LOWER_IS_BETTER = ("ms", "MB RSS")
NOT_KADRA = ("bare ", "argon2id verify,", "echo RPC")  # baselines: the machine, not Kadra's data


def figure_key(figure: str) -> str:
    """A figure's name without the numbers a run puts in it (non-2xx counts, paced rates)."""
    return re.sub(r"(?<!\w)\d[\d,.]*", "#", re.sub(r"\([^)]*\)", "", figure)).strip()


def compare(empty: list[dict], seeded: list[dict]) -> list[dict]:
    by_key = {}
    for r in empty:
        by_key.setdefault(figure_key(r["figure"]), r)
    out = []
    for r in seeded:
        e = by_key.get(figure_key(r["figure"]))
        entry = {"figure": r["figure"], "unit": r["unit"], "seeded": r["value"], "empty": e["value"] if e else None}
        if e and e["value"] and r["value"] is not None:
            ratio = r["value"] / e["value"]
            lower = r["unit"] in LOWER_IS_BETTER
            entry["ratio"] = ratio  # seeded / empty
            entry["as_good"] = (1 / ratio if ratio else float("inf")) if lower else ratio  # >= 1: seeded as good
            entry["kadra"] = not r["figure"].startswith(NOT_KADRA) and "RSS" not in r["unit"]
            entry["ok"] = entry["as_good"] >= RATIO_GOAL if entry["kadra"] else None
        out.append(entry)
    return out


def print_comparison(entries: list[dict]) -> None:
    headers = ("figure", "empty", "seeded", "seeded/empty", "as good, each round", f">= {RATIO_GOAL} as good")
    lines = []
    for e in entries:
        met = "-" if e.get("ok") is None else ("yes" if e["ok"] else "NO")
        each = " ".join(fmt(v) for v in e.get("rounds", ()))
        lines.append((e["figure"][:100], f"{fmt(e['empty'])} {e['unit']}", f"{fmt(e['seeded'])} {e['unit']}",
                      fmt(e.get("ratio")), each, met))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))


# --- the run ---------------------------------------------------------------------------------------------

class Kadra:
    """One system of the run on the private FerretDB (`prefix`: the seeded databases, else fresh ones)."""

    def __init__(self, label: str, db: FerretDB, prefix: str | None, work: str):
        self.label, self.db, self.prefix = label, db, prefix
        run_id = uuid.uuid4().hex[:8]
        self.folder = os.path.join(work, label)
        os.makedirs(self.folder, exist_ok=True)
        self.vhost = f"kadra-scale-{label}-{run_id}"
        self.amqp = f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"
        smtp_port, port = free_port(), free_port()
        self.env = bench_env(run_id, self.folder, self.amqp, port, smtp_port)
        self.env["KADRA_MONGO_URI"] = db.uri
        if prefix:
            self.env["KADRA_MONGO_DB_PREFIX"] = prefix
        self.system = bench_system(self.env, self.folder, port, smtp_port)
        self.out = {"prefix": self.env["KADRA_MONGO_DB_PREFIX"], "logs": self.system.log_dir, "rounds": []}

    def start(self) -> "Kadra":
        create_vhost(self.vhost)
        say(f"{self.label}: starting the system (logs in {self.system.log_dir})")
        started = time.monotonic()
        self.system.start()
        self.system.wait_ready(600)
        self.out["ready_seconds"] = round(time.monotonic() - started, 1)
        say(f"{self.label}: ready in {self.out['ready_seconds']:.0f} s")
        return self

    def pids(self) -> dict[str, list[int]]:
        procs = {n: p.pid for n, p in self.system.procs.items() if n != "mailsink"}
        return {"services": [pid for n, pid in procs.items() if not n.startswith("gateway")],
                "gateway": [pid for n, pid in procs.items() if n.startswith("gateway")]}

    def stop(self) -> None:
        self.out["problems"] = self.system.problems(10)
        self.system.stop()
        delete_vhost(self.vhost)
        if not self.prefix:
            drop_databases(self.env)


def shared_processes(db: FerretDB) -> dict[str, int]:
    """The at-rest figure's processes that are not a system's own: the private FerretDB and the machine's broker."""
    processes = {"FerretDB (private)": db.proc.pid}
    rabbit = broker_pid()
    if rabbit:
        processes[BROKER] = rabbit
    return processes


def at_rest_and_outbox(kadra: Kadra, rest_seconds: float, settle: float, accounts: int) -> None:
    """On the seeded system alone (the empty one not started yet: it would share the private FerretDB): CPU of
    every process at rest, then the outbox delay."""
    label, db, system = kadra.label, kadra.db, kadra.system
    say(f"{label}: settling: until the database is quiet (the outbox relays' one adoption query each at "
        f"start), at most {settle:.0f} s")
    kadra.out["settle_seconds"] = settle_until_quiet(db.proc.pid, settle)
    say(f"{label}: quiet after {kadra.out['settle_seconds']:.0f} s")
    processes = shared_processes(db)
    processes.update({name: proc.pid for name, proc in system.procs.items() if name != "mailsink"})
    say(f"{label}: CPU at rest over {rest_seconds:.0f} s (/proc)")
    kadra.out["rest"] = cpu_at_rest(processes, rest_seconds)
    emails = [f"osoba{i:07d}@firma{i % 5003:04d}.example.pl"
              for i in range(1, accounts)][-200:]
    say(f"{label}: outbox delay, {len(emails)} forgot-password requests at 10/s")
    kadra.out["outbox"] = outbox_delay(system.base_url, kadra.amqp, emails)


PARTS = ("baselines", "audit", *AREAS)


def parts_from(text: str | None) -> tuple[str, ...]:
    """KADRA_SCALE_PARTS ("notify", "audit,users", …): the parts measured, in PARTS' order; the baselines
    always (the areas' figures are read beside them). Empty: every part. An unknown name: SystemExit."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = sorted(set(names) - set(PARTS))
    if unknown:
        raise SystemExit(f"KADRA_SCALE_PARTS: unknown part(s) {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    if not names:
        return PARTS
    return tuple(p for p in PARTS if p == "baselines" or p in names)


def measure_part(part: str, kadra: Kadra, state: dict, quick: bool) -> list[dict]:
    """One part of the figures on one system; `state` carries the round's context between its parts."""
    if part == "baselines":
        rows, state["ctx"] = measure_baselines(kadra.system, kadra.env, kadra.folder, quick=quick,
                                               context={"notify_db_prefix": kadra.env["KADRA_MONGO_DB_PREFIX"],
                                                        "notify_rate": NOTIFY_RATE})
        return rows
    if part == "audit":  # a fresh login each time: a round outlasts an access token (15 minutes)
        auth = login(kadra.system.base_url, *kadra.credentials)
        result = audit_page(kadra.system.base_url, auth, kadra.company_id)
        kadra.out.setdefault("audit", result)
        return audit_rows(result)
    rows, notes = measure_area(part, state["ctx"])
    kadra.out.setdefault("notes", []).extend(notes)
    return rows


def interleaved(systems: tuple[Kadra, Kadra], rounds: int, db: FerretDB, quick: bool,
                parts: tuple[str, ...] = PARTS) -> None:
    """Every part of the figures, in `rounds` rounds, each part on one system right after the other — first
    empty then seeded, the next round the other way round (ABBA): a machine that grows busier or quieter
    during the run (it is shared) moves both systems' figures alike instead of one half of the run. Each
    part's CPU (the private FerretDB, the system's services and gateway, the other system, the broker) and the
    machine's busy/steal share are recorded beside it."""
    rabbit = broker_pid()
    for r in range(rounds):
        order = systems if r % 2 == 0 else systems[::-1]
        states = {k.label: {} for k in systems}
        for k in systems:
            k.out["rounds"].append({"rows": [], "cpu": {}})
        try:
            for part in parts:
                for kadra in order:
                    other = next(k for k in systems if k is not kadra)
                    groups = {"FerretDB": [db.proc.pid], **kadra.pids(), "other system": sum(other.pids().values(), [])}
                    if rabbit:
                        groups["RabbitMQ"] = [rabbit]
                    say(f"round {r + 1}/{rounds}, {part}: {kadra.label}")
                    meter = CpuMeter(groups).start()
                    try:
                        rows = measure_part(part, kadra, states[kadra.label], quick)
                    except Exception:  # one part lost, not the run: said in the notes, the rest measured
                        kadra.out.setdefault("notes", []).append(
                            f"round {r + 1}, {part}: failed:\n{traceback.format_exc()}")
                        rows = []
                    kadra.out["rounds"][-1]["rows"].extend(rows)
                    kadra.out["rounds"][-1]["cpu"][part] = meter.stop()
        finally:
            for state in states.values():
                if "ctx" in state:
                    stop_helpers(state["ctx"])


def better(rounds: list[list[dict]]) -> list[dict]:
    """Each figure's better value over the rounds (the higher rate, the lower time): a figure is as fast as the
    system can be; a slower round is the machine's noise, which only adds. In the first round's order."""
    best: dict[str, dict] = {}
    for rows in rounds:
        for r in rows:
            key = figure_key(r["figure"])
            old = best.get(key)
            if old is None or r["value"] is None:
                best.setdefault(key, dict(r))
                continue
            lower = r["unit"] in LOWER_IS_BETTER
            if old["value"] is None or (r["value"] < old["value"] if lower else r["value"] > old["value"]):
                best[key] = dict(r)
    return list(best.values())


def print_part_cpu(systems: tuple[Kadra, Kadra]) -> None:
    print("\nCPU while each part ran (cpu-seconds; machine busy and steal: % of all cores):")
    headers = ("part", "round", "system", "wall s", "FerretDB", "services", "gateway", "RabbitMQ", "other system",
               "busy %", "steal %")
    lines = []
    rounds = len(systems[0].out["rounds"])
    for part in PARTS:
        for r in range(rounds):
            for kadra in systems:
                used = kadra.out["rounds"][r]["cpu"].get(part)
                if used is None:
                    continue
                cpu = used["cpu_s"]
                lines.append((part, str(r + 1), kadra.label, f"{used['seconds']:.1f}",
                              *(f"{cpu.get(g, 0.0):.1f}" for g in ("FerretDB", "services", "gateway", "RabbitMQ",
                                                                    "other system")),
                              f"{used['busy_pct']:.0f}", f"{used['steal_pct']:.1f}"))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
