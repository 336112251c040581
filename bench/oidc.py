"""Benchmark the OpenID Connect provider: client-credentials grants/s, refresh-token requests/s (rotated) and
password sign-ins/s, against the production server (`hanoismart serve`: granian, WSGI, 2 threads a worker).

Uses DATABASE_URL when set (run it under scripts/postgres.sh for PostgreSQL), else SQLite under
var/bench-oidc/.
wrk (Debian's package) drives a bounded load on 127.0.0.1 only; the rate limits are lifted for the run.
See bench/README.md ("OpenID Connect provider") for the results.

    scripts/postgres.sh .venv/bin/python bench/oidc.py --duration 10

``--in-process N`` measures instead what one request costs the application itself, without a server or wrk:
N client-credentials grants and N refreshes through the production WSGI application (``hanoismart.wsgi``,
called as granian calls it) in this process, reporting the
queries of one request, the CPU time per request (``time.process_time``) and the Python function calls per
request (cProfile's count); ``--profile`` adds cProfile's top entries (``BENCH_PROFILE_SORT``, e.g.
``cumulative``; ``BENCH_PROFILE_LINES``), ``BENCH_PROFILE_DUMP=PATH`` keeps the statistics in ``PATH.<flow>``.
On a shared, loaded machine the queries and the calls are the figures that do not move with the load.

    scripts/postgres.sh .venv/bin/python bench/oidc.py --in-process 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

PROJECT_DIR = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_DIR / "var" / "bench-oidc"
PY = sys.executable
HOST = "127.0.0.1"
SECRET = "bench-agency-secret-0123456789"  # noqa: S105 - a throwaway bench client
PASSWORD = "bench-password-2026!"  # noqa: S105 - a throwaway bench account
NATIONAL_ID = "001090999999"

SETUP = r"""
import datetime as dt, json, secrets
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from hanoismart.identity.models import ClientApp, ClientScope, User
agency, made = ClientApp.objects.get_or_create(client_id="bench-agency", defaults=dict(
    name="bench agency", client_type="confidential", authorization_grant_type="client-credentials",
    client_secret=SECRET, status="approved", is_city_agency=True))
if made:
    ClientScope.objects.create(app=agency, scope="dossiers.read", purpose="bench")
app, made = ClientApp.objects.get_or_create(client_id="bench-app", defaults=dict(
    name="bench app", client_type="public", authorization_grant_type="authorization-code",
    redirect_uris="http://127.0.0.1:8765/callback", client_secret="", status="approved"))
if made:
    for scope in ("openid", "profile"):
        ClientScope.objects.create(app=app, scope=scope, purpose="bench")
user = User.objects.filter(national_id=NATIONAL_ID).first()
if user is None:
    user = User.objects.create_user(NATIONAL_ID, PASSWORD, full_name="Bench Resident")
from hanoismart.identity.services.oidc import consent_record
consent_record(actor=user, app=app, granted_scopes=["openid", "profile"])
tokens = []
for _ in range(COUNT):
    access = AccessToken.objects.create(user=user, application=app, token=secrets.token_urlsafe(30),
        scope="openid profile", expires=timezone.now() + dt.timedelta(hours=1))
    raw = secrets.token_urlsafe(30)
    RefreshToken.objects.create(user=user, application=app, token=raw, access_token=access)
    tokens.append(raw)
print("TOKENS=" + json.dumps(tokens))
from django.contrib.auth.hashers import get_hasher
hasher = get_hasher()
print("HASHER=" + json.dumps({"algorithm": hasher.algorithm, "time_cost": getattr(hasher, "time_cost", None),
    "memory_cost_kib": getattr(hasher, "memory_cost", None),
    "parallelism": getattr(hasher, "parallelism", None)}))
"""

LUA_REFRESH = r"""
local tokens = {%s}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("rt", tokens[counter])
end
function request()
  return wrk.format("POST", "/o/token/", {["Content-Type"]="application/x-www-form-urlencoded"},
    "grant_type=refresh_token&client_id=bench-app&refresh_token=" .. rt)
end
function response(status, headers, body)
  local new = string.match(body, '"refresh_token": *"([^"]+)"')
  if new then rt = new end
