"""Sustained online dossier submissions over HTTP, against the production server (`hanoismart serve`: granian,
WSGI), side by side with the same rows inserted by plain SQL, so the ratio shows our overhead.

    HANOISMART_PG_PORT=55464 scripts/postgres.sh .venv/bin/python bench/dossiers.py --duration 20

(a) HTTP: wrk keeps ``--connections`` connections busy for ``--duration`` seconds, each request a
    POST /api/v1/dossiers (birth registration 1.001193, the catalog's most filed procedure) with a bearer
    token of one of ``--residents`` residents spread over ``--wards`` wards (each files with their own ward's
    committee, so the daily code sequences are as contended as in a city with that many busy desks), a fresh
    Idempotency-Key, a valid form and its two mandatory papers reused from the resident's store. The server
    does everything a real filing does: token check, form validation, fee, due preview, code allocation,
    rows, audit, national-portal message, notification outbox.
(b) SQL: the same rows the filing writes for the dossier itself (the code sequence upsert, the dossier,
    its two papers, its event) in one transaction per submission, from ``--connections`` threads each with
    its own psycopg connection, for the same duration: the database's limit for this shape of write.

The huey consumer (``manage.py run_huey``) runs beside the server, as in production: after each filing it
delivers the national-portal message and writes and sends the applicant's notification (``--no-worker``: the
tasks wait in the queue instead).

Reports submissions/s, p50/p95 latency and the ratio (b)/(a); PostgreSQL only for (b) (on SQLite only (a)).
``--in-process N`` measures instead, with no server and no load, N filings one after another through the
production WSGI application (``hanoismart.wsgi``: bearer requests on the short middleware chain, as the server
runs them) in one process: queries per filing (counted by an execute wrapper, not logged: Django's query log
renders every statement's text with its values, which the server never does), the process's CPU per filing
(``time.process_time()``) and, on PostgreSQL, the database backend's CPU per filing (``/proc/<pid>/stat``);
figures that hardly move with the machine's load (``--profile`` adds cProfile's top functions, timed on the
process's CPU). ``--test-client`` measures as before session 7: Django's test client, whole middleware chain,
every query logged.
``--without-rollups`` serves (a) with the daily roll-ups not maintained (bench/wsgi_without_rollups.py), so
bench/ioc.py can show what keeping them current costs a filing.
It writes into the database it is given: it refuses anything but SQLite under var/bench-dossiers/ or a server
on 127.0.0.1. Results go to var/bench-dossiers/dossiers-<time>.json and JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_DIR / "var" / "bench-dossiers"
PY = sys.executable
HOST = "127.0.0.1"
PROCEDURE, CASE = "1.001193", "dung-han"

SETUP = r"""
import datetime as dt, json, secrets
from django.utils import timezone
from oauth2_provider.models import AccessToken
from hanoismart.directory.models import Agency, AgencyKind, Unit
from hanoismart.directory.services import directory_seed
from hanoismart.documents.models import Document, Provenance
from hanoismart.identity.models import ClientApp, ClientScope, User
from hanoismart.procedures import seeds as procedure_seeds
from hanoismart.procedures.models import Case
import io
if not Unit.objects.exists():
    directory_seed()
if not Case.objects.filter(procedure__national_code=__PROCEDURE__, code=__CASE__).exists():
    procedure_seeds.run(demo=False, stdout=io.StringIO())
case = Case.objects.get(procedure__national_code=__PROCEDURE__, code=__CASE__)
components = list(case.components.filter(is_mandatory=True).order_by("order"))
app, made = ClientApp.objects.get_or_create(client_id="bench-dossiers", defaults=dict(
    name="bench dossiers", client_type="public", authorization_grant_type="authorization-code",
    redirect_uris="http://127.0.0.1:8765/callback", client_secret="", status="approved"))
if made:
    for scope in ("dossiers.read", "dossiers.write"):
        ClientScope.objects.create(app=app, scope=scope, purpose="bench")
