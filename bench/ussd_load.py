"""Load the USSD endpoint under gunicorn (PostgreSQL + Redis) and compare with a bare Flask app.

    .venv/bin/python bench/ussd_load.py [--workers W --threads T] [--modes paced,flat]

``DATABASE_URL`` must be a THROWAWAY PostgreSQL database (default
``postgresql://postgres@127.0.0.1:5432/duka_bench``, created if missing): its ``public`` schema is
DROPPED and rebuilt by the migrations (``upgrade_database``), so every run starts from the same
state, the demo store is seeded and EVERY demo stock row gets a huge quantity, so shoppers never
run out. ``REDIS_URL`` (default ``redis://127.0.0.1:6379/9``) is FLUSHED.

The script starts two gunicorns on free ports of 127.0.0.1 with the same settings (the project's
``gunicorn.conf.py``: its workers and threads unless ``--workers``/``--threads`` say otherwise):
Duka (``wsgi:app``, with DATABASE_URL/REDIS_URL and no Africa's Talking credentials, so SMS
would only be logged) and ``bench/bare_app.py``, a Flask endpoint returning a constant ``CON``
menu. Virtual shoppers (one thread and one keep-alive ``httpx.Client`` each, own phone number,
new session id per journey) dial and walk ``JOURNEY`` exactly as Africa's Talking does; a
journey counts as failed unless its last screen is ``END`` (``--open-ended``: or ``CON``).

Modes (both by default), each after a short unmeasured warm-up:

* ``paced``: 100 shoppers pausing ~1 s (0.5-1.5 s, uniform) before every hop, for 30 s;
* ``flat``: 50 shoppers with no pauses for 20 s against Duka, then the same against the bare
  app (which gets the same form POSTed over and over).

One JSON line per mode on stdout: mode, shoppers, duration_s, hops, hops_per_s, p50/p95/p99_ms,
errors (non-200 or a body that is not a ``CON``/``END`` screen), journeys, failed_journeys,
gunicorn's workers and threads, and for ``flat`` bare_hops_per_s and ratio (Duka / bare). Also,
to tell where the CPU went: server_cpu_ms_per_hop (gunicorn workers), client_cpu_ms_per_hop (this
process), db_cpu_ms_per_hop (every PostgreSQL and Redis process on the machine) and
machine_busy_pct (all cores, from /proc/stat), next to background_busy_pct, the same measured for
1 s just before the mode while the bench sends nothing (other users of the machine: figures from
a busy machine are pessimistic). Latency is measured by the client, so it includes the client's
own GIL queueing under flat-out load.
Targets: paced p99 < 50 ms, flat-out ratio >= 0.5. The ``flat`` line also says what that target
leaves for Duka's web workers (``target_budget``): target_hops_per_s, cpu_ms_per_hop_at_target
(the machine's, per hop, at that rate), web_cpu_ms_left_at_target (that, less this run's database
and load generator CPU per hop) and bare_server_cpu_ms_per_hop, for comparison with
server_cpu_ms_per_hop.

``--floor`` (flat mode) also walks the same journey flat out against ``bench/floor_app.py``, a
third gunicorn with the same settings that does only what a stateful purchase must do on this
stack (two Redis round trips a hop, one Core read, the order's three writes; no ORM, dialog or
rendering), and adds floor_hops_per_s, floor_ratio (floor / bare), floor_errors and the floor's
server and database CPU per hop to the flat line: how far the flat-out target is from what the
stack itself allows.

Everything is bounded: durations, a 15 s HTTP timeout (Africa's Talking's), thread joins with
timeouts, and every server is stopped (SIGTERM, then SIGKILL) in ``finally``. No RQ worker runs:
the jobs each order queues (event relay, SMS receipt) wait in the flushed Redis db.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx
from gunicorn.config import Config as GunicornConfig

# -- the journey: inputs after the dial, one per hop (the dial itself is the first hop) ------------
# home -> 1 Vegetables -> 1 Cabbage -> quantity 1 (in the cart: how it comes) -> 1 Pick up at
#      the shop -> 1 Pay cash at pickup -> END "Asante! Order #... is placed"
# (until the eleventh round of the README's figures a Checkout hop came after the quantity:
#  ["1"] * 6; before the dialogs were split up, commit cb5dba4: home -> 1 Shop -> 1 Cabbage -> 1
#  -> 1 Checkout -> 1 Confirm order -> END, i.e. ["1"] * 5; --journey overrides this list)
JOURNEY = ["1", "1", "1", "1", "1"]
SERVICE_CODE = "*384*123#"  # commerce.demo.DEMO_USSD_CODE (dedicated code)
NETWORK_CODE = "63902"  # Safaricom
USSD_PATH = "/channels/ussd/africastalking"
BARE_FORM_TEXT = "1*1*1"  # what the bare app gets on every POST
OPEN_ENDED = False  # --open-ended: a journey may stop on a CON screen (browsing, no order)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/duka_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
HTTP_TIMEOUT = 15.0  # Africa's Talking gives up after about this long
HUGE_STOCK = 100_000_000


def log(message: str) -> None:
    print(f"[ussd_load] {message}", file=sys.stderr, flush=True)


# -- preparing the throwaway database and Redis ------------------------------------------------
def reset_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if need be, and empty its public schema."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres") or not parsed.database:
        return
    admin_url = parsed.set(drivername="postgresql", database="postgres")
    conninfo = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (parsed.database,)).fetchone()
        if not exists:
            log(f"creating database {parsed.database}")
            conn.execute(f'CREATE DATABASE "{parsed.database}"')
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def prepare(database_url: str, redis_url: str) -> None:
    from redis import Redis
    from sqlalchemy import text, update

    from commerce.db import make_engine, make_session_factory, upgrade_database
    from commerce.demo import seed_demo_store
    from commerce.models import Stock

    reset_database(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            store, created = seed_demo_store(db)
            db.execute(update(Stock).where(Stock.store_id == store.id)
                       .values(quantity=HUGE_STOCK, reserved=0))
            db.commit()
            rows = db.execute(text("SELECT count(*) FROM stocks WHERE store_id = :s"),
                              {"s": store.id}).scalar()
            log(f"demo store {'created' if created else 'found'} (id {store.id}); "
                f"{rows} stock rows set to {HUGE_STOCK}")
    finally:
        engine.dispose()
    redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
    redis.flushdb()
    redis.close()


# -- the servers --------------------------------------------------------------------------------
def cpu_ticks(stat: str) -> int:
    """User + system CPU, in clock ticks, from the text of a /proc/<pid>/stat."""
    fields = stat[stat.rindex(")") + 2:].split()  # after the command, which may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def worker_pids(self) -> list[int]:
        pids = [self.process.pid]
        for entry in os.scandir("/proc"):
            if entry.name.isdecimal():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = Path(entry.path, "stat").read_text()
                    if int(stat[stat.rindex(")") + 2:].split()[1]) == self.process.pid:
                        pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers (live ones), in seconds."""
        ticks = 0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ticks += cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
        return ticks / os.sysconf("SC_CLK_TCK")


