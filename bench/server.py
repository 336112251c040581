"""Compare production web servers on HanoiSmart itself: requests/s, p50/p99 latency, memory per worker.

Each candidate serves the same app (same settings, same seeded SQLite database under var/bench/) with the
same number of worker processes, on 127.0.0.1 only. wrk (Debian's package) drives a bounded load at three
pages in turn: the health check (`/healthz`, one query), the API (`/api/v1/units?page_size=50`, a page of the
seeded directory) and the home page (a template). Resident memory of each worker process is read from
/proc after the load. Run it with `make bench` (which installs wrk and the `bench` extra first); see
bench/README.md for the results and the choice.
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
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BENCH_VAR_DIR = PROJECT_DIR / "var" / "bench"
PY = sys.executable
HOST = "127.0.0.1"

ENDPOINTS = {
    "healthz": "/healthz",
    "api-units": "/api/v1/units?page_size=50",
    "home": "/",
}


def candidates(port: int, workers: int) -> dict[str, list[str]]:
    """The command line of each candidate server, all with the same number of worker processes."""
    bind = ["--host", HOST, "--port", str(port)]
    granian = [PY, "-m", "granian", *bind, "--workers", str(workers), "--no-ws"]
    asgi, wsgi = "hanoismart.asgi:application", "hanoismart.wsgi:application"
    gunicorn = [PY, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers)]
    return {
        # granian on the ASGI app, as `hanoismart serve` runs it (asyncio event loop, no lifespan)
        "granian-asgi": [*granian, "--interface", "asginl", "--loop", "asyncio", asgi],
        "granian-asgi-uvloop": [*granian, "--interface", "asginl", "--loop", "uvloop", asgi],
        "granian-wsgi": [*granian, "--interface", "wsgi", wsgi],  # up to backlog/workers/2 = 256 threads each
        # `hanoismart serve` since session 7 (2 threads a worker), and the 4 it had before
        **{
            f"granian-wsgi-{threads}-threads": [
                *granian,
                "--interface",
                "wsgi",
                "--blocking-threads",
                str(threads),
                wsgi,
            ]
            for threads in (1, 2, 4)
        },
        "gunicorn-uvicorn": [*gunicorn, "--worker-class", "uvicorn_worker.UvicornWorker", asgi],
        "uvicorn": [
            PY,
            "-m",
            "uvicorn",
            *bind,
            "--workers",
            str(workers),
            "--lifespan",
            "off",
            "--no-access-log",
            asgi,
        ],
        "gunicorn-gthread-wsgi": [*gunicorn, "--worker-class", "gthread", "--threads", "4", wsgi],
    }


@dataclass
class Run:
    endpoint: str
    requests_per_second: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int | None = None
    cpu_ms_per_request: float | None = None
    errors: str = ""
    skipped: str = ""


@dataclass
class Result:
    server: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)
    worker_rss_mib: list[float] = field(default_factory=list)
    main_rss_mib: float | None = None
    failed: str = ""


def bench_environment() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hanoismart.settings",
        "HANOISMART_VAR_DIR": str(BENCH_VAR_DIR),
        "DEBUG": "false",
        "HANOISMART_DEMO": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_DIR / "src"),
    }


def prepare_database(env: dict[str, str]) -> None:
    """The same seeded database and collected static files for every candidate (idempotent)."""
    manage = [PY, str(PROJECT_DIR / "manage.py")]
    for command in (["migrate", "--noinput"], ["seed"], ["collectstatic", "--noinput"]):
        subprocess.run([*manage, *command, "-v", "0"], env=env, check=True, cwd=PROJECT_DIR)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback, our server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if http_status(url) == 200:
            return True
        time.sleep(0.25)
    return False


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, *, connections: int, duration: int, threads: int) -> Run:
    """One bounded wrk run (duration seconds, a fixed number of connections) against a loopback URL."""
    completed = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    )
    out = completed.stdout
    run = Run(endpoint=url)
    if match := re.search(r"Requests/sec:\s+([\d.]+)", out):
        run.requests_per_second = float(match.group(1))
    if match := re.search(r"(\d+) requests in", out):
        run.requests = int(match.group(1))
    for percentile, attribute in (("50", "p50_ms"), ("99", "p99_ms")):
        if match := re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE):
            setattr(run, attribute, round(_ms(match.group(1), match.group(2)), 2))
    errors = re.findall(r"(Socket errors:.*|Non-2xx or 3xx responses: \d+)", out)
    run.errors = "; ".join(errors)
    return run


def descendants(pid: int) -> list[int]:
    """All processes below pid, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (/proc/<pid>/stat), in seconds.

    Unlike requests/s, CPU per request hardly depends on what else the machine is doing."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else None


