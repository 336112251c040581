"""The embedded task queue (DESIGN.md: huey on a SQLite file; production uses Redis): huey's SQLite
storage in WAL mode with ``synchronous=NORMAL``.

huey's own choices are an fsync on every commit (its default, SQLite's FULL: 4.4 ms per enqueue on this
project's disk, under a file lock every server thread and the worker share, so at most ~230 tasks a second
for the whole machine) or none at all (``fsync=False``, SQLite's OFF: a power cut may corrupt the file).
NORMAL in WAL mode syncs at checkpoints only (0.1 ms per enqueue) and never corrupts the file; a power cut
may lose the tasks of the last moments, which the periodic sweeps make good (the portal messages and the
notifications are rows in the database, delivered by the minute's sweeps when their task is lost).

``tasks_taken_from_queue`` lets a task that can serve many calls at once take the calls waiting behind it
(any storage)."""

from __future__ import annotations

from huey import Huey, SqliteHuey
from huey.api import Task, TaskWrapper
from huey.storage import SqliteStorage


class SqliteStorageSyncNormal(SqliteStorage):
    """huey's SQLite storage, its connections set to ``synchronous=NORMAL`` (safe in WAL mode)."""

    def _create_connection(self):
        connection = super()._create_connection()
        if (self._journal_mode or "").lower() == "wal":
            connection.execute("pragma synchronous=NORMAL")
        return connection


class EmbeddedHuey(SqliteHuey):
    """``settings.HUEY["huey_class"]`` of the embedded default."""

    storage_class = SqliteStorageSyncNormal


def tasks_taken_from_queue(huey: Huey, task: TaskWrapper, *, limit: int) -> list[tuple[tuple, dict]]:
    """Take out of ``huey``'s queue the calls of ``task`` waiting at its head, at most ``limit``, and return
    their arguments (``(args, kwargs)`` each): a task that can do the work of many calls at once runs them
    in one go, so under load one run serves many (and huey's own cost per task — execution, signals, the
    revocation check and flag — is paid once). Stops at the first other task, or call with a schedule, a
    chain or an expiry, which keeps its place (the head is looked at before it is taken). None in immediate
    mode (the tests): there every call ran when made. A call taken here is not checked for revocation (no
    call of those tasks is ever revoked)."""
    taken: list[tuple[tuple, dict]] = []
    if huey.immediate:
        return taken
    storage = huey.storage
    while len(taken) < limit:
        head = storage.enqueued_items(limit=1)
        if not head or not _plain_call(waiting := huey.deserialize_task(head[0]), task):
            break
        data = storage.dequeue()
        if data is None:
            break
        if data != head[0]:
            # Another worker took the head meanwhile: this one came next.
            waiting = huey.deserialize_task(data)
            if not _plain_call(waiting, task):
                huey.enqueue(waiting)  # at the end of the queue: rare enough to cost nobody their turn
                break
        taken.append((waiting.args, waiting.kwargs))
    return taken


def _plain_call(waiting: Task, task: TaskWrapper) -> bool:
    """A call of ``task`` to run now, without a chain or an expiry."""
    return type(waiting) is task.task_class and not (
        waiting.eta
        or waiting.on_complete
        or waiting.on_error
        or waiting.expires_resolved
        or waiting.chord_config is not None
    )