def start_server(name: str, app_spec: str, chdir: Path, args, env: dict, logdir: Path) -> Server:
    port = free_port()
    log_path = logdir / f"{name}.log"
    # Both servers read the project's gunicorn.conf.py (its GIL switch interval included);
    # the flags below override the rest of it alike for both.
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
           "--chdir", str(chdir), "-w", str(args.workers), "-k", "gthread",
           "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--keep-alive", "5",
           "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning", app_spec]
    if "control_socket_disable" in GunicornConfig().settings:  # gunicorn 27+
        # each would claim the same ~/.gunicorn/gunicorn.ctl and log an error
        cmd.insert(-1, "--no-control-socket")
    with open(log_path, "wb") as out:
        process = subprocess.Popen(cmd, cwd=chdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    log(f"started {name}: pid {process.pid}, http://127.0.0.1:{port} ({' '.join(cmd[2:])})")
    return Server(name, process, f"http://127.0.0.1:{port}", log_path)


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n"
                                   + server.log_tail())
            with contextlib.suppress(httpx.HTTPError):
                if client.get(server.url + "/healthz").status_code == 200:
                    return
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} not healthy after {timeout}s:\n" + server.log_tail())


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"{server.name} did not stop on SIGTERM; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)  # its own group (new session)
            server.process.wait(timeout=5)
    log(f"stopped {server.name} (exit {server.process.returncode})")