def is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker is no worker."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, and its whole process group (its own session: nothing else is in it)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def bench_server(name: str, argv: list[str], args: argparse.Namespace, env: dict[str, str]) -> Result:
    result = Result(server=name, argv=argv)
    base = f"http://{HOST}:{args.port}"
    log = (BENCH_VAR_DIR / f"{name}.log").open("wb")
    process = subprocess.Popen(
        argv, env=env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        if not wait_until_ready(base + "/healthz", process):
            result.failed = f"did not answer /healthz (see {log.name})"
            return result
        for endpoint, path in ENDPOINTS.items():
            status = http_status(base + path)
            if status != 200:
                result.runs.append(Run(endpoint=endpoint, skipped=f"HTTP {status}"))
                continue
            wrk(base + path, connections=args.connections, duration=args.warmup, threads=args.threads)
            server_pids = [process.pid, *descendants(process.pid)]
            cpu_before = cpu_seconds(server_pids)
            run = wrk(base + path, connections=args.connections, duration=args.duration, threads=args.threads)
            if run.requests:
                cpu_ms = (cpu_seconds(server_pids) - cpu_before) * 1000 / run.requests
                run.cpu_ms_per_request = round(cpu_ms, 2)
            run.endpoint = endpoint
            result.runs.append(run)
            print(
                f"  {name:24} {endpoint:10} {run.requests_per_second} req/s  p50 {run.p50_ms} ms  "
                f"p99 {run.p99_ms} ms  CPU {run.cpu_ms_per_request} ms/req  {run.errors}",
                flush=True,
            )
        workers = [pid for pid in descendants(process.pid) if not is_helper(pid)]
        result.worker_rss_mib = [mib for pid in workers if (mib := rss_mib(pid)) is not None]
        result.main_rss_mib = rss_mib(process.pid)
        return result
    finally:
        stop(process)
        log.close()


def markdown_table(results: list[Result]) -> str:
    endpoints = list(ENDPOINTS)
    header = ["server"]
    for endpoint in endpoints:
        header += [f"{endpoint} req/s", f"{endpoint} p50/p99 ms", f"{endpoint} CPU ms/req"]
    header += ["RSS per worker MiB", "main RSS MiB"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for result in results:
        if result.failed:
            lines.append(f"| {result.server} | failed: {result.failed} |")
            continue
        runs = {run.endpoint: run for run in result.runs}
        cells = [result.server]
        for endpoint in endpoints:
            run = runs.get(endpoint)
            if run is None or run.skipped:
                cells += [f"skipped ({run.skipped if run else 'not run'})", "", ""]
                continue
            errors = " ⚠" if run.errors else ""
            cells += [
                f"{run.requests_per_second:,.0f}{errors}",
                f"{run.p50_ms} / {run.p99_ms}",
                f"{run.cpu_ms_per_request}",
            ]
        rss = result.worker_rss_mib
        cells.append(" + ".join(f"{mib:.0f}" for mib in rss) if rss else "?")
        cells.append(f"{result.main_rss_mib:.0f}" if result.main_rss_mib else "?")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", nargs="*", help="candidates to run (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per page (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page (default 2)")
    parser.add_argument("--port", type=int, default=8090, help="loopback port the servers use (default 8090)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (Debian's package wrk)")

    BENCH_VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = bench_environment()
    prepare_database(env)
    all_candidates = candidates(args.port, args.workers)
    names = args.servers or list(all_candidates)
    print(
        f"{len(names)} servers x {len(ENDPOINTS)} pages, {args.workers} workers, {args.connections} "
        f"connections, {args.duration} s each, on {os.cpu_count()} cores",
        flush=True,
    )
    load_before = os.getloadavg()
    results = [bench_server(name, all_candidates[name], args, env) for name in names]
    load_after = os.getloadavg()

    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    output = BENCH_VAR_DIR / f"servers-{stamp}.json"
    settings = {key: value for key, value in vars(args).items() if key != "servers"}
    settings["load_average_before_after"] = [load_before, load_after]
    output.write_text(json.dumps({"settings": settings, "results": [asdict(r) for r in results]}, indent=2))
    print(f"\n{markdown_table(results)}\n\nraw results: {output.relative_to(PROJECT_DIR)}")
    # Other processes on the machine take cores from the servers: compare runs made in the same conditions.
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f}")


if __name__ == "__main__":
    main()