committees = Agency.objects.filter(kind=AgencyKind.PEOPLES_COMMITTEE, is_active=True)
wards = list(Unit.objects.filter(parent__isnull=False, valid_to__isnull=True, agencies__in=committees)
             .distinct().order_by("code")[:__WARDS__])
residents = []
for number in range(__RESIDENTS__):
    national_id = f"0010959{number:05d}"
    user = User.objects.filter(national_id=national_id).first()
    if user is None:
        user = User.objects.create_user(national_id, None, full_name=f"Người Thử {number}",
                                        ward=wards[number % len(wards)], assurance_level=2)
    papers = {}
    for component in components:
        document = Document.objects.filter(owner_user=user, type_code=component.document_type_code).first()
        if document is None:
            document = Document.objects.create(owner_user=user, type_code=component.document_type_code,
                type_name=component.name[:300], title=component.name[:500], provenance=Provenance.DIGITISED)
        papers[component.pk] = str(document.public_id)
    token = secrets.token_urlsafe(30)
    AccessToken.objects.create(user=user, application=app, token=token, scope="dossiers.read dossiers.write",
                               expires=timezone.now() + dt.timedelta(hours=6))
    residents.append({"token": token, "national_id": national_id, "name": user.full_name, "papers": papers})
print("RESIDENTS=" + json.dumps(residents))
"""

# One request per call: the resident of this connection, a fresh Idempotency-Key. p95 comes from done().
LUA = r"""
local residents = {%s}
local run = "%s"
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local resident = residents[((id - 1) * 7919 + counter) %% #residents + 1]
  wrk.headers["Authorization"] = "Bearer " .. resident[1]
  wrk.headers["Idempotency-Key"] = run .. "-" .. id .. "-" .. counter
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/dossiers", nil, resident[2])
end
function done(summary, latency, requests)
  io.write(string.format("P50_US=%%d\nP95_US=%%d\nP99_US=%%d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


IN_PROCESS = r"""
import contextlib, cProfile, io, json, os, pstats, sys, time, uuid
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
plan = json.loads(os.environ["BENCH_PLAN"])

if plan["test_client"]:  # the session's earlier measure: the test client, every query logged
    client = Client(HTTP_HOST="127.0.0.1")

    def post(number):
        resident, body = plan["requests"][number % len(plan["requests"])]
        response = client.post("/api/v1/dossiers", body, content_type="application/json",
                               HTTP_AUTHORIZATION="Bearer " + resident, HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert response.status_code == 201, response.content[:500]

    counting = CaptureQueriesContext
else:  # the production WSGI application (the server's short chain for bearer requests), queries counted only
    from hanoismart.wsgi import application

    def post(number):
        resident, body = plan["requests"][number % len(plan["requests"])]
        body = body.encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/dossiers", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": "Bearer " + resident, "HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex,
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status = []
        answer = application(environ, lambda code, headers, exc_info=None: status.append(code))
        content = b"".join(answer)
        getattr(answer, "close", lambda: None)()
        assert status[0].startswith("201"), content[:500]

    class counting(contextlib.AbstractContextManager):  # noqa: N801 - used as CaptureQueriesContext
        def __init__(self, connection):
            self.connection, self.captured_queries = connection, []

        def _count(self, execute, sql, params, many, context):
            self.captured_queries.append(None)
            return execute(sql, params, many, context)

        def __enter__(self):
            self._wrapping = self.connection.execute_wrapper(self._count)
            self._wrapping.__enter__()
            return self

        def __exit__(self, *exc):
            return self._wrapping.__exit__(*exc)

def backend_cpu():
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

from huey.contrib.djhuey import HUEY

def drain():  # run the queued tasks here, as the worker would; how many ran
    ran = 0
    while (task := HUEY.dequeue()) is not None:
        HUEY.execute(task)
        ran += 1
    return ran

for number in range(5):  # warm-up: the first requests load the URLconf, the calendar, the schemas
    post(number)
HUEY.storage.flush_queue()  # what earlier runs left
count = plan["count"]
# cProfile on the process's CPU time (not the wall clock: waits for the database are not the process's work)
profiler = cProfile.Profile(time.process_time) if plan["profile"] else None
db_before, cpu_before, wall_before = backend_cpu(), time.process_time(), time.perf_counter()
with counting(connection) as queries:
    if profiler:
        profiler.enable()
    for number in range(count):
        post(number)
    if profiler:
        profiler.disable()
cpu, wall, db = time.process_time() - cpu_before, time.perf_counter() - wall_before, backend_cpu() - db_before
# Then the worker's part: the tasks the filings queued, run in this process (its own CPU and queries).
worker_profiler = cProfile.Profile(time.process_time) if plan["profile"] else None
db_before, cpu_before = backend_cpu(), time.process_time()
with counting(connection) as worker_queries:
    if worker_profiler:
        worker_profiler.enable()
    tasks = drain()
    if worker_profiler:
        worker_profiler.disable()
worker_cpu, worker_db = time.process_time() - cpu_before, backend_cpu() - db_before
if worker_profiler:
    worker_profiler.dump_stats(os.path.join(os.environ["HANOISMART_VAR_DIR"], "dossiers-worker.pstats"))
if profiler:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    stats.dump_stats(os.path.join(os.environ["HANOISMART_VAR_DIR"], "dossiers-in-process.pstats"))
    print(text.getvalue())
print("RESULT=" + json.dumps({
    "database": connection.vendor, "filings": count,
    "queries_per_filing": round(len(queries.captured_queries) / count, 1),
    "cpu_ms_per_filing": round(cpu / count * 1000, 2),
    "db_cpu_ms_per_filing": round(db / count * 1000, 2) if connection.vendor == "postgresql" else None,
    "wall_ms_per_filing": round(wall / count * 1000, 2),
    "worker_tasks_per_filing": round(tasks / count, 2),
    "worker_queries_per_filing": round(len(worker_queries.captured_queries) / count, 1),
    "worker_cpu_ms_per_filing": round(worker_cpu / count * 1000, 2),
    "worker_db_cpu_ms_per_filing":
        round(worker_db / count * 1000, 2) if connection.vendor == "postgresql" else None,
}))
"""


def in_process_run(residents: list[dict], *, count: int, profile: bool, test_client: bool = False) -> dict:
    plan = {
        "requests": [[resident["token"], body_for(resident)] for resident in residents],
        "count": count,
        "profile": profile,
        "test_client": test_client,
    }
    done = subprocess.run(
        [PY, str(PROJECT_DIR / "manage.py"), "shell"],
        env={**env(), "BENCH_PLAN": json.dumps(plan)},
        input=IN_PROCESS,
        text=True,
        capture_output=True,
        check=True,
    )
    if "Traceback" in done.stderr:
        sys.exit(done.stderr[-3000:])
    if profile:
        print(done.stdout.split("RESULT=")[0], flush=True)
    return json.loads(re.search(r"RESULT=(.*)", done.stdout).group(1))


def env() -> dict[str, str]:
    return {
        **os.environ,
        "HANOISMART_VAR_DIR": str(VAR_DIR),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        "PYTHONPATH": str(PROJECT_DIR / "src"),
    }


def database_guard() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{VAR_DIR / 'hanoismart.sqlite3'}"
    if "@127.0.0.1:" in url or "@localhost:" in url:
        return url
    sys.exit(f"bench/dossiers.py writes into its database; refusing {url!r} (use scripts/postgres.sh).")


def manage(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [PY, str(PROJECT_DIR / "manage.py"), *args],
        env=env(),
        input=stdin,
        text=True,
        capture_output=True,
        check=True,
    )
    if "Traceback" in done.stderr:
        sys.exit(done.stderr[-3000:])
    return done.stdout


def body_for(resident: dict) -> str:
    form = {
        "applicant_name": resident["name"],
        "applicant_id": resident["national_id"],
        "relationship": "cha",
        "child_name": "Nguyễn Văn Bé",
        "child_birth_date": "2026-01-15",
        "child_sex": "nam",
        "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
    }
    components = [
        {"component_id": int(pk), "document_id": public_id} for pk, public_id in resident["papers"].items()
    ]
    return json.dumps(
        {"procedure": PROCEDURE, "case": CASE, "form_data": form, "components": components},
        ensure_ascii=True,
    )


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (children of any of its threads)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu_seconds(pid: int | None) -> float:
    """CPU (user + system) of ``pid``'s live process tree, plus what its ended children used (the root's
    cutime/cstime: a database backend or a server worker that ended during the run still counts)."""
    if pid is None:
        return 0.0
    ticks = 0
    for member in _tree(pid):
        try:
            fields = _stat(member)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
        if member == pid:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def huey_backlog() -> int | None:
    """Tasks still waiting in the embedded (SQLite) huey queue: a worker that cannot keep up shows here."""
    import sqlite3

    path = VAR_DIR / "huey.sqlite3"
    if not path.exists():
        return None
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM task").fetchone()[0]


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server on the URL's port, when it runs on this machine (for its CPU)."""
    port = re.search(r":(\d+)/", url)
    if not port:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"/postgres") and port.group(1).encode() in argv:
            return int(entry.name)
    return None


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def http_run(port: int, residents: list[dict], *, duration: int, connections: int, threads: int) -> dict:
    rows = ",".join(f"{{{lua_string(r['token'])}, {lua_string(body_for(r))}}}" for r in residents)
    script = LUA % (rows, uuid.uuid4().hex[:12])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    output = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
         "-s", handle.name, f"http://{HOST}:{port}/api/v1/dossiers"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    count = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "requests": count,
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "per_second": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "p50_ms": round(int(re.search(r"P50_US=(\d+)", output).group(1)) / 1000, 1),
        "p95_ms": round(int(re.search(r"P95_US=(\d+)", output).group(1)) / 1000, 1),
        "p99_ms": round(int(re.search(r"P99_US=(\d+)", output).group(1)) / 1000, 1),
    }


SQL_SEQUENCE = """
INSERT INTO dossiers_dossiercodesequence (agency_code, day, last_number) VALUES (%s, %s, 1)
ON CONFLICT (agency_code, day) DO UPDATE SET last_number = dossiers_dossiercodesequence.last_number + 1
RETURNING last_number
"""
SQL_DOSSIER = """
INSERT INTO dossiers_dossier (public_id, code, procedure_id, case_id, agency_id, unit_id, applicant_id,
  applicant_name, applicant_national_id, applicant_phone, applicant_email, applicant_address, channel,
  is_fully_online, status, form_data, delivery_method, delivery_address, fee_total, fee_applicant, fee_city,
  payment_status, submitted_at, paused_seconds, timeliness, created_by_id, idempotency_key, created_at,
  updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', '', 'online', true, '1', %s, 'collect', '', 0, 0, 0,
  'none', now(), 0, '', %s, %s, now(), now())
RETURNING id
"""
SQL_COMPONENT = """
INSERT INTO dossiers_dossiercomponent (public_id, dossier_id, component_id, name, source, document_id, file,
  file_name, content_type, size, sha256, is_supplement, created_at)
VALUES (%s, %s, %s, %s, 'reused', NULL, '', '', '', 0, '', false, now())
"""
SQL_EVENT = """
INSERT INTO dossiers_dossierevent (dossier_id, at, actor_id, actor_label, actor_role, action, from_status,
  to_status, step_name, note, attachment, details)
VALUES (%s, now(), %s, %s, 'applicant', 'submit', '', '1', '', '', '', '{"channel": "online"}')
"""


def sql_run(url: str, plan: dict, *, duration: int, connections: int) -> dict:
    """(b): one transaction per submission, ``connections`` threads, for ``duration`` seconds."""
    import datetime as dt

    import psycopg

    dsn = re.sub(r"^postgres(ql)?://", "postgresql://", url)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    stop = time.perf_counter() + duration
    form = json.dumps({"child_name": "Nguyễn Văn Bé", "child_sex": "nam"})

    def worker(index: int) -> None:
        with psycopg.connect(dsn) as connection:
            number = 0
            while time.perf_counter() < stop:
                number += 1
                applicant = plan["applicants"][(index * 7919 + number) % len(plan["applicants"])]
                began = time.perf_counter()
                with connection.transaction(), connection.cursor() as cursor:
                    day = dt.date.today()  # noqa: DTZ011 - the code's day; the same for every row of the run
                    cursor.execute(SQL_SEQUENCE, (applicant["agency_code"], day))
                    last = cursor.fetchone()[0]
                    code = f"SQL{applicant['agency_code']}-{day:%y%m%d}-{last:04d}"
                    cursor.execute(
                        SQL_DOSSIER,
                        (uuid.uuid4(), code, plan["procedure_id"], plan["case_id"], applicant["agency_id"],
                         applicant["unit_id"], applicant["id"], applicant["name"], applicant["national_id"],
                         form, applicant["id"], f"sql-{index}-{number}-{uuid.uuid4().hex[:8]}"),
                    )  # fmt: skip
                    dossier_id = cursor.fetchone()[0]
                    cursor.executemany(
                        SQL_COMPONENT,
                        [(uuid.uuid4(), dossier_id, pk, name) for pk, name in plan["components"]],
                    )
                    cursor.execute(SQL_EVENT, (dossier_id, applicant["id"], applicant["name"]))
                latencies[index].append(time.perf_counter() - began)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = sorted(s for per_thread in latencies for s in per_thread)
    return {
        "requests": len(samples),
        "per_second": round(len(samples) / elapsed, 1),
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(samples[max(0, round(0.95 * len(samples)) - 1)] * 1000, 2),
        "p99_ms": round(samples[max(0, round(0.99 * len(samples)) - 1)] * 1000, 2),
    }


SQL_PLAN = r"""
import json
from hanoismart.directory.models import Agency, AgencyKind
from hanoismart.identity.models import User
from hanoismart.procedures.models import Case
case = Case.objects.get(procedure__national_code=__PROCEDURE__, code=__CASE__)
applicants = []
for user in User.objects.filter(national_id__startswith="0010959").select_related("ward"):
    agency = Agency.objects.filter(unit=user.ward, kind=AgencyKind.PEOPLES_COMMITTEE, is_active=True).first()
    applicants.append({"id": user.pk, "name": user.full_name, "national_id": user.national_id,
                       "agency_code": agency.code, "agency_id": agency.pk, "unit_id": user.ward_id})
components = [(c.pk, c.name) for c in case.components.filter(is_mandatory=True).order_by("order")]
print("PLAN=" + json.dumps({"procedure_id": case.procedure_id, "case_id": case.pk, "components": components,
                            "applicants": applicants}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument("--duration", type=int, default=20, help="seconds of each run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent submissions")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--wards", type=int, default=20)
    parser.add_argument("--skip-sql", action="store_true", help="only the HTTP run")
    parser.add_argument("--no-worker", action="store_true", help="no huey consumer beside the server")
    parser.add_argument(
        "--in-process",
        type=int,
        metavar="N",
        help="instead of the runs: N filings in one process, queries and CPU per filing (no server, no load)",
    )
    parser.add_argument("--profile", action="store_true", help="with --in-process: cProfile's top functions")
    parser.add_argument(
        "--test-client",
        action="store_true",
        help="with --in-process: through Django's test client, every query logged (the measure until "
        "session 7) instead of the production WSGI application with queries only counted",
    )
    parser.add_argument(
        "--without-rollups",
        action="store_true",
        help="serve with the daily roll-ups not maintained (bench/wsgi_without_rollups.py): their cost",
    )
    args = parser.parse_args()
    if not args.in_process and shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (Debian's package wrk)")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    url = database_guard()
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"==> {database}: migrate, seed the catalog and {args.residents} residents", flush=True)
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    setup = SETUP.replace("__PROCEDURE__", repr(PROCEDURE)).replace("__CASE__", repr(CASE))
    setup = setup.replace("__WARDS__", str(args.wards)).replace("__RESIDENTS__", str(args.residents))
    residents = json.loads(re.search(r"RESIDENTS=(.*)", manage("shell", stdin=setup)).group(1))
    if args.in_process:
        print(f"==> {args.in_process} filings in one process", flush=True)
        report = in_process_run(
            residents, count=args.in_process, profile=args.profile, test_client=args.test_client
        )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (VAR_DIR / f"dossiers-in-process-{stamp}.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        return

    serve = [PY, str(PROJECT_DIR / "manage.py"), "serve", "--host", HOST, "--port", str(args.port),
             "--workers", str(args.workers)]  # fmt: skip
    server_env = env()
    if args.without_rollups:
        # The same server command line, on the application with roll-up maintenance switched off.
        serve = manage(*serve[2:], "--dry-run").split()
        serve[-1] = "bench.wsgi_without_rollups:application"
        server_env["PYTHONPATH"] = f"{server_env['PYTHONPATH']}{os.pathsep}{PROJECT_DIR}"
    server = subprocess.Popen(
        serve, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    worker = None
    if not args.no_worker:
        worker = subprocess.Popen(
            [PY, str(PROJECT_DIR / "manage.py"), "run_huey"],
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://{HOST}:{args.port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        # One request first: it must succeed, or the numbers would measure refusals.
        request = urllib.request.Request(
            f"http://{HOST}:{args.port}/api/v1/dossiers",
            data=body_for(residents[0]).encode(),
            headers={
                "Authorization": f"Bearer {residents[0]['token']}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http://127.0.0.1
                first = json.loads(response.read())
        except urllib.error.HTTPError as error:
            sys.exit(f"the first submission was refused: {error.code} {error.read().decode()[:500]}")
        print(f"==> first submission {first['code']}; HTTP run ({args.connections} connections, "
              f"{args.duration} s)", flush=True)  # fmt: skip
        load_before = os.getloadavg()[0]
        processes = {
            "server": server.pid,
            "worker": worker.pid if worker else None,
            "postgresql": postmaster_pid(url) if database == "PostgreSQL" else None,
        }
        cpu_before = {name: tree_cpu_seconds(pid) for name, pid in processes.items()}
        http = http_run(
            args.port, residents, duration=args.duration, connections=args.connections, threads=args.threads
        )
        # Where the machine's CPU went per filing: the server's workers, the huey worker (which may still be
        # catching up: it is read at once, not drained) and PostgreSQL (every backend, the ended ones too).
        http["cpu_ms_per_filing"] = {
            name: round(1000 * (tree_cpu_seconds(pid) - cpu_before[name]) / max(http["requests"], 1), 2)
            for name, pid in processes.items()
            if pid is not None
        }
        http["tasks_left_in_queue"] = huey_backlog()
    finally:
        for process in (server, worker):
            if process is None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    sql = None
    if database == "PostgreSQL" and not args.skip_sql:
        print(f"==> SQL run ({args.connections} connections, {args.duration} s)", flush=True)
        plan_script = SQL_PLAN.replace("__PROCEDURE__", repr(PROCEDURE)).replace("__CASE__", repr(CASE))
        plan = json.loads(re.search(r"PLAN=(.*)", manage("shell", stdin=plan_script)).group(1))
        sql = sql_run(url, plan, duration=args.duration, connections=args.connections)
    report = {
        "database": database,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "residents": args.residents,
        "wards": args.wards,
        "rollups_maintained": not args.without_rollups,
        "worker": not args.no_worker,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "http": http,
        "sql": sql,
        "sql_to_http_throughput": round(sql["per_second"] / http["per_second"], 1)
        if sql and http["per_second"]
        else None,
        "target": {"per_second": 200, "p95_ms": 150},
    }  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (VAR_DIR / f"dossiers-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