end
"""

LUA_POST = r"""
wrk.method = "POST"
wrk.body = "%s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
%s
"""


def env(port: int = 8091) -> dict[str, str]:
    values = {
        **os.environ,
        # As production sets it (docs/configuration.md), so that the issuer never comes from a Host header.
        "OIDC_ISSUER": os.environ.get("OIDC_ISSUER", f"http://{HOST}:{port}/o"),
        "HANOISMART_VAR_DIR": str(VAR_DIR),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "OIDC_TOKEN_RATE_LIMIT": "100000000",
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        "SIGN_IN_IP_FAILURE_THRESHOLD": "100000000",
        "PYTHONPATH": str(PROJECT_DIR / "src"),
    }
    return values


def manage(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [PY, str(PROJECT_DIR / "manage.py"), *args],
        env=env(),
        input=stdin,
        text=True,
        capture_output=True,
        check=True,
    ).stdout


def rss_mib(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def workers_of(pid: int) -> list[int]:
    # Any thread of granian's main process may have started a worker.
    tasks = Path(f"/proc/{pid}/task").iterdir()
    children = [child for task in tasks for child in (task / "children").read_text().split()]
    return sorted({int(child) for child in children})


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk(port: int, script: str, *, duration: int, threads: int, connections: int, path: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--latency",
            "-s",
            handle.name,
            f"http://{HOST}:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", output)
    return {
        "rps": requests,
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "p50": "".join(p50.groups()),
        "p99": "".join(p99.groups()),
        "raw": output,
    }


def _wsgi_post(application, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One form-encoded POST through a WSGI application, as granian hands it over."""
    import io

    data = body.encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8091",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": HOST,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",  # as OAuth clients send it
        "CONTENT_LENGTH": str(len(data)),
        "HTTP_HOST": f"{HOST}:8091",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    statuses: list[str] = []
    result = application(environ, lambda status, _headers, _exc_info=None: statuses.append(status))
    try:
        content = b"".join(result)
    finally:
        result.close()  # Django's request_finished: what the server does after each response
    return int(statuses[0].split()[0]), content


