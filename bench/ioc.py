"""The operations center at Hanoi scale: the overview and a drill-down through the HTTP API, read from the
daily roll-ups, side by side with the same figures by plain aggregation over the dossier table, and what
keeping the roll-ups current costs a write.

    .venv/bin/python bench/ioc.py --dossiers 200000    # generate, then measure (PostgreSQL, own cluster)
    .venv/bin/python bench/ioc.py --reuse              # measure again on the data already generated
    .venv/bin/python bench/ioc.py                      # the full size: 20 million dossiers

Without DATABASE_URL it runs itself under scripts/postgres.sh with a cluster of its own
(HANOISMART_PG_DIR, default var/bench-ioc/pg; HANOISMART_PG_PORT, default 55480), kept between runs so
``--reuse`` finds the data. It refuses any database but PostgreSQL on 127.0.0.1: generating empties the
dossier tables.

1. Data: ``bench/ioc_data.py --dossiers N`` (five years, COPY, roll-ups rebuilt, ANALYZE), unless ``--reuse``
   finds dossiers already there.
2. A city manager and a ward leader (with their second factor) get a session each.
3. The production server (``manage.py serve``: granian, WSGI, ``--workers`` × 2 threads, connections kept
   60 s) answers; each scenario is first requested twice (it must answer 200), then wrk keeps
   ``--connections`` clients busy for ``--warmup`` + ``--duration`` seconds (only the latter measured), the
   requests of a scenario rotating over its URLs (the ward overview over ``--wards`` wards). A scenario whose
   second answer took over ``--slow`` seconds (or of which no request finished in the window: the plain
   aggregations at full size) is timed with ``--slow-requests`` requests one at a time instead.

   - ``overview_city`` / ``overview_ward``: ``GET /api/v1/ioc/overview`` for this month so far (the
     dashboard's default), of the city and of wards; ``overview_city_year``: the last 365 days;
   - ``drilldown``: ``GET /api/v1/ioc/kpis/on_time_rate?group_by=unit`` (the city by ward), this month;
   - ``stats_*``: the same figures by plain aggregation, ``GET /api/v1/dossiers/stats`` (one grouped
     COUNT/SUM over the dossiers, their papers, ratings, payments and portal messages) for the same period,
     unit and grouping.

   It records requests/s, p50/p95/p99 (wrk's own latency histogram), non-2xx answers, and the CPU time the
   server's workers and the database's processes used per request (/proc); and it checks that the overview's
   flow figures equal the plain aggregation's for the same period.
4. What keeping the roll-ups current costs (unless ``--skip-submissions``), each with the roll-ups
   maintained and with them switched off (bench/wsgi_without_rollups.py, in the server process only):
   online filings (``bench/dossiers.py``, HTTP only: a filing adds to no roll-up row until the desk
   receives it), then the desk receiving those dossiers (``POST /api/v1/dossiers/{code}/actions/receive``
   from ``--receive-connections`` clerks at once; each receipt adds to its day's roll-up row), half of them
   each way. After the receipts with roll-ups, today's rows must equal a recomputation
   (``rollups_check``); after those without, today's rows are rebuilt.

Targets (issue 6): overview ≤ 300 ms p95, drill-down ≤ 200 ms p95. Results: var/bench-ioc/ioc-<time>.json
and a Markdown table on stdout; bench/README.md ("Operations center at Hanoi scale") keeps the numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

from server import descendants  # bench/server.py: the processes below a pid, from /proc

PROJECT_DIR = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_DIR / "var" / "bench-ioc"
PY = sys.executable
HOST = "127.0.0.1"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
TARGETS_P95_MS = {"overview_city": 300, "overview_ward": 300, "drilldown": 200}
#: Each IOC scenario and its plain-aggregation twin.
PAIRS = {
    "overview_city": "stats_city",
    "overview_ward": "stats_ward",
    "drilldown": "stats_by_unit",
    "overview_city_year": "stats_city_year",
}

SETUP = r"""
import json
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from hanoismart.directory.models import Agency, Unit
from hanoismart.dossiers.models import DossierDailyRollup
from hanoismart.identity.models import StaffPosition, StaffRole, User

