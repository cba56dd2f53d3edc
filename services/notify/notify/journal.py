"""A local append-only journal of e-mails the SMTP server accepted, so the message log can be written later.

``Journal`` is the file; ``SentRecorder`` appends to it under the SMTP pool's commit lock, writes
the message log from it in batches, and releases the acks that wait for those writes.

Why: the moment the SMTP server answers 250 to the final "." and the moment notify records that
the e-mail went out must happen under one process-wide lock, or a SIGKILL between them could send
many e-mails twice. A message-log write in the database takes milliseconds and would serialise
every send; one ``write(2)`` to a local file takes microseconds. So, under the lock, the send is
appended here (one line of JSON, one ``os.write`` on an ``O_APPEND`` file descriptor, no user-space
buffer); the message log gets it later, in batches, and the broker's ack only after that.

What survives what:
- SIGKILL (or any crash of the process): the line is in the kernel's page cache once ``write``
  returned, so the file has it. On start, notify replays every journal the dead process left
  into the message log *before* it consumes anything; the redelivered message then finds
  ``sent`` and nothing is sent twice. At most one e-mail (the one between the 250 and the write)
  can be sent twice per kill, as before.
- Power loss or a kernel crash: no ``fsync``, so the last lines may be lost, and the e-mails they
  recorded (at most those accepted but not yet in the message log: a batch, bounded by the
  prefetch) may be sent again. An fsync per e-mail would cost a disk flush under the lock, which is
  the serialisation this file exists to avoid; the issue's bound is per SIGKILL.

Where: ``KADRA_NOTIFY_JOURNAL_DIR`` (default ``<temp dir>/kadra-notify-journal``), one
sub-directory per message-log database (so two systems on one machine never replay into each
other), one file per process, held with an exclusive ``flock``; a file nobody holds belongs to a
process that died, and the next one to start replays and removes it. The file is emptied whenever
everything in it is in the message log. Lines hold the event id, type, template, locale,
recipient and attempt count: no payload, so no token.

On Kubernetes the directory must outlive the container (an ``emptyDir`` volume does: it survives a
container restart after SIGKILL/OOM in the same pod; a clean SIGTERM empties the journal anyway);
a StatefulSet volume also covers a node that disappears.
"""
from __future__ import annotations

import datetime as dt
import errno
import fcntl
import glob
import json
import logging
import os
import re
import threading
import time
import uuid

import eventlet.queue
from pymongo.errors import PyMongoError

from kadra_defaults import clock, settings

log = logging.getLogger("notify.journal")

SUFFIX = ".journal"


def journal_root() -> str:
    return settings.current().notify_journal_dir