def in_process(count: int, *, profile: bool) -> dict:
    """Grants and refreshes through the production WSGI application (hanoismart.wsgi) in this process:
    queries and CPU per request."""
    import contextlib
    import cProfile
    import io
    import pstats

    os.environ.update(env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
    sys.path.insert(0, str(PROJECT_DIR / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hanoismart.wsgi import application

    call_command("migrate", "--noinput", verbosity=0)
    setup = SETUP.replace("SECRET", repr(SECRET)).replace("PASSWORD", repr(PASSWORD))
    setup = setup.replace("NATIONAL_ID", repr(NATIONAL_ID)).replace("COUNT", "1")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(setup, {})  # noqa: S102 - our own setup script, shared with the server run
    chain = json.loads(re.search(r"TOKENS=(.*)", out.getvalue()).group(1))[0]
    basic = __import__("base64").b64encode(f"bench-agency:{SECRET}".encode()).decode()

    def grant() -> None:
        status, content = _wsgi_post(
            application, "/o/token/", "grant_type=client_credentials", {"Authorization": f"Basic {basic}"}
        )
        assert status == 200, content

    def refresh() -> None:
        nonlocal chain
        body = urlencode({"grant_type": "refresh_token", "client_id": "bench-app", "refresh_token": chain})
        status, content = _wsgi_post(application, "/o/token/", body, {})
        assert status == 200, content
        chain = json.loads(content)["refresh_token"]

    results = {}
    for name, request in {"client_credentials": grant, "refresh_token": refresh}.items():
        for _ in range(20):  # warm up: imports, caches, connections
            request()
        with CaptureQueriesContext(connection) as captured:
            request()
        queries = list(captured)  # Django clears its log when the next request starts
        started_cpu, started = time.process_time(), time.perf_counter()
        for _ in range(count):
            request()
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
        # Python function calls per request: deterministic, so comparable whatever else loads the machine.
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
        profiled = count if profile else 20
        profiler.runcall(lambda r=request, n=profiled: [r() for _ in range(n)])
        stats = pstats.Stats(profiler, stream=(text := io.StringIO()))
        result = {
            "queries": len(queries),
            "cpu_ms_per_request": round(1000 * cpu / count, 2),
            "wall_ms_per_request": round(1000 * wall / count, 2),
            "python_calls_per_request": round(stats.total_calls / profiled),
            "sql": [query["sql"][:160] for query in queries],
        }
        if os.environ.get("BENCH_PROFILE_DUMP"):  # for pstats' callers and callees
            stats.dump_stats(f"{os.environ['BENCH_PROFILE_DUMP']}.{name}")
        if profile:
            stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime"))
            stats.print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "25")))
            result["profile"] = text.getvalue()
        results[name] = result
    return {"database": connection.vendor, "requests": count, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--in-process", type=int, metavar="N", default=0, help="N requests in-process")
    parser.add_argument("--profile", action="store_true", help="with --in-process: cProfile's top entries")
    parser.add_argument(
        "--flows",
        default="client_credentials,refresh_token,password_sign_in",
        help="comma-separated flows of the server run (default: all three)",
    )
    args = parser.parse_args()
    flows = args.flows.split(",")
    unknown = set(flows) - {"client_credentials", "refresh_token", "password_sign_in"}
    if unknown:
        parser.error(f"unknown flows: {', '.join(sorted(unknown))}")
    if not args.in_process and shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (Debian's package wrk)")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if args.in_process:
        report = in_process(args.in_process, profile=args.profile)
        for name, result in report["results"].items():
            print(result.pop("profile", ""))
            print(name, json.dumps(result, indent=2))
        return
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    setup = SETUP.replace("SECRET", repr(SECRET)).replace("PASSWORD", repr(PASSWORD))
    setup = setup.replace("NATIONAL_ID", repr(NATIONAL_ID)).replace("COUNT", str(args.connections))
    out = manage("shell", stdin=setup)
    tokens = json.loads(re.search(r"TOKENS=(.*)", out).group(1))
    hasher = json.loads(re.search(r"HASHER=(.*)", out).group(1))

    # The production server exactly as `hanoismart serve` runs it (granian, WSGI, 2 threads per worker).
    server = subprocess.Popen(
        [
            PY,
            str(PROJECT_DIR / "manage.py"),
            "serve",
            "--host",
            HOST,
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        env=env(args.port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{HOST}:{args.port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        cookie = csrf = ""
        if "password_sign_in" in flows:  # a CSRF cookie and token for the sign-in form
            with urllib.request.urlopen(f"http://{HOST}:{args.port}/sign-in/", timeout=5) as page:
                cookie = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"]).group(1)
                page_text = page.read().decode()
                csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_text).group(1)
        basic = __import__("base64").b64encode(f"bench-agency:{SECRET}".encode()).decode()
        scenarios = {
            "client_credentials": (
                LUA_POST
                % ("grant_type=client_credentials", f'wrk.headers["Authorization"] = "Basic {basic}"'),
                "/o/token/",
                2,
            ),
            "refresh_token": (
                LUA_REFRESH % ",".join(f'"{t}"' for t in tokens),
                "/o/token/",
                args.connections,
            ),
            "password_sign_in": (
                LUA_POST
                % (
                    f"identifier={NATIONAL_ID}&password={PASSWORD}&csrfmiddlewaretoken={csrf}",
                    f'wrk.headers["Cookie"] = "csrftoken={cookie}"',
                ),
                "/sign-in/",
                2,
            ),
        }
        scenarios = {name: scenario for name, scenario in scenarios.items() if name in flows}
        results = {}
        workers = workers_of(server.pid)
        memory_before_sign_in: list[float] = []
        for name, (script, path, threads) in scenarios.items():
            if name == "password_sign_in":
                memory_before_sign_in = [round(rss_mib(pid), 1) for pid in workers]
            before = cpu_seconds(workers)
            result = wrk(
                args.port,
                script,
                duration=args.duration,
                threads=threads,
                connections=args.connections,
                path=path,
            )
            result["server_cpu_ms_per_request"] = round(
                1000 * (cpu_seconds(workers) - before) / max(result["rps"] * args.duration, 1), 2
            )
            result.pop("raw")
            results[name] = result
        memory = [round(rss_mib(pid), 1) for pid in workers]
    finally:
        # The whole process group: granian's workers too, even if the main process is slow to pass it on.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    report = {
        "database": database,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "password_hasher": hasher,
        "results": results,
        "rss_mib_per_worker": memory,
        "rss_mib_per_worker_before_sign_ins": memory_before_sign_in,
        "load_average_after": os.getloadavg()[0],
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (VAR_DIR / f"oidc-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
