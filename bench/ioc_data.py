"""Five years of Hanoi-scale dossier history on PostgreSQL, for the IOC benchmark (bench/ioc.py).

    HANOISMART_PG_DIR=var/bench-ioc/pg HANOISMART_PG_PORT=55480 \
        scripts/postgres.sh .venv/bin/python bench/ioc_data.py --dossiers 200000

(bench/ioc.py runs it so, before measuring.)

After ``migrate`` and ``seed`` (Hanoi's 127 units, 147 agencies and the procedure catalog, run here), it
writes ``--dossiers`` dossiers (default 20 million: four million a year, the city's volume) received over the
``--years`` before today, with what hangs off them in proportion: 2–4 events each, their papers (the case's
mandatory components and some optional ones, digitised, reused or paper-only), one national-portal message per
received dossier, online payments and ratings; then the daily code sequences, the roll-ups (the dossiers app's
own ``rollups_rebuild``) and ``VACUUM ANALYZE``. It prints the time of every phase.

The mix follows the seeded catalog: ward-level procedures go to each ward's People's Committee, city-level
ones to the department the demo history uses (``dossiers.seeds.FIELD_DEPARTMENTS``); procedures are drawn by
the catalog's popularity and wards by a fixed random size. Online filing grows from about a quarter to about
60 % over the five years, paper-only papers fall, late dossiers fall; every agency has its own lateness,
online and satisfaction bias (so rankings differ). Most dossiers are finished (early ≈ 50 %, on time, late
≈ 2–15 % by agency); about 1 % are open, of which some forgotten and long overdue; a few are refused,
withdrawn or stopped. Due times are counted on the city's working calendar (``deadlines.WorkingTimeline``).

Rows are drawn day by day (ids follow time) and streamed with psycopg's binary ``COPY … FROM STDIN (FREEZE)``,
a chunk of ``--chunk`` dossiers at a time (memory stays constant), in one transaction that first empties the
dossier tables and drops their indexes and keys and rebuilds them at its end (bench/pg_bulk.py), so an
interrupted run leaves the database as it was; the roll-ups are rebuilt the same way. On the throwaway cluster
of scripts/postgres.sh the write-ahead log may grow to 4 GB between checkpoints meanwhile. It refuses any
database but PostgreSQL on 127.0.0.1/localhost, because it empties the dossier tables.

The same seed draws the same history, ending at the moment the generator runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pg_bulk import binary_types, emptied_without_keys, fewer_checkpoints

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))
VAR = PROJECT / "var" / "bench-ioc"

UTC = dt.UTC
DAY = 86400.0
HOUR = 3600.0
#: procedures.selectors.ONLINE_FEE_RULES_FROM: online fees change on this day (the generator checks it).
RULES_FROM = dt.date(2026, 1, 1)


def jsonb(document: Any) -> bytes:
    """A jsonb value as binary COPY carries it: the format version (1), then the JSON text."""
    return b"\x01" + json.dumps(document, ensure_ascii=False).encode()


EMPTY_JSON = jsonb({})

#: The tables written, with the columns each COPY fills (in the order of the generated tuples).
COLUMNS: dict[str, tuple[str, ...]] = {
    "dossiers_dossier": (
        "id", "public_id", "code", "procedure_id", "case_id", "agency_id", "unit_id", "applicant_name",
        "applicant_national_id", "applicant_phone", "applicant_email", "applicant_address", "channel",
        "is_fully_online", "status", "form_data", "delivery_method", "delivery_address", "fee_total",
        "fee_applicant", "fee_city", "payment_status", "submitted_at", "received_at", "due_at",
        "paused_since", "paused_seconds", "finished_at", "returned_at", "timeliness", "idempotency_key",
        "created_at", "updated_at",
    ),
    "dossiers_dossierevent": (
        "id", "dossier_id", "at", "actor_label", "actor_role", "action", "from_status", "to_status",
        "step_name", "note", "attachment", "details",
    ),
    "dossiers_dossiercomponent": (
        "id", "public_id", "dossier_id", "component_id", "name", "source", "file", "file_name",
        "content_type", "size", "sha256", "is_supplement", "created_at",
    ),
    "dossiers_portalsyncmessage": (
        "id", "dossier_id", "sequence", "status", "payload", "state", "attempts", "delivered_at",
        "last_error", "created_at",
    ),
    "dossiers_payment": (
        "id", "public_id", "dossier_id", "amount", "payer", "state", "gateway", "gateway_ref",
        "receipt_number", "created_at", "paid_at",
    ),
    "dossiers_rating": ("id", "dossier_id", "scores", "total", "overall", "comment", "created_at"),
}  # fmt: skip
#: Emptied with the others (rebuilt at the end: code sequences, roll-ups) or left empty (apology letters).
OTHER_TABLES = (
    "dossiers_apologyletter",
    "dossiers_dossiercodesequence",
    "dossiers_dossierdailyrollup",
    "dossiers_dossieragencydayrollup",
)

NAMES = (
    "Nguyễn Văn Hải", "Trần Thị Lan", "Lê Minh Tuấn", "Phạm Thị Hoa", "Vũ Đức Long", "Đỗ Thu Trang",
    "Hoàng Văn Nam", "Bùi Thị Mai", "Đặng Quốc Bảo", "Ngô Thị Hạnh", "Dương Văn Phúc", "Lý Thị Ngọc",
)  # fmt: skip


@dataclass
class Profile:
    """How one agency performs: its own share of late dossiers and biases on the city's trends."""

    late: float
    online: float
    digitised: float
    satisfied: float