def person(national_id, name, role, agency):
    user = User.objects.filter(national_id=national_id).first()
    if user is None:
        user = User.objects.create_user(national_id, None, full_name=name)
    StaffPosition.objects.get_or_create(user=user, role=role, agency=agency)
    device, _made = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client.cookies["sessionid"].value

since = timezone.localdate() - __DAYS__
busiest = list(
    DossierDailyRollup.objects.filter(day__gte=since, unit__parent__isnull=False)
    .values("unit__code").annotate(n=Sum("received")).order_by("-n")
    .values_list("unit__code", flat=True)[:__WARDS__]
)
ward = Unit.objects.get(code=busiest[0])
committee = Agency.objects.filter(unit=ward, kind="peoples_committee").first()
print("SETUP=" + json.dumps({
    "manager": person(
        "001099888801", "Quản Lý Thử Tải", StaffRole.MANAGER, Agency.objects.get(code="000.00.01.H26")
    ),
    "leader": person("001099888802", "Chủ Tịch Thử Tải", StaffRole.LEADER, committee),
    "leader_ward": ward.code,
    "wards": busiest,
}))
"""

LUA = r"""
local paths = {%s}
local cookie = "%s"
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Cookie"] = "sessionid=" .. cookie})
end
function done(summary, latency, requests)
  io.write(string.format("P50_US=%%d\nP95_US=%%d\nP99_US=%%d\nMAX_US=%%d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def env() -> dict[str, str]:
    return {
        **os.environ,
        "HANOISMART_VAR_DIR": str(VAR_DIR),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        "PYTHONPATH": str(PROJECT_DIR / "src"),
    }


def under_postgres() -> None:
    """Without DATABASE_URL, run again under scripts/postgres.sh with this benchmark's own cluster."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        if url.startswith(("postgres://", "postgresql://")) and (
            "@127.0.0.1:" in url or "@localhost:" in url
        ):
            return
        sys.exit(f"bench/ioc.py empties the dossier tables; refusing {url!r} (PostgreSQL on 127.0.0.1 only).")
    os.environ.setdefault("HANOISMART_PG_DIR", str(VAR_DIR / "pg"))
    os.environ.setdefault("HANOISMART_PG_PORT", "55480")
    Path(os.environ["HANOISMART_PG_DIR"]).parent.mkdir(parents=True, exist_ok=True)
    script = PROJECT_DIR / "scripts" / "postgres.sh"
    os.execv("/bin/bash", ["bash", str(script), PY, __file__, *sys.argv[1:]])  # noqa: S606 - our own script


def manage(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [PY, str(PROJECT_DIR / "manage.py"), *args], env=env(), input=stdin, text=True, capture_output=True
    )
    if done.returncode or "Traceback" in done.stderr:
        sys.exit(done.stderr[-3000:])
    return done.stdout


def sql(query: str) -> str:
    """One value from the database (through Django's shell, so no client library is needed here)."""
    script = (
        f"from django.db import connection\nc = connection.cursor()\nc.execute({query!r})\n"
        "print(c.fetchone()[0])"
    )
    return manage("shell", "--no-imports", stdin=script).strip().splitlines()[-1]


# -- processes and CPU --------------------------------------------------------------------------------------


def cpu_seconds(root: int | None) -> float:
    """User + system CPU seconds of ``root`` and every process below it so far, those that already exited
    included (their time is in their parent's cutime/cstime; PostgreSQL's backends come and go)."""
    if root is None:
        return 0.0
    ticks = 0
    for pid in [root, *descendants(root)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(*roots: int | None, timeout: float = 600) -> None:
    """Wait until these processes use less than a tenth of a core (they finished what they were doing)."""
    deadline = time.monotonic() + timeout
    before = sum(cpu_seconds(root) for root in roots)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = sum(cpu_seconds(root) for root in roots)
        if now - before < 0.1:
            return
        before = now


def postmaster_pid() -> int | None:
    """The database server's main process on this machine (its backends are its children): the postgres
    process listening on DATABASE_URL's port, as scripts/postgres.sh starts it; None if not found."""
    port = re.search(r":(\d+)/", os.environ.get("DATABASE_URL", ""))
    if port is None:
        return None
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = path.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"postgres") and b"-p" in argv and port.group(1).encode() in argv:
            return int(path.parent.name)
    return None


# -- measuring ----------------------------------------------------------------------------------------------


def fetch(port: int, path: str, cookie: str, timeout: float = 1800) -> tuple[int, bytes, float]:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers={"Cookie": f"sessionid={cookie}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our loopback server
            return response.status, response.read(), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.perf_counter() - started


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(port: int, paths: list[str], cookie: str, *, duration: int, connections: int) -> dict:
    script = LUA % (", ".join(lua_string(path) for path in paths), cookie)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    output = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "120s",
         "-s", handle.name, f"http://{HOST}:{port}/"],
        capture_output=True, text=True, check=True, timeout=duration + 300,
    ).stdout  # fmt: skip
    os.unlink(handle.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", output)

    def micro(name: str) -> float:
        return round(int(re.search(rf"{name}_US=(\d+)", output).group(1)) / 1000, 1)

    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "per_second": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 2),
        "p50_ms": micro("P50"),
        "p95_ms": micro("P95"),
        "p99_ms": micro("P99"),
        "max_ms": micro("MAX"),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (int(timeouts.group(1)) if timeouts else 0),
    }


def one_at_a_time(port: int, urls: list[str], cookie: str, *, count: int) -> dict:
    """``count`` requests in a row, one client: for scenarios too slow for a timed wrk run."""
    samples, errors = [], 0
    started = time.perf_counter()
    for number in range(count):
        status, _body, seconds = fetch(port, urls[number % len(urls)], cookie)
        errors += status != 200
        samples.append(seconds * 1000)
    elapsed = time.perf_counter() - started
    ordered = sorted(samples)
    return {
        "requests": count,
        "per_second": round(count / elapsed, 2),
        "p50_ms": round(ordered[len(ordered) // 2], 1),
        "p95_ms": round(ordered[max(0, round(0.95 * count) - 1)], 1),
        "p99_ms": round(ordered[-1], 1),
        "max_ms": round(ordered[-1], 1),
        "errors": errors,
        "one_at_a_time": True,
    }


def scenarios(setup: dict, today: dt.date) -> dict[str, tuple[list[str], str]]:
    """Each scenario's URLs and which session asks (the city manager's unless said)."""
    month = f"from={today.replace(day=1).isoformat()}&to={(today + dt.timedelta(days=1)).isoformat()}"
    year = (
        f"from={(today - dt.timedelta(days=364)).isoformat()}&to={(today + dt.timedelta(days=1)).isoformat()}"
    )
    wards = setup["wards"]
    return {
        "overview_city": ([f"/api/v1/ioc/overview?{month}"], "manager"),
        "overview_ward": ([f"/api/v1/ioc/overview?unit={code}&{month}" for code in wards], "manager"),
        "overview_ward_leader": ([f"/api/v1/ioc/overview?{month}"], "leader"),
        "drilldown": ([f"/api/v1/ioc/kpis/on_time_rate?group_by=unit&{month}"], "manager"),
        "overview_city_year": ([f"/api/v1/ioc/overview?{year}"], "manager"),
        "stats_city": ([f"/api/v1/dossiers/stats?{month}"], "manager"),
        "stats_ward": ([f"/api/v1/dossiers/stats?unit={code}&{month}" for code in wards], "manager"),
        "stats_by_unit": ([f"/api/v1/dossiers/stats?group_by=unit&{month}"], "manager"),
        "stats_city_year": ([f"/api/v1/dossiers/stats?{year}"], "manager"),
    }


def compare_figures(bodies: dict[str, bytes]) -> dict:
    """The overview's flow figures against the plain aggregation's, for the same period and unit (from the
    answers to the scenarios' first requests)."""
    found = {}
    for ioc, plain in (("overview_city", "stats_city"), ("overview_city_year", "stats_city_year")):
        if ioc not in bodies or plain not in bodies:
            continue
        overview = json.loads(bodies[ioc])["figures"]
        stats = json.loads(bodies[plain])["total"]["figures"]
        names = sorted(set(overview) & set(stats) - {"overdue", "in_progress", "carried_over"})
        found[ioc] = {
            "figures_compared": len(names),
            "differences": {
                name: [overview[name], stats[name]] for name in names if overview[name] != stats[name]
            },
            "received": overview.get("received"),
        }
    return found


def serve(port: int, workers: int, *, without_rollups: bool = False) -> subprocess.Popen:
    """The production server (``manage.py serve``); ``without_rollups``: the same command line on the
    application with roll-up maintenance switched off (bench/wsgi_without_rollups.py)."""
    argv = [PY, str(PROJECT_DIR / "manage.py"), "serve", "--host", HOST, "--port", str(port),
            "--workers", str(workers)]  # fmt: skip
    server_env = env()
    if without_rollups:
        argv = manage(*argv[2:], "--dry-run").split()
        argv[-1] = "bench.wsgi_without_rollups:application"
        server_env["PYTHONPATH"] = f"{server_env['PYTHONPATH']}{os.pathsep}{PROJECT_DIR}"
    log = (VAR_DIR / "server.log").open("ab")
    server = subprocess.Popen(
        argv, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    sys.exit(f"the server did not start (see {log.name})")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def filings(args: argparse.Namespace) -> dict:
    """bench/dossiers.py (online filings over HTTP) with and without roll-up maintenance, alternating."""
    runs: dict[str, list[dict]] = {"with_rollups": [], "without_rollups": []}
    for _round in range(args.submission_rounds):
        for name, flag in (("with_rollups", []), ("without_rollups", ["--without-rollups"])):
            print(f"==> online filings, {name.replace('_', ' ')} ({args.submission_duration} s)", flush=True)
            output = subprocess.run(
                [PY, str(PROJECT_DIR / "bench" / "dossiers.py"), "--skip-sql", "--duration",
                 str(args.submission_duration), "--port", str(args.port + 1), "--workers", str(args.workers),
                 *flag],
                env={**os.environ}, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if output.returncode:
                return {"error": output.stderr[-2000:] or output.stdout[-2000:]}
            runs[name].append(json.loads(output.stdout[output.stdout.index("{\n") :])["http"])
    return {name: _summary(results) for name, results in runs.items()}


def _summary(results: list[dict]) -> dict:
    return {
        "per_second": [r["per_second"] for r in results],
        "p50_ms": [r["p50_ms"] for r in results],
        "p95_ms": [r["p95_ms"] for r in results],
        "requests": sum(r["requests"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


RECEIVE_SETUP = r"""
import json, secrets, datetime as dt
from django.utils import timezone
from oauth2_provider.models import AccessToken
from hanoismart.directory.models import Agency
from hanoismart.dossiers.models import Dossier
from hanoismart.identity.models import ClientApp, ClientScope, StaffPosition, StaffRole, User
app, made = ClientApp.objects.get_or_create(client_id="bench-ioc", defaults=dict(
    name="bench ioc", client_type="public", authorization_grant_type="authorization-code",
    redirect_uris="http://127.0.0.1:8765/callback", client_secret="", status="approved"))
if made:
    for scope in ("dossiers.read", "dossiers.write"):
        ClientScope.objects.create(app=app, scope=scope, purpose="bench")
waiting = list(Dossier.objects.filter(status="1", created_by__national_id__startswith="0010959")
               .order_by("pk").values_list("code", "agency_id"))
tokens = {}
for number, agency_id in enumerate(sorted({agency for _code, agency in waiting})):
    national_id = f"00109977{number:04d}"
    clerk = User.objects.filter(national_id=national_id).first()
    if clerk is None:
        clerk = User.objects.create_user(national_id, None, full_name=f"Cán Bộ Một Cửa {number}")
    StaffPosition.objects.get_or_create(user=clerk, role=StaffRole.CLERK, agency_id=agency_id)
    token = secrets.token_urlsafe(30)
    AccessToken.objects.create(user=clerk, application=app, token=token, scope="dossiers.read dossiers.write",
                               expires=timezone.now() + dt.timedelta(hours=6))
    tokens[agency_id] = token
print("RECEIVE=" + json.dumps([[code, tokens[agency]] for code, agency in waiting]))
"""

ROLLUPS_CHECK = r"""
import datetime as dt
from django.utils import timezone
from hanoismart.dossiers.services.rollups import rollups_check, rollups_rebuild
today = timezone.localdate()
mismatches = rollups_check(date_from=today, date_to=today + dt.timedelta(days=1))
print(f"MISMATCHES={len(mismatches)}")
if __REBUILD__:
    print(f"REBUILT={rollups_rebuild(date_from=today, date_to=today + dt.timedelta(days=1))}")
"""


def post_all(port: int, items: list[list[str]], *, connections: int, method: str = "POST") -> dict:
    """POST each dossier's ``receive`` once, from ``connections`` clients at once (keep-alive); with
    ``method="GET"``, read each dossier instead (to warm the server up)."""
    import http.client
    import queue
    import threading

    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)
    samples: list[float] = []
    errors: list[int] = []

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=120)
        while True:
            try:
                code, token = todo.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            path = f"/api/v1/dossiers/{code}" + ("/actions/receive" if method == "POST" else "")
            connection.request(
                method, path, body="{}" if method == "POST" else None,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            response = connection.getresponse()
            response.read()
            samples.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                errors.append(response.status)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(samples) or [0.0]
    return {
        "requests": len(samples),
        "per_second": round(len(samples) / elapsed, 1) if elapsed else 0,
        "p50_ms": round(ordered[len(ordered) // 2], 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
    }


def receipts(args: argparse.Namespace) -> dict:
    """The desk receives the dossiers just filed online (``POST …/actions/receive``, which adds each to its
    day's roll-up row): half with roll-ups maintained, half without, the same number of each."""
    found = re.search(r"RECEIVE=(.*)", manage("shell", stdin=RECEIVE_SETUP))
    items = json.loads(found.group(1))
    halves = {"with_rollups": items[0::2], "without_rollups": items[1::2]}
    out: dict = {"dossiers": len(items)}
    for name, chosen in halves.items():
        print(f"==> desk receipts, {name.replace('_', ' ')} ({len(chosen)} dossiers)", flush=True)
        server = serve(args.port + 2, args.workers, without_rollups=name == "without_rollups")
        try:
            warm = chosen[: 4 * args.receive_connections]
            post_all(args.port + 2, warm, connections=args.receive_connections, method="GET")
            out[name] = post_all(args.port + 2, chosen, connections=args.receive_connections)
        finally:
            stop(server)
        if name == "with_rollups":  # maintained under concurrency: today's rows must equal a recomputation
            check = manage("shell", stdin=ROLLUPS_CHECK.replace("__REBUILD__", "False"))
            out["rollups_exact_after_receipts"] = re.search(r"MISMATCHES=(\d+)", check).group(1) == "0"
    # The receipts made without roll-ups left today's rows behind: recompute them.
    rebuilt = manage("shell", stdin=ROLLUPS_CHECK.replace("__REBUILD__", "True"))
    out["rebuilt_today_rows"] = int(re.search(r"REBUILT=(\d+)", rebuilt).group(1))
    return out


def rollup_cost(args: argparse.Namespace) -> dict:
    """What keeping the roll-ups current costs: online filings (which add to no roll-up row until the desk
    receives them) and desk receipts (each adds to its day's row), each with and without maintenance."""
    found = {"filings": filings(args)}
    if "error" not in found["filings"]:
        found["receipts"] = receipts(args)
    for part in ("filings", "receipts"):
        runs = found.get(part, {})
        if "with_rollups" in runs and "without_rollups" in runs:
            best = {
                name: max(_list(runs[name]["per_second"])) for name in ("with_rollups", "without_rollups")
            }
            if best["without_rollups"]:
                runs["throughput_cost_percent"] = round(
                    100 * (1 - best["with_rollups"] / best["without_rollups"]), 1
                )
    return found


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def markdown(report: dict) -> str:
    lines = [
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | db CPU ms/req | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, run in report["scenarios"].items():
        target = TARGETS_P95_MS.get(name)
        mark = (
            "" if target is None else (f" ✓ (≤ {target})" if run["p95_ms"] <= target else f" ✗ (> {target})")
        )
        lines.append(
            f"| {name} | {run['per_second']} | {run['p50_ms']} | {run['p95_ms']}{mark} | {run['p99_ms']} | "
            f"{run.get('server_cpu_ms')} | {run.get('db_cpu_ms')} | {run['errors']} |"
        )
    lines.append("")
    for ioc, plain in PAIRS.items():
        a, b = report["scenarios"].get(ioc), report["scenarios"].get(plain)
        if a and b and a["p50_ms"] and b["p50_ms"]:
            ratio_p50, ratio_p95 = b["p50_ms"] / a["p50_ms"], b["p95_ms"] / a["p95_ms"]
            lines.append(f"- {plain} / {ioc}: ×{ratio_p50:.1f} at p50, ×{ratio_p95:.1f} at p95")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dossiers", type=int, default=20_000_000, help="dossiers to generate (default 20 M)"
    )
    parser.add_argument("--reuse", action="store_true", help="measure the data already generated")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per scenario (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per scenario (default 3)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument(
        "--port", type=int, default=8094, help="loopback port (the roll-up cost runs use the next two)"
    )
    parser.add_argument("--wards", type=int, default=10, help="wards the ward overview rotates over")
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument(
        "--slow",
        type=float,
        default=5,
        help="a scenario whose second answer takes longer (s) is timed one at a time",
    )
    parser.add_argument("--slow-requests", type=int, default=3, help="how many, for such a scenario")
    parser.add_argument(
        "--skip-submissions", action="store_true", help="skip the roll-up cost runs (filings, receipts)"
    )
    parser.add_argument("--submission-duration", type=int, default=20)
    parser.add_argument(
        "--submission-rounds",
        type=int,
        default=2,
        help="alternating pairs of filing runs (best of each kept)",
    )
    parser.add_argument("--receive-connections", type=int, default=8, help="desk clients receiving at once")
    args = parser.parse_args()
    under_postgres()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (Debian's package wrk)")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    report: dict = {"when": dt.datetime.now(tz=HANOI).isoformat(timespec="seconds"), "args": vars(args)}

    existing = int(sql("SELECT COUNT(*) FROM dossiers_dossier") or 0) if args.reuse else 0
    if existing:
        print(f"==> reusing {existing:,} dossiers", flush=True)
    else:
        print(f"==> generating {args.dossiers:,} dossiers (bench/ioc_data.py)", flush=True)
        subprocess.run(
            [PY, str(PROJECT_DIR / "bench" / "ioc_data.py"), "--dossiers", str(args.dossiers)],
            env=env(),
            check=True,
        )
    data = VAR_DIR / "data.json"
    report["data"] = json.loads(data.read_text()) if data.exists() else {}
    report["data"]["dossiers_now"] = int(sql("SELECT COUNT(*) FROM dossiers_dossier"))
    report["data"]["rollup_rows_now"] = int(sql("SELECT COUNT(*) FROM dossiers_dossierdailyrollup"))
    report["postgres"] = sql("SHOW server_version")
    manage("migrate", "--noinput")
    # Statistics for what a migration may have just added (a table filled from the roll-ups, an index).
    analyze = "from django.db import connection\nconnection.cursor().execute('ANALYZE')\n"
    manage("shell", "--no-imports", stdin=analyze)
    agency_rows = sql("SELECT COUNT(*) FROM dossiers_dossieragencydayrollup")
    report["data"]["agency_rollup_rows_now"] = int(agency_rows)
    report["data"]["month_rollup_rows_now"] = int(
        sql("SELECT COUNT(*) FROM dossiers_dossieragencymonthrollup")
    )
    report["data"]["open_stock_rows_now"] = int(sql("SELECT COUNT(*) FROM dossiers_dossieropenstock"))
    manage("collectstatic", "--noinput")
    today = dt.datetime.now(tz=HANOI).date()
    setup_script = SETUP.replace("__WARDS__", str(args.wards)).replace("__DAYS__", "dt.timedelta(days=31)")
    setup_script = "import datetime as dt\n" + setup_script
    setup = json.loads(re.search(r"SETUP=(.*)", manage("shell", stdin=setup_script)).group(1))
    cookies = {"manager": setup["manager"], "leader": setup["leader"]}
    paths = scenarios(setup, today)
    names = [name for name in paths if not args.only or name in args.only]
    postmaster = postmaster_pid()

    server = serve(args.port, args.workers)
    load_before = os.getloadavg()[0]
    try:
        report["first_requests"] = {}
        bodies = {}
        for name in names:
            urls, who = paths[name]
            status, bodies[name], seconds = fetch(args.port, urls[0], cookies[who])
            if status != 200:
                sys.exit(f"{name}: {urls[0]} answered {status}: {bodies[name][:500]!r}")
            again = seconds
            if seconds < 3 * args.slow:  # the first one warmed the caches up: ask again
                _status, _body, again = fetch(args.port, urls[0], cookies[who])
            report["first_requests"][name] = {
                "ms": round(seconds * 1000, 1),
                "again_ms": round(again * 1000, 1),
            }
        report["figures_check"] = compare_figures(bodies)
        print(f"==> figures: {json.dumps(report['figures_check'])}", flush=True)
        report["scenarios"] = {}
        for name in names:
            urls, who = paths[name]
            slow = report["first_requests"][name]["again_ms"] > args.slow * 1000
            if not slow:
                wrk(args.port, urls, cookies[who], duration=args.warmup, connections=args.connections)
                settle(server.pid, postmaster, timeout=60)  # let the warm-up's last requests finish first
            cpu_server, cpu_db = cpu_seconds(server.pid), cpu_seconds(postmaster)
            if slow:  # seconds a request: a few in a row, one at a time (wrk would finish hardly any)
                run = one_at_a_time(args.port, urls, cookies[who], count=args.slow_requests)
            else:
                run = wrk(args.port, urls, cookies[who], duration=args.duration, connections=args.connections)
                if not run["requests"]:  # none finished in the window: time them one at a time after all
                    settle(server.pid, postmaster)  # the server still works on what wrk gave up waiting for
                    cpu_server, cpu_db = cpu_seconds(server.pid), cpu_seconds(postmaster)
                    run = one_at_a_time(args.port, urls, cookies[who], count=args.slow_requests)
            if run["requests"]:
                run["server_cpu_ms"] = round(
                    1000 * (cpu_seconds(server.pid) - cpu_server) / run["requests"], 1
                )
                run["db_cpu_ms"] = (
                    round(1000 * (cpu_seconds(postmaster) - cpu_db) / run["requests"], 1)
                    if postmaster
                    else None
                )
            report["scenarios"][name] = run
            print(f"    {name}: {json.dumps(run)}", flush=True)
    finally:
        stop(server)
    report["load_average_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if not args.skip_submissions:
        report["rollup_cost"] = rollup_cost(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    output = VAR_DIR / f"ioc-{stamp}.json"
    output.write_text(json.dumps(report, indent=2))
    print(f"\n{markdown(report)}\n")
    if "rollup_cost" in report:
        print(f"roll-up cost: {json.dumps(report['rollup_cost'])}")
    print(f"raw results: {output.relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()
