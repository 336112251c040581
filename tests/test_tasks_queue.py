"""The embedded task queue: huey's SQLite storage in WAL mode without an fsync per commit; a task taking the
calls of itself queued behind it."""

from __future__ import annotations

from django.conf import settings

from hanoismart.tasks_queue import EmbeddedHuey, tasks_taken_from_queue


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


def test_a_task_takes_the_calls_of_itself_waiting_at_the_head_of_the_queue(tmp_path):
    huey = EmbeddedHuey("test", filename=str(tmp_path / "queue.sqlite3"), results=False)
    runs = []

    @huey.task()
    def note(value):
        runs.append([value, *(args[0] for args, _kwargs in tasks_taken_from_queue(huey, note, limit=2))])

    @huey.task()
    def other(value):
        runs.append(["other", value])

    # given calls queued: a later one scheduled, another task among them
    for value in (1, 2, 3, 4):
        note(value)
    other(5)
    note.schedule(args=(6,), delay=3600)
    note(7)

    # when the worker runs what is queued
    while (task := huey.dequeue()) is not None:
        huey.execute(task)

    # then a run takes at most two more calls, and stops at another task or a scheduled call, which keep
    # their turn
    assert runs == [[1, 2, 3], [4], ["other", 5], [7]]
    assert huey.scheduled_count() == 1


def test_in_immediate_mode_nothing_is_taken(tmp_path):
    huey = EmbeddedHuey("test", filename=str(tmp_path / "queue.sqlite3"), results=False, immediate=True)
    runs = []

    @huey.task()
    def note(value):
        runs.append([value, *tasks_taken_from_queue(huey, note, limit=5)])

    note(1)
    note(2)

    assert runs == [[1], [2]]