# -- the shoppers -------------------------------------------------------------------------------
@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    by_hop: dict[int, list[float]] = field(default_factory=dict)  # journey position -> ms
    errors: int = 0  # non-200, not a CON/END screen, or no answer
    journeys: int = 0  # completed, ending on END
    failed_journeys: int = 0
    samples: list[str] = field(default_factory=list)  # a few failures, for the log
    last_end: float = 0.0  # monotonic time the last hop ended

    def fail(self, what: str) -> None:
        self.failed_journeys += 1
        if len(self.samples) < 3:
            self.samples.append(what)

    def merge(self, other: Tally) -> None:
        self.latencies_ms += other.latencies_ms
        for hop, latencies in other.by_hop.items():
            self.by_hop.setdefault(hop, []).extend(latencies)
        self.errors += other.errors
        self.journeys += other.journeys
        self.failed_journeys += other.failed_journeys
        self.samples += other.samples[: max(0, 3 - len(self.samples))]
        self.last_end = max(self.last_end, other.last_end)


def _post(client: httpx.Client, form: dict, tally: Tally) -> str | None:
    """One hop; records its latency. Returns the screen, or None on an error."""
    t0 = time.perf_counter()
    try:
        response = client.post(USSD_PATH, data=form)
        body = response.text
    except httpx.HTTPError as error:
        tally.latencies_ms.append((time.perf_counter() - t0) * 1000)
        tally.last_end = time.monotonic()
        tally.errors += 1
        return f"!{type(error).__name__}: {error}"
    tally.latencies_ms.append((time.perf_counter() - t0) * 1000)
    tally.last_end = time.monotonic()
    if response.status_code != 200 or not body.startswith(("CON ", "END ")):
        tally.errors += 1
        return f"!HTTP {response.status_code}: {body[:120]!r}"
    return body


def _nap(stop: threading.Event, seconds: float, until: float) -> bool:
    """Sleep ``seconds`` but not past ``until``; True if the run is over."""
    if seconds > 0 and stop.wait(min(seconds, max(0.0, until - time.monotonic()))):
        return True
    return time.monotonic() >= until


def shopper(client: httpx.Client, phone: str, until: float, stop: threading.Event,
            tally: Tally, pause: float = 0.0, seed: int = 0) -> None:
    """Walk JOURNEY over and over until ``until`` (monotonic); pause ~``pause`` s before hops."""
    rng = random.Random(seed)
    with client:
        if pause and _nap(stop, rng.uniform(0, pause), until):  # spread the first dials
            return
        while not stop.is_set() and time.monotonic() < until:
            session_id = f"ATUid_{uuid.uuid4().hex}"
            inputs: list[str] = []
            for hop in range(len(JOURNEY) + 1):  # the dial, then one hop per input
                if hop:
                    inputs.append(JOURNEY[hop - 1])
                if _nap(stop, rng.uniform(0.5, 1.5) * pause, until):
                    return  # a journey cut short by the end of the run is not a failure
                screen = _post(client, {"sessionId": session_id, "serviceCode": SERVICE_CODE,
                                        "phoneNumber": phone, "networkCode": NETWORK_CODE,
                                        "text": "*".join(inputs)}, tally)
                tally.by_hop.setdefault(hop, []).append(tally.latencies_ms[-1])
                last = hop == len(JOURNEY)
                if screen.startswith("!"):
                    tally.fail(f"hop {hop} {inputs}: {screen}")
                    break
                if screen.startswith("END ") and not last:
                    tally.fail(f"ended early at hop {hop} {inputs}: {screen[:120]!r}")
                    break
                if last:
                    if screen.startswith("END ") or OPEN_ENDED:
                        tally.journeys += 1
                    else:
                        tally.fail(f"last screen is not END {inputs}: {screen[:120]!r}")