def _encode(record: dict) -> bytes:
    out = dict(record, sent_at=record["sent_at"].isoformat())
    return (json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def _decode(line: bytes) -> dict | None:
    try:
        record = json.loads(line)
        record["sent_at"] = dt.datetime.fromisoformat(record["sent_at"])
        if not isinstance(record["event_id"], str) or not isinstance(record["fields"], dict):
            return None
        int(record["attempts"])
        return record
    except (ValueError, KeyError, TypeError):
        return None  # a torn last line: its e-mail is the one a kill may send twice


class Journal:
    """This process's journal file under ``<root>/<database>/``."""

    def __init__(self, database: str, root: str | None = None):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", database)
        self.directory = os.path.join(root or journal_root(), safe)
        self.path = None
        self._fd = None
        self._size = 0
        self._replaying = threading.Lock()  # a green lock under nameko (eventlet's monkey patching)

    def replay(self, write_batch, batch_size: int = 500) -> int:
        """Write what dead processes journaled into the message log (``write_batch(records)``); remove their files.

        One replay at a time in this process: several workers take over a dead replica's claims at once (its
        liveness lapses for all of them together), and each replays before it reads the log. A second replay
        beside the first found the dead journal locked — by the first replay, not by a live process — skipped
        it and read the log before the first had written it: it sent again what the dead one had sent (2-3
        e-mails per SIGKILL on a loaded machine). Waiting here for the first, it finds the file gone and the
        sends in the log."""
        with self._replaying:
            return self._replay(write_batch, batch_size)

    def _replay(self, write_batch, batch_size: int) -> int:
        os.makedirs(self.directory, exist_ok=True)
        replayed = 0
        for path in sorted(glob.glob(os.path.join(self.directory, "*" + SUFFIX))):
            if path == self.path:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue  # another process replayed it first
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EACCES):
                        continue  # a live process's journal
                    raise
                with os.fdopen(os.dup(fd), "rb") as f:
                    records = [r for r in (_decode(line) for line in f) if r is not None]
                for start in range(0, len(records), batch_size):
                    write_batch(records[start:start + batch_size])
                replayed += len(records)
                if records:
                    log.warning("replayed the journal of a process that stopped without writing it all",
                                extra={"journal": os.path.basename(path), "records": len(records)})
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass  # replayed twice (harmless: the same writes again) and removed by the other one
            finally:
                os.close(fd)
        self._sweep_empty()
        return replayed

    def _sweep_empty(self) -> None:
        """Remove empty journals of dead processes of any database (test databases come and go)."""
        root = os.path.dirname(self.directory)
        for path in glob.glob(os.path.join(root, "*", "*" + SUFFIX)):
            try:
                if os.path.getsize(path):
                    continue  # records: only a process of that database replays them
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_size == 0:
                    os.unlink(path)
                    try:
                        os.rmdir(os.path.dirname(path))
                    except OSError:
                        pass
            except OSError:
                pass  # a live process's journal, or already gone
            finally:
                os.close(fd)

    def open(self) -> "Journal":
        for attempt in range(5):
            self.path = os.path.join(self.directory, f"{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}")
            os.makedirs(self.directory, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            except FileNotFoundError:  # another process removed the empty directory just now
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not swept away (as an empty dead journal) between the open and the lock
                self._fd = fd
                break
            os.close(fd)
        else:
            raise OSError(errno.EBUSY, f"could not open a journal in {self.directory}")
        self._size = 0
        return self

    def append(self, record: dict) -> None:
        """One ``write(2)``: once it returns, a SIGKILL no longer loses the record."""
        line = _encode(record)
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: say so, the caller treats it like a failed log write
            raise OSError(errno.ENOSPC, f"journal write cut short ({written} of {len(line)} bytes)")
        self._size += written

    def empty(self) -> None:
        """Everything journaled is in the message log: start the file again."""
        if self._fd is not None and self._size:
            os.ftruncate(self._fd, 0)
            self._size = 0

    def close(self, *, remove: bool) -> None:
        if self._fd is None:
            return
        if remove:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        os.close(self._fd)
        self._fd = None
        if remove:
            try:
                os.rmdir(self.directory)  # only when empty: a dead process's journal stays
            except OSError:
                pass


class SentRecorder:
    """Accepted e-mails: in the journal at once (under the commit lock), in the message log in batches.

    ``accepted`` runs under the SMTP pool's commit lock right after the 250: one file write. The
    writer thread puts what accumulated into the message log with one insert and then releases the
    outcomes (acks) that waited for it. Until then ``pending`` knows the event was sent, so a second
    copy of it is not sent (and its ack, too, waits for the write).
    """

    def __init__(self, store, journal: Journal, release, batch: int = 256):
        self.store = store
        self.journal = journal
        self.release = release
        self.batch = batch
        self._waiting: dict[str, list] = {}  # event id -> outcomes: journaled, not yet in the message log
        self._queue = eventlet.queue.LightQueue()

    def accepted(self, event_id: str, fields: dict, attempts: int) -> bool:
        """Record a send; True when it is journaled (the log write comes later), False when logged now."""
        record = {"event_id": event_id, "fields": fields, "attempts": attempts, "sent_at": clock.now()}
        try:
            self.journal.append(record)
        except OSError as exc:  # no journal (disk full?): write the message log here, under the lock
            log.error("journal write failed; writing the message log directly", extra={
                "event_id": event_id, "error": str(exc)[:300]})
            self.store.record_sent(event_id, fields, attempts)
            return False
        self._waiting[event_id] = []
        self._queue.put(record)
        return True

    def after(self, event_id: str, outcome) -> bool:
        """Hold `outcome` until `event_id`'s send is in the message log; False if it already is."""
        waiting = self._waiting.get(event_id)
        if waiting is None:
            return False
        waiting.append(outcome)
        return True

    def pending(self, event_id: str) -> bool:
        """Whether `event_id`'s send is journaled and its message-log write still on the way."""
        return event_id in self._waiting

    def run(self, stopping: threading.Event) -> None:
        """The writer thread: batches into the message log until `stopping` (then what is journaled is written)."""
        records, backoff = [], 0.1
        while True:
            if not records:
                try:
                    records.append(self._queue.get(timeout=1.0))  # idle: a stop is seen within a second
                except eventlet.queue.Empty:
                    if stopping.is_set():
                        return
                    continue
            while len(records) < self.batch:
                try:
                    records.append(self._queue.get_nowait())
                except eventlet.queue.Empty:
                    break
            try:
                self.store.record_sent_many(records)
            except PyMongoError as exc:  # journaled: nothing is lost, the acks wait
                log.warning("message log write failed; the journal keeps the sends, retrying", extra={
                    "records": len(records), "error": str(exc)[:300]})
                if stopping.is_set():
                    return  # left in the journal; the next start replays it
                time.sleep(backoff)
                backoff = min(5.0, backoff * 2)
                continue
            backoff = 0.1
            for record in records:
                for outcome in self._waiting.pop(record["event_id"], ()):
                    self.release(outcome)
            records = []
            if not self._waiting:
                self.journal.empty()

    @property
    def clean(self) -> bool:
        """Everything journaled is in the message log (the journal file may be removed)."""
        return not self._waiting