@dataclass
class CaseInfo:
    id: int
    amount: float
    online_amount: float
    time_unit: str
    components: list[tuple[int, str, bool, bool]]  # (id, name, mandatory, has a document type)


@dataclass
class Offer:
    """An agency that takes a procedure: what a drawn dossier is made of."""

    agency_id: int
    agency_code: str
    agency_name: str
    unit_id: int
    procedure_id: int
    is_full_online: bool
    cases: list[CaseInfo]
    profile: Profile


@dataclass
class Chunk:
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {table: [] for table in COLUMNS})
    dossiers: int = 0


def database_guard() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")) and ("@127.0.0.1:" in url or "@localhost:" in url):
        return url
    sys.exit(
        "bench/ioc_data.py empties the dossier tables of its database: it needs PostgreSQL on 127.0.0.1 "
        f"(run it under scripts/postgres.sh), not {url or 'no DATABASE_URL'!r}."
    )


class Generator:
    """Draws the dossiers day by day (so ids follow time) and hands them over a chunk at a time.

    Times are epoch seconds (floats) until a row is made; due times use the arithmetic of
    ``deadlines.WorkingTimeline`` on those floats (checked against it at start), not datetime objects: this
    loop runs twenty million times."""

    def __init__(self, *, count: int, years: int, seed: int, chunk_size: int, now: dt.datetime):
        from hanoismart.directory.selectors import working_calendar
        from hanoismart.dossiers.deadlines import WorkingTimeline

        self.count = count
        self.rng = random.Random(seed)
        self.chunk_size = chunk_size
        self.now = now.timestamp()
        self.last_day = (now + dt.timedelta(hours=7)).date()
        self.first_day = self.last_day.replace(year=self.last_day.year - years) + dt.timedelta(days=1)
        self.timeline = WorkingTimeline(
            working_calendar(), first_year=self.first_day.year, last_year=self.last_day.year + 1
        )
        self.offset = self.timeline.offset  # Asia/Ho_Chi_Minh: +7 h, no daylight saving
        self.origin_day = self.timeline.first_epoch_day
        self.blocks = self.timeline.blocks
        self.offers, weights = self._offers()
        self.cum_weights = list(itertools.accumulate(weights))
        self.fees = self._fees()
        self.scores = self._score_patterns()
        self.ids = dict.fromkeys(COLUMNS, 0)
        self.sequences: list[tuple[str, dt.date, int]] = []
        self.counts = {"open": 0, "overdue_now": 0, "late": 0, "online": 0}
        self.progress = 0.0  # how far into the span the day being drawn is (0 to 1): drives the trends
        self._check_due_times()

    # -- the catalog ------------------------------------------------------------------------------------

    def _offers(self) -> tuple[list[Offer], list[float]]:
        from hanoismart.directory.models import Agency, AgencyKind, Unit
        from hanoismart.dossiers.seeds import FIELD_DEPARTMENTS
        from hanoismart.procedures.models import Case, Component, Level, Procedure

        rng = random.Random(self.rng.random())
        cases: dict[int, list[CaseInfo]] = {}
        components: dict[int, list[tuple[int, str, bool, bool]]] = {}
        for component in Component.objects.order_by("case_id", "order"):
            components.setdefault(component.case_id, []).append(
                (
                    component.pk,
                    component.name[:500],
                    component.is_mandatory,
                    bool(component.document_type_code),
                )
            )
        for case in Case.objects.filter(procedure__is_active=True).order_by("pk"):
            amount = float(case.processing_time)
            online = float(case.online_processing_time) if case.online_processing_time is not None else amount
            cases.setdefault(case.procedure_id, []).append(
                CaseInfo(case.pk, amount, online, case.time_unit, components.get(case.pk, []))
            )
        procedures = list(
            Procedure.objects.filter(pk__in=cases).select_related("field", "agency").order_by("pk")
        )
        wards = list(Unit.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code"))
        committees = {
            agency.unit_id: agency
            for agency in Agency.objects.filter(kind=AgencyKind.PEOPLES_COMMITTEE, is_active=True).order_by(
                "-code"
            )
        }
        departments = {agency.code: agency for agency in Agency.objects.filter(is_active=True)}

        def profile() -> Profile:
            return Profile(
                late=rng.uniform(0.02, 0.15),
                online=rng.uniform(-0.12, 0.12),
                digitised=rng.uniform(-0.1, 0.1),
                satisfied=rng.uniform(-0.15, 0.05),
            )

        offers: list[Offer] = []
        weights: list[float] = []
        for ward in wards:
            agency = committees.get(ward.pk)
            if agency is None:
                continue
            size = rng.lognormvariate(0, 0.45)  # wards differ in population and business
            agency_profile = profile()
            for procedure in procedures:
                if procedure.level == Level.WARD_COMMUNE:
                    offers.append(self._offer(agency, procedure, cases, agency_profile))
                    weights.append(size * max(procedure.popularity, 10))
        ward_total = sum(weights)
        city: list[tuple[Offer, float]] = []
        profiles: dict[int, Profile] = {}
        for procedure in procedures:
            if procedure.level != Level.CITY:
                continue
            code = procedure.agency.code if procedure.agency else FIELD_DEPARTMENTS.get(procedure.field.code)
            agency = departments.get(code or "")
            if agency is None:
                continue
            agency_profile = profiles.setdefault(agency.pk, profile())
            city.append(
                (self._offer(agency, procedure, cases, agency_profile), max(procedure.popularity, 10))
            )
        # City-level procedures: about 12 % of the dossiers (most of a city's dossiers are filed at the ward).
        city_total = sum(weight for _offer, weight in city) or 1
        for offer, weight in city:
            offers.append(offer)
            weights.append(weight * ward_total * 0.12 / 0.88 / city_total)
        if not offers:
            sys.exit("No procedures or agencies: `seed` did not run?")
        return offers, weights

    @staticmethod
    def _offer(agency: Any, procedure: Any, cases: dict[int, list[CaseInfo]], profile: Profile) -> Offer:
        return Offer(
            agency_id=agency.pk,
            agency_code=agency.code,
            agency_name=agency.name,
            unit_id=agency.unit_id,
            procedure_id=procedure.pk,
            is_full_online=procedure.online_level == "full",
            cases=cases[procedure.pk],
            profile=profile,
        )

    def _fees(self) -> dict[tuple[int, bool, bool], tuple[int, int]]:
        """(the applicant's part, the city's part) of every case, online or not, before and under the rules
        of 1 January 2026, from the catalog (``procedures.selectors.fee_for``)."""
        from hanoismart.procedures.models import Case
        from hanoismart.procedures.selectors import ONLINE_FEE_RULES_FROM, fee_for

        if ONLINE_FEE_RULES_FROM != RULES_FROM:
            sys.exit(f"The fee rules now start on {ONLINE_FEE_RULES_FROM}: change RULES_FROM.")
        fees = {}
        for case in Case.objects.prefetch_related("fees"):
            for online in (False, True):
                for day in (dt.date(2025, 12, 31), RULES_FROM):
                    quote = fee_for(case=case, channel="online" if online else "counter", on_date=day)
                    fees[(case.pk, online, day >= RULES_FROM)] = (quote.resident_pays, quote.city_pays)
        return fees

    def _score_patterns(self) -> dict[bool, list[tuple[bytes, int, str]]]:
        """Rating rows to draw from, for on-time and for late dossiers: (scores as jsonb, total, overall)."""
        from hanoismart.dossiers.models import RATING_CRITERIA

        patterns: dict[bool, list[tuple[bytes, int, str]]] = {False: [], True: []}
        for late in (False, True):
            for _ in range(300):
                scores = {}
                good = 0.55 if late else 0.82
                for criterion in RATING_CRITERIA:
                    roll = self.rng.random()
                    scores[criterion] = 2 if roll < good else (1 if roll < good + 0.13 else 0)
                if late:
                    scores["time"] = 0
                total = sum(scores.values())
                overall = (
                    "very_satisfied" if total >= 16 else ("satisfied" if total >= 11 else "not_satisfied")
                )
                patterns[late].append((jsonb(scores), total, overall))
        return patterns

    # -- time (epoch seconds) ---------------------------------------------------------------------------

    def _index(self, ts: float) -> int:
        """The timeline's day index of ``ts`` (local days)."""
        return int((ts + self.offset) // DAY) - self.origin_day

    def _in_office(self, ts: float) -> bool:
        if not self.timeline.is_working[self._index(ts)]:
            return False
        seconds = (ts + self.offset) % DAY
        return any(start <= seconds < stop for start, stop in self.blocks)

    def _next_opening(self, ts: float) -> float:
        """The next working day's opening after ``ts``, plus up to two hours of queue."""
        index = self._index(ts) + 1
        while not self.timeline.is_working[index]:
            index += 1
        opening = (index + self.origin_day) * DAY - self.offset + self.blocks[0][0]
        return opening + self.rng.uniform(0, 2 * HOUR)

    def _position(self, ts: float) -> float:
        """``WorkingTimeline.position`` of ``ts``."""
        local = ts + self.offset
        epoch_day = int(local // DAY)
        index = epoch_day - self.origin_day
        base = self.timeline.working_before[index] * self.timeline.day_seconds
        if not self.timeline.is_working[index]:
            return float(base)
        seconds = local - epoch_day * DAY
        done = 0.0
        for start, stop in self.blocks:
            if seconds <= start:
                break
            if seconds < stop:
                done += seconds - start
                break
            done += stop - start
        return base + done

    def _moment_at(self, position: float) -> float:
        """``WorkingTimeline.moment_at`` as epoch seconds."""
        day_seconds = self.timeline.day_seconds
        day_number, remainder = divmod(position, day_seconds)
        day_number = int(day_number)
        if remainder == 0 and day_number > 0:
            day_number -= 1
            remainder = day_seconds
        seconds = 0.0
        for (start, stop), done in zip(self.blocks, self.timeline.block_done, strict=True):
            if remainder <= done + (stop - start):
                seconds = start + (remainder - done)
                break
        return (self.timeline.working_days[day_number] + self.origin_day) * DAY - self.offset + seconds

    def _due(self, received: float, amount: float, unit: str) -> float:
        if unit == "working_days":
            return self._moment_at(self._position(received) + self.timeline.day_seconds * amount)
        if unit == "working_hours":
            return self._moment_at(self._position(received) + HOUR * amount)
        moment = dt.datetime.fromtimestamp(received, UTC)
        return self.timeline.due_at(received_at=moment, amount=amount, unit=unit).timestamp()

    def _check_due_times(self) -> None:
        """The float arithmetic above must give the app's due times (``WorkingTimeline.due_at``)."""
        rng = random.Random(1)
        start = dt.datetime.combine(self.first_day, dt.time(), UTC).timestamp()
        for _ in range(2000):
            received = start + rng.uniform(0, self.now - start)
            amount = rng.choice((0.5, 1, 3, 5, 12, 15, 20))
            for unit in ("working_days", "working_hours"):
                expected = self.timeline.due_at(
                    received_at=dt.datetime.fromtimestamp(received, UTC), amount=amount, unit=unit
                ).timestamp()
                if abs(self._due(received, amount, unit) - expected) > 1e-3:
                    raise AssertionError(
                        f"due time differs from WorkingTimeline at {received}, {amount} {unit}"
                    )

    # -- generation -------------------------------------------------------------------------------------

    def days(self) -> list[tuple[dt.date, int, float]]:
        """Every day of the span with its timeline index and its weight (working days carry the desks; on
        days off only online filings come in; the volume grows 8 % a year)."""
        span = (self.last_day - self.first_day).days + 1
        plan = []
        for offset in range(span):
            day = self.first_day + dt.timedelta(days=offset)
            index = (day - dt.date(1970, 1, 1)).days - self.origin_day
            weight = (1.0 if self.timeline.is_working[index] else 0.07) * (1.08 ** (offset / 365))
            plan.append((day, index, weight))
        return plan

    def run(self, write_chunk) -> None:
        """Draw every dossier, passing each full chunk to ``write_chunk``."""
        plan = self.days()
        total_weight = sum(weight for _day, _index, weight in plan)
        expected = 0.0
        made = 0
        chunk = Chunk()
        for number, (day, index, weight) in enumerate(plan):
            expected += self.count * weight / total_weight
            today = self.count - made if number == len(plan) - 1 else min(round(expected), self.count) - made
            if today <= 0:
                continue
            made += today
            self.progress = number / len(plan)
            self._day(day, index, today, chunk)
            if chunk.dossiers >= self.chunk_size:
                write_chunk(chunk)
                chunk = Chunk()
        if chunk.dossiers:
            write_chunk(chunk)

    def _day(self, day: dt.date, index: int, count: int, chunk: Chunk) -> None:
        rng = self.rng
        working = self.timeline.is_working[index]
        midnight = (index + self.origin_day) * DAY - self.offset
        latest = min(midnight + DAY, self.now) - 1  # today: only filings made so far
        (morning_start, morning_end), (afternoon_start, afternoon_end) = self.blocks[0], self.blocks[-1]
        morning = morning_end - morning_start
        office = morning + afternoon_end - afternoon_start
        filings = []
        for offer in rng.choices(self.offers, cum_weights=self.cum_weights, k=count):
            online_share = min(0.92, max(0.05, 0.25 + 0.35 * self.progress + offer.profile.online))
            online = not working or rng.random() < online_share
            if online:
                seconds = rng.uniform(6 * HOUR, 23.5 * HOUR)
            else:
                seconds = rng.uniform(0, office)
                seconds = (
                    morning_start + seconds if seconds < morning else afternoon_start + seconds - morning
                )
            submitted = midnight + seconds
            if submitted > latest:
                submitted = midnight + rng.uniform(0, max(latest - midnight, 1))
            filings.append((submitted, online, offer))
        filings.sort(key=lambda filing: filing[0])
        numbers: dict[str, int] = {}
        stamp = day.strftime("%y%m%d")
        rules = day >= RULES_FROM
        for submitted, online, offer in filings:
            number = numbers.get(offer.agency_code, 0) + 1
            numbers[offer.agency_code] = number
            self._dossier(chunk, offer, submitted, online, f"{offer.agency_code}-{stamp}-{number:04d}", rules)
        self.sequences.extend((code, day, last) for code, last in numbers.items())

    def _dossier(
        self, chunk: Chunk, offer: Offer, submitted: float, online: bool, code: str, rules: bool
    ) -> None:
        rng = self.rng
        now = self.now
        at = dt.datetime.fromtimestamp
        ids = self.ids
        case = offer.cases[0] if len(offer.cases) == 1 else rng.choice(offer.cases)
        ids["dossiers_dossier"] += 1
        dossier_id = ids["dossiers_dossier"]
        name = rng.choice(NAMES)
        channel = "online" if online else ("post" if rng.random() < 0.06 else "in_person")
        fully_online = online and offer.is_full_online and rng.random() < 0.8
        applicant_part, city_part = self.fees[(case.id, online, rules)]
        staff = offer.agency_name
        # (moment, action, from, to, by applicant?) — made into rows at the end
        events: list[tuple[float, str, str, str, bool]] = []
        received: float | None = None
        due: float | None = None
        paused: float | None = None
        finished: float | None = None
        returned: float | None = None
        timeliness = ""
        payment_status = "paid" if applicant_part else ("city_paid" if city_part else "none")
        if online:
            events.append((submitted, "submit", "", "1", True))
            if rng.random() < 0.015:  # refused at the desk
                refused = min(submitted + 2 * HOUR, now)
                events.append((refused, "refuse", "1", "3", False))
                status, updated = "3", refused
            else:
                received = submitted + rng.uniform(0.5 * HOUR, 16 * HOUR)
                if not self._in_office(received):
                    received = self._next_opening(received)
                if received >= now:
                    received = None
                status, updated = "1", submitted
        else:
            received = submitted
            status, updated = "2", submitted
        if received is not None:
            events.append((received, "receive" if online else "register", "1" if online else "", "2", False))
            due = self._due(received, case.online_amount if online else case.amount, case.time_unit)
            span = max(due - received, HOUR)
            late_share = offer.profile.late * (1.3 - 0.6 * self.progress)
            roll = rng.random()
            if roll < late_share:
                finish = due + rng.uniform(0.1 * DAY, 8 * DAY)
            elif roll < late_share + 0.5:
                finish = received + span * rng.uniform(0.1, 0.6)
            else:
                finish = due - rng.uniform(300, 3 * HOUR)
            finish = max(finish, received + 600)
            age = now - received
            stuck = 0.04 if age < 90 * DAY else (0.015 if age < 365 * DAY else 0.004)
            status, updated = "4", received
            if finish >= now or rng.random() < stuck:  # still open: in progress, or forgotten
                self.counts["open"] += 1
                if rng.random() < 0.12:
                    paused = min(received + span * 0.3, now - 300)
                    status, updated = "5", paused
                    events.append((paused, "request_supplement", "4", "5", False))
                elif applicant_part and rng.random() < 0.3:
                    status, payment_status = "6", "due"
                elif due < now:
                    self.counts["overdue_now"] += 1
            else:
                finished = finish
                ending = rng.random()
                if ending < 0.007:
                    status, updated = "7", finished
                    events.append((finished, "withdraw", "4", "7", True))
                elif ending < 0.01:
                    status, updated = "8", finished
                    events.append((finished, "stop", "4", "8", False))
                else:
                    if finished > due:
                        timeliness = "late"
                        self.counts["late"] += 1
                    elif int((finished + self.offset) // DAY) < int((due + self.offset) // DAY):
                        timeliness = "early"
                    else:
                        timeliness = "on_time"
                    events.append((finished, "sign", "4", "9", False))
                    returned = finished + rng.uniform(0.5 * HOUR, 30 * HOUR)
                    if returned >= now:
                        returned = None
                        status, updated = "9", finished
                    else:
                        status, updated = "10", returned
                        events.append((returned, "return", "9", "10", False))
            self._children(chunk, dossier_id, offer, case, online, received, status, applicant_part, returned,
                           timeliness)  # fmt: skip
        if online:
            self.counts["online"] += 1
        rows = chunk.rows
        event_rows = rows["dossiers_dossierevent"]
        event_id = ids["dossiers_dossierevent"]
        for moment, action, from_status, to_status, by_applicant in events:
            event_id += 1
            event_rows.append(
                (event_id, dossier_id, at(moment, UTC), name if by_applicant else staff,
                 "applicant" if by_applicant else "clerk", action, from_status, to_status, "", "", "",
                 EMPTY_JSON)
            )  # fmt: skip
        ids["dossiers_dossierevent"] = event_id
        rows["dossiers_dossier"].append(
            (dossier_id, rng.randbytes(16), code, offer.procedure_id, case.id, offer.agency_id, offer.unit_id,
             name, "", "", "", "", channel, fully_online, status, EMPTY_JSON, "collect", "",
             applicant_part + city_part, applicant_part, city_part, payment_status, at(submitted, UTC),
             None if received is None else at(received, UTC), None if due is None else at(due, UTC),
             None if paused is None else at(paused, UTC), 0, None if finished is None else at(finished, UTC),
             None if returned is None else at(returned, UTC), timeliness, "", at(submitted, UTC),
             at(updated, UTC))
        )  # fmt: skip
        chunk.dossiers += 1

    def _children(
        self,
        chunk: Chunk,
        dossier_id: int,
        offer: Offer,
        case: CaseInfo,
        online: bool,
        received: float,
        status: str,
        applicant_part: int,
        returned: float | None,
        timeliness: str,
    ) -> None:
        """A received dossier's papers, portal message, online payment and rating."""
        rng = self.rng
        rows = chunk.rows
        ids = self.ids
        at = dt.datetime.fromtimestamp
        received_at = at(received, UTC)
        progress = self.progress
        profile = offer.profile
        reuse_share = min(0.7, max(0.0, 0.08 + 0.32 * progress + profile.digitised))
        paper_share = min(0.8, max(0.02, 0.45 - 0.38 * progress - profile.digitised))
        components = rows["dossiers_dossiercomponent"]
        component_row_id = ids["dossiers_dossiercomponent"]
        for component_id, name, mandatory, has_type in case.components:
            if not mandatory and rng.random() > 0.3:
                continue
            roll = rng.random()
            if online:
                source = "reused" if roll < reuse_share else "digitised"
                if source == "reused" and roll < reuse_share * 0.15:
                    source = "reused_result"
            else:
                source = "not_digitised" if roll < paper_share else "digitised"
                if roll > 0.95:
                    source = "reused"
            if not has_type and source.startswith("reused"):
                source = "digitised"
            component_row_id += 1
            components.append(
                (component_row_id, rng.randbytes(16), dossier_id, component_id, name, source, "", "", "", 0,
                 "", False, received_at)
            )  # fmt: skip
        ids["dossiers_dossiercomponent"] = component_row_id
        roll = rng.random()
        if self.now - received < DAY and roll < 0.5:
            state, delivered = "pending", None
        elif roll < 0.015:
            state, delivered = "failed", None
        else:
            state, delivered = "delivered", at(min(received + 600, self.now), UTC)
        ids["dossiers_portalsyncmessage"] += 1
        rows["dossiers_portalsyncmessage"].append(
            (ids["dossiers_portalsyncmessage"], dossier_id, 1, status, EMPTY_JSON, state, 1, delivered, "",
             received_at)
        )  # fmt: skip
        if applicant_part and status != "6" and rng.random() < (0.9 if online else 0.15):
            paid = at(received + rng.uniform(60, 2 * HOUR), UTC)
            ids["dossiers_payment"] += 1
            rows["dossiers_payment"].append(
                (ids["dossiers_payment"], rng.randbytes(16), dossier_id, applicant_part, "applicant", "paid",
                 "bench", "", "", paid, paid)
            )  # fmt: skip
        if returned is not None and rng.random() < (0.3 if online else 0.08):
            rated = returned + rng.uniform(HOUR, 72 * HOUR)
            if rated < self.now:
                late = timeliness == "late" or rng.random() < -profile.satisfied
                scores, total, overall = rng.choice(self.scores[late])
                ids["dossiers_rating"] += 1
                rows["dossiers_rating"].append(
                    (ids["dossiers_rating"], dossier_id, scores, total, overall, "", at(rated, UTC))
                )


# -- the database ------------------------------------------------------------------------------------------


def _phase(timings: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    timings[name] = round(now - started, 1)
    print(f"    {name}: {timings[name]:.1f} s", flush=True)
    return now


def generate(*, count: int, years: int, seed: int, chunk_size: int) -> dict[str, Any]:
    """Empty the dossier tables and fill them; returns the phase timings and row counts."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from hanoismart.dossiers.services.rollups import rollups_rebuild

    timings: dict[str, float] = {}
    started = time.perf_counter()
    print("==> migrate and seed (units, agencies, procedures)", flush=True)
    call_command("migrate", verbosity=0)
    call_command("seed", verbosity=0)
    started = _phase(timings, "migrate_seed_s", started)

    fewer_checkpoints(os.environ["DATABASE_URL"])
    now = timezone.now()
    generator = Generator(count=count, years=years, seed=seed, chunk_size=chunk_size, now=now)
    print(
        f"==> {count:,} dossiers from {generator.first_day} to {generator.last_day} over "
        f"{len({offer.agency_id for offer in generator.offers})} agencies, "
        f"{len({offer.unit_id for offer in generator.offers})} units and "
        f"{len({offer.procedure_id for offer in generator.offers})} procedures",
        flush=True,
    )
    tables = list(COLUMNS)
    written = dict.fromkeys(COLUMNS, 0)
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own cursor, for COPY
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        types = binary_types(cursor, COLUMNS, raw=("uuid", "jsonb"))
        with emptied_without_keys(cursor, [*tables, *OTHER_TABLES]) as restored:
            started = time.perf_counter()
            last_report = [started, 0]

            def write_chunk(chunk: Chunk) -> None:
                for table, rows in chunk.rows.items():
                    if not rows:
                        continue
                    columns = ", ".join(COLUMNS[table])
                    # FREEZE: the rows are written frozen and all-visible (the table was emptied in this
                    # transaction), so no later VACUUM has to rewrite twenty million rows' hint bits.
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY, FREEZE)") as copy:
                        copy.set_types(types[table])
                        for row in rows:
                            copy.write_row(row)
                    written[table] += len(rows)
                done = written["dossiers_dossier"]
                if time.perf_counter() - last_report[0] > 30 or done == count:
                    rate = (done - last_report[1]) / (time.perf_counter() - last_report[0])
                    print(f"    {done:,} dossiers ({rate:,.0f}/s)", flush=True)
                    last_report[:] = [time.perf_counter(), done]

            generator.run(write_chunk)
            with cursor.copy(
                "COPY dossiers_dossiercodesequence (agency_code, day, last_number) FROM STDIN"
            ) as copy:
                for row in generator.sequences:
                    copy.write_row(row)
            _phase(timings, "copy_rows_s", started)
        timings["keys_and_indexes_s"] = restored["restore_s"]
        print(f"    keys_and_indexes_s: {restored['restore_s']} s", flush=True)
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(MAX(id), 1)) FROM {table}"  # noqa: S608 - our table names
            )
    print("==> roll-ups (dossiers.services.rollups.rollups_rebuild)", flush=True)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '512MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        with emptied_without_keys(cursor, list(OTHER_TABLES[2:])) as rollups_restored:
            started = time.perf_counter()
            rollups = rollups_rebuild()
            _phase(timings, "rollups_s", started)
        timings["rollup_keys_and_indexes_s"] = rollups_restored["restore_s"]
    started = time.perf_counter()
    print("==> VACUUM ANALYZE", flush=True)
    with connection.cursor() as cursor:
        for table in [*tables, *OTHER_TABLES]:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    _phase(timings, "vacuum_analyze_s", started)
    return {
        "dossiers": count,
        "years": years,
        "seed": seed,
        "first_day": generator.first_day.isoformat(),
        "last_day": generator.last_day.isoformat(),
        "generated_at": now.isoformat(timespec="seconds"),
        "rows": {**written, "dossiers_dossierdailyrollup": rollups},
        "open": generator.counts["open"],
        "open_overdue_not_paused": generator.counts["overdue_now"],
        "finished_late": generator.counts["late"],
        "online": generator.counts["online"],
        "database_bytes": size,
        "timings": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dossiers", type=int, default=20_000_000, help="how many (default 20,000,000)")
    parser.add_argument("--years", type=int, default=5, help="received over this many years up to today")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (the same seed, the same data)")
    parser.add_argument("--chunk", type=int, default=20_000, help="dossiers per COPY round")
    args = parser.parse_args()
    database_guard()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    started = time.perf_counter()
    result = generate(count=args.dossiers, years=args.years, seed=args.seed, chunk_size=args.chunk)
    result["total_s"] = round(time.perf_counter() - started, 1)
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "data.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