def bare_shopper(client: httpx.Client, phone: str, until: float, stop: threading.Event,
                 tally: Tally) -> None:
    """POST the same form to the bare app until ``until``."""
    form = {"sessionId": f"ATUid_{uuid.uuid4().hex}", "serviceCode": SERVICE_CODE,
            "phoneNumber": phone, "networkCode": NETWORK_CODE, "text": BARE_FORM_TEXT}
    with client:
        while not stop.is_set() and time.monotonic() < until:
            _post(client, form, tally)


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def services_cpu() -> float:
    """User + system CPU (s) of every PostgreSQL and Redis process on the machine (live ones):
    what the database side costs per hop, when nothing else uses them."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdecimal():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(entry.path, "stat").read_text()
                if stat[stat.index("(") + 1:stat.rindex(")")] in ("postgres", "redis-server"):
                    ticks += cpu_ticks(stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def background_busy(seconds: float = 1.0) -> float:
    """How busy the machine is (%, all cores) while this bench sends nothing: other users."""
    busy0, total0 = machine_busy()
    time.sleep(seconds)
    busy1, total1 = machine_busy()
    return round(100 * (busy1 - busy0) / max(1, total1 - total0), 1)


def run_load(target, count: int, duration: float, phone_prefix: str, servers: list[Server],
             **kwargs) -> tuple[Tally, float, dict]:
    """Run ``count`` shopper threads for ``duration`` s against ``servers[0]``; returns the merged
    tally, the measured window (s) and CPU figures."""
    stop = threading.Event()
    tallies = [Tally() for _ in range(count)]
    clients = [httpx.Client(base_url=servers[0].url, timeout=HTTP_TIMEOUT, trust_env=False)
               for _ in range(count)]  # built before the clock starts: not in the CPU figures
    extra = [{"seed": n} if target is shopper else {} for n in range(count)]
    busy0, total0 = machine_busy()
    cpu0 = [s.cpu_seconds() for s in servers]
    services0 = services_cpu()
    client0 = time.process_time()
    started = time.monotonic()
    until = started + duration
    threads = [threading.Thread(target=target, daemon=True,
                                args=(clients[n], f"{phone_prefix}{n:04d}", until, stop,
                                      tallies[n]), kwargs={**kwargs, **extra[n]})
               for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.1, until + HTTP_TIMEOUT + 5 - time.monotonic()))
    stop.set()
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        log(f"{stuck} shopper threads still running after the timeout (abandoned, daemons)")
    busy1, total1 = machine_busy()
    cpu = {"server_cpu_s": sum(s.cpu_seconds() for s in servers) - sum(cpu0),
           "client_cpu_s": time.process_time() - client0,
           "services_cpu_s": services_cpu() - services0,
           "machine_busy_pct": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1)}
    merged = Tally()
    for tally in tallies:
        merged.merge(tally)
    # the window: hops start until ``until``; the last one may end a little after it
    return merged, max(until, merged.last_end) - started, cpu


def figures(mode: str, shoppers: int, tally: Tally, elapsed: float, cpu: dict) -> dict:
    lat = sorted(tally.latencies_ms)
    hops = len(lat)
    q = statistics.quantiles(lat, n=100, method="inclusive") if hops >= 2 else [float("nan")] * 99
    per_hop = max(hops, 1)
    return {
        "mode": mode, "shoppers": shoppers, "duration_s": round(elapsed, 1), "hops": hops,
        "hops_per_s": round(hops / elapsed, 1), "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1), "p99_ms": round(q[98], 1), "errors": tally.errors,
        "journeys": tally.journeys, "failed_journeys": tally.failed_journeys,
        "server_cpu_ms_per_hop": round(1000 * cpu["server_cpu_s"] / per_hop, 2),
        "client_cpu_ms_per_hop": round(1000 * cpu["client_cpu_s"] / per_hop, 2),
        "db_cpu_ms_per_hop": round(1000 * cpu["services_cpu_s"] / per_hop, 2),
        "machine_busy_pct": cpu["machine_busy_pct"],
        "background_busy_pct": cpu.get("background_busy_pct"),
        # p99 per position in the journey (0 = the dial): which hops are slow
        "p99_ms_by_hop": [round(statistics.quantiles(tally.by_hop[hop], n=100,
                                                     method="inclusive")[98], 1)
                          for hop in sorted(tally.by_hop) if len(tally.by_hop[hop]) >= 2],
    }


def target_budget(duka: dict, bare: dict) -> dict:
    """What the flat-out target leaves Duka's web workers per hop.

    At half the bare endpoint's hops/s, the machine's cores give ``cores * 1000 / target`` ms of
    CPU per hop in all. PostgreSQL, Redis and the load generator share them; at the same work per
    hop they take what they took in this run, and the rest is what Duka's web workers could
    spend: ``web_cpu_ms_left_at_target``, to set against ``server_cpu_ms_per_hop`` (Duka's now)
    and ``bare_server_cpu_ms_per_hop`` (the bare endpoint's, which returns a constant string).
    """
    cores = len(os.sched_getaffinity(0))
    target = 0.5 * bare["hops_per_s"]
    per_hop = 1000 * cores / max(target, 1e-9)
    return {"target_hops_per_s": round(target, 1),
            "cpu_ms_per_hop_at_target": round(per_hop, 2),
            "web_cpu_ms_left_at_target": round(
                per_hop - duka["db_cpu_ms_per_hop"] - duka["client_cpu_ms_per_hop"], 2),
            "bare_server_cpu_ms_per_hop": bare["server_cpu_ms_per_hop"]}


def flat_out(mode: str, target, server: Server, args, phones: tuple[str, str]) -> dict:
    """``args.flat_shoppers`` running ``target`` against ``server`` with no pauses for
    ``args.flat_duration`` s, after an unmeasured warm-up: the run's figures. ``phones``: the
    phone number prefixes of the warm-up's shoppers and of the measured ones."""
    log(f"flat: {args.flat_shoppers} shoppers against {server.name} for {args.flat_duration}s "
        f"(after a {args.warmup}s warm-up)")
    run_load(target, args.flat_shoppers, args.warmup, phones[0], [server])
    background = background_busy()
    tally, elapsed, cpu = run_load(target, args.flat_shoppers, args.flat_duration,
                                   phones[1], [server])
    cpu["background_busy_pct"] = background
    report_failures(mode, tally)
    return figures(mode, args.flat_shoppers, tally, elapsed, cpu)


def floor_fields(floor: dict, bare: dict) -> dict:
    """What the flat line says of the floor (``bench/floor_app.py``): the same journey with
    only what a stateful purchase must do (two Redis round trips, one Core read a hop, the
    order's three writes)."""
    return {"floor_hops_per_s": floor["hops_per_s"],
            "floor_ratio": round(floor["hops_per_s"] / max(bare["hops_per_s"], 1e-9), 3),
            "floor_errors": floor["errors"] + floor["failed_journeys"],
            "floor_server_cpu_ms_per_hop": floor["server_cpu_ms_per_hop"],
            "floor_db_cpu_ms_per_hop": floor["db_cpu_ms_per_hop"]}


def report_failures(label: str, tally: Tally) -> None:
    if tally.samples:
        log(f"{label}: {tally.failed_journeys} failed journeys, {tally.errors} errors; e.g.")
        for sample in tally.samples:
            log("   " + sample)


def check_journey(server: Server) -> None:
    """Walk the journey once, slowly, and show the screens if it does not end on END."""
    tally = Tally()
    screens = []
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT, trust_env=False) as client:
        session_id, inputs = f"ATUid_{uuid.uuid4().hex}", []
        for hop in range(len(JOURNEY) + 1):
            if hop:
                inputs.append(JOURNEY[hop - 1])
            screen = _post(client, {"sessionId": session_id, "serviceCode": SERVICE_CODE,
                                    "phoneNumber": "+254799000001", "networkCode": NETWORK_CODE,
                                    "text": "*".join(inputs)}, tally)
            screens.append(f"text={'*'.join(inputs)!r} -> {screen!r}")
            if screen.startswith(("!", "END ")):
                break
    last = screens[-1].split(" -> ", 1)[1]
    if (not last.startswith("'END ") and not (OPEN_ENDED and last.startswith("'CON "))
            or len(screens) != len(JOURNEY) + 1):
        raise RuntimeError("the journey does not reach an END screen; adapt JOURNEY:\n  "
                           + "\n  ".join(screens))


# -- main ---------------------------------------------------------------------------------------
def main() -> int:
    global OPEN_ENDED  # set from --open-ended, as JOURNEY from --journey
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # What production runs; it runs one worker without Redis, and this bench always has Redis.
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    project = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    parser.add_argument("--workers", type=int, default=project["workers"],
                        help=f"gunicorn -w (default {project['workers']}, gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=project["threads"],
                        help=f"gunicorn --threads (default {project['threads']})")
    parser.add_argument("--modes", default="paced,flat", help="comma-separated: paced, flat")
    parser.add_argument("--paced-shoppers", type=int, default=100)
    parser.add_argument("--paced-duration", type=float, default=30.0)
    parser.add_argument("--pause", type=float, default=1.0,
                        help="mean pause before each paced hop, s (uniform 0.5x-1.5x)")
    parser.add_argument("--flat-shoppers", type=int, default=50)
    parser.add_argument("--flat-duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured warm-up, s")
    parser.add_argument("--journey", help="inputs after the dial joined by *, e.g. 1*1*1*1*1 "
                                          "(default: JOURNEY at the top of this script)")
    parser.add_argument("--open-ended", action="store_true",
                        help="the journey may stop on a CON screen: browsing without an order, "
                             "e.g. --journey '1*0*1*1*0*0' (what hops cost with no writes)")
    parser.add_argument("--floor", action="store_true",
                        help="flat mode also runs the same journey against bench/floor_app.py: "
                             "the least a purchase can cost on this stack")
    args = parser.parse_args()
    if args.journey:
        JOURNEY[:] = args.journey.split("*")
    OPEN_ENDED = args.open_ended
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"paced", "flat"}:
        parser.error("--modes takes paced and/or flat")

    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    log(f"preparing {database_url} and {redis_url} (throwaway: migrated, seeded, flushed)")
    prepare(database_url, redis_url)

    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "AT_USERNAME": "", "AT_API_KEY": "", "SECRET_KEY": "bench-only",
           "PYTHONUNBUFFERED": "1",
           # Flat-out shoppers hop far faster than people; the per-phone limit would refuse them.
           "USSD_HOPS_PER_MINUTE": os.environ.get("USSD_HOPS_PER_MINUTE", "1000000")}
    gunicorn = {"workers": args.workers, "threads": args.threads}  # for each mode's line
    run_id = random.randrange(100, 999)  # fresh customers each run

    def phones(digit: int) -> tuple[str, str]:
        """Number prefixes of a warm-up's shoppers and the measured ones: with the shopper's 4
        digits, +254 and 9 digits, a Kenyan mobile number."""
        return f"+2547{run_id}{digit}", f"+2547{run_id}{digit + 1}"

    servers: list[Server] = []
    logdir = Path(tempfile.mkdtemp(prefix="ussd_load_"))
    try:
        duka = start_server("duka", "wsgi:app", ROOT, args, env, logdir)
        servers.append(duka)
        bare = start_server("bare", "bare_app:app", ROOT / "bench", args, env, logdir)
        servers.append(bare)
        if args.floor and "flat" in modes:
            os.environ["DATABASE_URL"] = database_url  # floor_app makes its engine on import
            from floor_app import create_tables  # bench/ is this script's sys.path[0]
            create_tables(database_url)
            floor = start_server("floor", "floor_app:app", ROOT / "bench", args,
                                 {**env, "FLOOR_JOURNEY_LENGTH": str(len(JOURNEY))}, logdir)
            servers.append(floor)
        for server in servers:
            wait_healthy(server)
        check_journey(duka)

        if "paced" in modes:
            warmup_phones, paced_phones = phones(1)
            log(f"paced: warm-up {args.warmup}s")
            run_load(shopper, min(args.paced_shoppers, 20), args.warmup, warmup_phones, [duka])
            log(f"paced: {args.paced_shoppers} shoppers, ~{args.pause}s pauses, "
                f"{args.paced_duration}s")
            background = background_busy()
            tally, elapsed, cpu = run_load(shopper, args.paced_shoppers, args.paced_duration,
                                           paced_phones, [duka], pause=args.pause)
            cpu["background_busy_pct"] = background
            report_failures("paced", tally)
            print(json.dumps({**figures("paced", args.paced_shoppers, tally, elapsed, cpu),
                              **gunicorn}), flush=True)

        if "flat" in modes:
            result = {**flat_out("flat", shopper, duka, args, phones(3)), **gunicorn}
            bare_result = flat_out("bare", bare_shopper, bare, args, phones(5))
            log("bare figures: " + json.dumps(bare_result))
            result["bare_hops_per_s"] = bare_result["hops_per_s"]
            result["bare_errors"] = bare_result["errors"]
            result["ratio"] = round(result["hops_per_s"] / max(bare_result["hops_per_s"], 1e-9),
                                    3)
            result.update(target_budget(result, bare_result))
            if args.floor:
                floor_result = flat_out("floor", shopper, floor, args, phones(7))
                log("floor figures: " + json.dumps(floor_result))
                result.update(floor_fields(floor_result, bare_result))
            print(json.dumps(result), flush=True)
        for server in servers:  # anything the servers complained about
            tail = [line for line in server.log_tail(200).splitlines()
                    if "ERROR" in line or "Traceback" in line or "CRITICAL" in line]
            if tail:
                log(f"{server.name} log ({server.log_path}) has {len(tail)} error lines, e.g. "
                    + tail[0])
        return 0
    finally:
        for server in servers:
            stop_server(server)


if __name__ == "__main__":
    sys.exit(main())
