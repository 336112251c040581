"""The embedded task queue: huey's SQLite storage in WAL mode without an fsync per commit."""

from __future__ import annotations

from django.conf import settings

from hanoismart.tasks_queue import EmbeddedHuey


def test_the_queue_file_is_written_in_wal_mode_with_synchronous_normal(tmp_path):
    huey = EmbeddedHuey("test", filename=str(tmp_path / "queue.sqlite3"))
    connection = huey.storage.conn

    assert connection.execute("pragma journal_mode").fetchone() == ("wal",)
    assert connection.execute("pragma synchronous").fetchone() == (1,)  # NORMAL: synced at checkpoints


def test_a_task_goes_through_the_queue(tmp_path):
    huey = EmbeddedHuey("test", filename=str(tmp_path / "queue.sqlite3"), results=False)

    @huey.task()
    def double(value):
        return value * 2

    assert double(21) is None  # no result handle: nothing reads task results here
    task = huey.dequeue()
    assert (task.args, huey.execute(task)) == ((21,), 42)
    assert huey.dequeue() is None


def test_settings_use_it_and_keep_no_results():
    assert settings.HUEY["huey_class"] == "hanoismart.tasks_queue.EmbeddedHuey"
    assert settings.HUEY["results"] is False
