"""The embedded task queue (DESIGN.md: huey on a SQLite file; production uses Redis): huey's SQLite
storage in WAL mode with ``synchronous=NORMAL``.

huey's own choices are an fsync on every commit (its default, SQLite's FULL: 4.4 ms per enqueue on this
project's disk, under a file lock every server thread and the worker share, so at most ~230 tasks a second
for the whole machine) or none at all (``fsync=False``, SQLite's OFF: a power cut may corrupt the file).
NORMAL in WAL mode syncs at checkpoints only (0.1 ms per enqueue) and never corrupts the file; a power cut
may lose the tasks of the last moments, which the periodic sweeps make good (the portal messages and the
notifications are rows in the database, delivered by the minute's sweeps when their task is lost)."""

from __future__ import annotations

from huey import SqliteHuey
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
