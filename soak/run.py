"""Soak: the example tools under real servers, hammered by many concurrent clients with every kind of ltik.

Starts a FakeLtiaas in this process, then for each target (the Flask example under gunicorn, the FastAPI
example under uvicorn, both as shipped: with ``prefetch_idtoken=True``) starts the server on 127.0.0.1
and drives it with ``--clients`` threads, each with its own keep-alive connection, until ``--duration``
seconds or ``--requests`` requests (per target), whichever comes first. Requests mix valid ltiks (as
``Authorization: Bearer``, ``?ltik=`` or ``X-Ltik``), expired, tampered, ambiguous (two different ltiks)
and garbage ones. It reports, per target: requests, status counts per kind, mismatched launches (a 200
naming a launch other than the request's own, or a 200 at all for an ltik that must be refused; must be
0), 5xx (must be 0), p50/p99 latency, and the server's memory (VmRSS summed over the server process and
its workers) at start and end. Exit status 1 if any mismatch or 5xx was seen.

Not part of CI. Loopback only. See soak/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import secrets
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ltiaas_auth import parse_ltik
from ltiaas_auth.testing import FakeLtiaas

ROOT = Path(__file__).resolve().parent.parent

KINDS = ("valid", "expired", "tampered", "ambiguous", "garbage")
WEIGHTS = (60, 10, 10, 10, 10)
#: What each kind must get. A tampered ltik has plausible claims that parse locally: only LTIAAS can refuse
#: it. The examples run with ``prefetch_idtoken=True``, so LTIAAS does before any route runs (``/stream``,
#: which never reads the idtoken, included): 401 ``INVALID_LTIK``, and a 200 is a forged launch served.
EXPECTED = {
    "valid": {200},
    "expired": {401},
    "tampered": {401},
    "ambiguous": {400},
    "garbage": {400, 401, 414, 431},  # the server itself may refuse an oversized request line or header
}


@dataclass(frozen=True)
class Target:
    name: str
    command: tuple[str, ...]
    routes: tuple[str, ...]

    @property
    def workers(self) -> int:
        """Worker processes, each with its own caches and refusal memory (gunicorn's ``-w``, else 1)."""
        return int(self.command[self.command.index("-w") + 1]) if "-w" in self.command else 1


#: The examples as shipped: the soak drives exactly what users copy.
TARGETS = {
    "flask": Target(
        "flask (gunicorn -w 2 --threads 4)",
        (
            "gunicorn",
            "-w",
            "2",
            "--threads",
            "4",
            "--graceful-timeout",
            "2",
            "-b",
            "127.0.0.1:{port}",
            "examples.flask_app:create_app()",
        ),
        ("/whoami", "/stream"),
    ),
    "fastapi": Target(
        "fastapi (uvicorn)",
        (
            "uvicorn",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--log-level",
            "warning",
            "examples.fastapi_app:create_app",
        ),
        ("/whoami", "/whoami-sync", "/stream"),
    ),
}


@dataclass
class Launch:
    ltik: str
    user: str
    fingerprint: str


@dataclass
class Tally:
    """What one target's run saw; filled by many threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unexpected: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, status: int, seconds: float, mismatch: str | None) -> None:
        with self.lock:
            self.statuses[kind, status] += 1
            self.latencies.append(seconds)
            if mismatch is not None:
                self.mismatched.append(mismatch)
            if status not in EXPECTED[kind]:
                self.unexpected[kind, status] += 1


# --- memory -------------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, from the parent pids in /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def server_rss(pid: int) -> tuple[int, int]:
    """(processes, total VmRSS in KiB) of the server and its workers."""
    pids = process_tree(pid)
    return len(pids), sum(rss_kib(each) for each in pids)


@contextmanager
def sampling(pid: int, every: float) -> Iterator[list[int]]:
    """VmRSS of the server tree (KiB) every ``every`` seconds while the block runs: a plateau, or a leak."""
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            samples.append(server_rss(pid)[1])

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


# --- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(target: Target, fake: FakeLtiaas, log: Path) -> Iterator[tuple[int, int]]:
    """Start the server from the repository root, yield (pid, port) once ``/health`` answers, always stop."""
    port = free_port()
    command = [sys.executable, "-m", *(part.format(port=port) for part in target.command)]
    env = {**os.environ, "LTIAAS_API_KEY": fake.api_key, "LTIAAS_URL": fake.url, "PYTHONUNBUFFERED": "1"}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{target.name} exited ({process.returncode}); see {log}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target.name} did not become ready; see {log}")
                time.sleep(0.1)
            time.sleep(1)  # let every worker finish booting before the first memory reading
            yield process.pid, port
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


# --- the load -----------------------------------------------------------------------------------------


def garbage(rng: random.Random) -> str:
    choice = rng.randrange(6)
    if choice == 0:
        return "".join(rng.choices(string.ascii_letters + string.digits + "-_.", k=rng.randrange(1, 300)))
    if choice == 1:
        return ".".join(secrets.token_urlsafe(rng.randrange(1, 60)) for _ in range(3))
    if choice == 2:
        return "a" * rng.randrange(8000, 9000) + ".b.c"  # over the size cap
    if choice == 3:
        return "".join(chr(rng.randrange(0x21, 0x7F)) for _ in range(rng.randrange(1, 80)))
    if choice == 4:
        return "x.y.z"
    return "eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln"  # JWS-shaped, payload not JSON


def request_for(
    kind: str, index: int, launches: list[Launch], expired: list[str], tampered: list[str], rng: random.Random
) -> tuple[str, dict[str, str], Launch | None]:
    """(path with query, headers, the launch a 200 must name or None) for one request."""
    launch = launches[index % len(launches)]
    style = rng.randrange(3)
    if kind == "valid":
        ltik = launch.ltik
    elif kind == "expired":
        ltik = expired[index % len(expired)]
    elif kind == "tampered":
        ltik = tampered[index % len(tampered)]
    elif kind == "ambiguous":
        other = launches[(index + 1) % len(launches)]
        return f"?ltik={other.ltik}", {"Authorization": f"Bearer {launch.ltik}"}, None
    else:
        ltik = garbage(rng)
    own = launch if kind == "valid" else None
    if style == 0:
        return "", {"Authorization": f"Bearer {ltik}"}, own
    if style == 1:
        return f"?ltik={quote(ltik, safe='')}", {}, own
    return "", {"X-Ltik": ltik}, own


def check_body(route: str, body: bytes, launch: Launch) -> str | None:
    """None when a 200's body names the request's own launch."""
    fingerprint = launch.fingerprint
    if route == "/stream":
        expected = [f"{line} {fingerprint}" for line in range(3)]
        lines = body.decode(errors="replace").splitlines()
        return None if lines == expected else f"{route}: {lines[:3]} instead of {fingerprint}"
    data = json.loads(body)
    if data.get("ltik") != fingerprint or data.get("user") != launch.user:
        return f"{route}: {data} instead of {fingerprint}"
    return None


def drive(
    port: int,
    target: Target,
    fake: FakeLtiaas,
    *,
    clients: int,
    requests: int,
    duration: float,
    launches: list[Launch],
    seed: int,
) -> Tally:
    tally = Tally()
    expired = [fake.launch(issued_at=time.time() - 3 * 86400) for _ in range(20)]
    tampered = []
    for launch in launches[:20]:
        head, body, signature = launch.ltik.split(".")
        middle = len(signature) // 2
        flipped = "A" if signature[middle] != "A" else "B"
        tampered.append(f"{head}.{body}.{signature[:middle]}{flipped}{signature[middle + 1 :]}")
    counter = itertools.count()
    counter_lock = threading.Lock()
    deadline = time.monotonic() + duration

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = connect()
        try:
            while time.monotonic() < deadline:
                with counter_lock:
                    index = next(counter)
                if index >= requests:
                    return
                kind = rng.choices(KINDS, WEIGHTS)[0]
                route = target.routes[rng.randrange(len(target.routes))]
                query, headers, launch = request_for(kind, index, launches, expired, tampered, rng)
                for attempt in (1, 2):
                    started = time.perf_counter()
                    try:
                        connection.request("GET", route + query, headers=headers)
                        response = connection.getresponse()
                        body = response.read()
                        break
                    except (OSError, http.client.HTTPException) as error:
                        # A server may close a kept-alive connection (uvicorn does after a 500): the
                        # request is sent again once, on a fresh connection; a second failure counts.
                        connection.close()
                        connection = connect()
                        if attempt == 2:
                            with tally.lock:
                                tally.errors[type(error).__name__] += 1
                else:
                    continue
                seconds = time.perf_counter() - started
                mismatch = None
                if response.status == 200 and launch is not None:
                    mismatch = check_body(route, body, launch)
                elif response.status == 200:  # an expired, tampered (forged), ambiguous or garbage ltik
                    mismatch = f"{kind} ltik served on {route}"
                tally.record(kind, response.status, seconds, mismatch)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(number,), daemon=True) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


# --- the report ---------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report(
    target: Target,
    tally: Tally,
    seconds: float,
    memory: tuple[tuple[int, int], tuple[int, int]],
    samples: list[int],
    fetches: int,
    forged_calls: tuple[int, int],
) -> list[str]:
    total = sum(tally.statuses.values())
    fivexx = sum(count for (_, status), count in tally.statuses.items() if status >= 500)
    lines = [
        f"## {target.name}",
        f"requests: {total} in {seconds:.1f} s ({total / seconds:.0f}/s)",
        f"transport errors: {dict(tally.errors)}",
        f"mismatched launches: {len(tally.mismatched)}",
        f"5xx: {fivexx}",
        f"unexpected statuses: {dict(tally.unexpected)}",
        f"latency: p50 {percentile(tally.latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(tally.latencies, 0.99) * 1000:.1f} ms, "
        f"max {max(tally.latencies, default=0) * 1000:.1f} ms",
        f"server memory (VmRSS, {memory[0][0]} processes): start {memory[0][1] / 1024:.1f} MiB, "
        f"end {memory[1][1] / 1024:.1f} MiB ({memory[1][0]} processes)",
        f"server memory over the run (MiB): {', '.join(f'{kib / 1024:.1f}' for kib in samples)}",
        f"idtoken fetches from LTIAAS: {fetches}",
        forged_line(tally, *forged_calls, target.workers),
        "status by kind: "
        + ", ".join(
            f"{kind} {dict(sorted((s, c) for (k, s), c in tally.statuses.items() if k == kind))}"
            for kind in KINDS
        ),
    ]
    lines += [f"  mismatch: {example}" for example in tally.mismatched[:5]]
    if tally.latencies:
        lines.append(f"mean latency {statistics.fmean(tally.latencies) * 1000:.1f} ms")
    return lines


def forged_line(tally: Tally, calls: int, distinct: int, workers: int) -> str:
    """LTIAAS calls per forged (tampered) request: refusal memory makes it about 0 after each forged
    ltik's first request in each worker (one call per forged ltik per ``refusal_ttl`` per worker
    process without a shared store)."""
    requests = sum(count for (kind, _), count in tally.statuses.items() if kind == "tampered")
    per_request = calls / requests if requests else 0.0
    after_first = max(0, calls - distinct * workers) / requests if requests else 0.0
    return (
        f"LTIAAS calls per forged request: {per_request:.4f} ({calls} calls for {requests} tampered "
        f"requests over {distinct} forged ltiks and {workers} worker(s); after each one's first per "
        f"worker: {after_first:.4f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per target (default 60)")
    parser.add_argument(
        "--requests", type=int, default=20_000, help="requests per target at most (default 20000)"
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent client connections (default 32)")
    parser.add_argument("--launches", type=int, default=200, help="distinct valid launches (default 200)")
    parser.add_argument("--targets", default="flask,fastapi", help="comma-separated: flask, fastapi")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.targets.split(",") if name.strip()]
    if not names or any(name not in TARGETS for name in names):
        parser.error(f"--targets takes {', '.join(TARGETS)}")

    failed = False
    lines = [
        f"# soak: {args.duration:.0f} s / {args.requests} requests per target, {args.clients} clients, "
        f"{args.launches} launches, the examples as shipped (prefetch_idtoken=True)",
        f"mix: {', '.join(f'{kind} {weight}%' for kind, weight in zip(KINDS, WEIGHTS, strict=True))}",
    ]
    with FakeLtiaas() as fake:
        for name in names:
            target = TARGETS[name]
            fake.reset()
            launches = []
            for index in range(args.launches):
                ltik = fake.launch(user_id=f"user-{index}")
                launches.append(Launch(ltik, f"user-{index}", parse_ltik(ltik).fingerprint))
            log = Path(tempfile.gettempdir()) / f"soak-{name}.log"
            with running(target, fake, log) as (pid, port):
                before = server_rss(pid)
                started = time.monotonic()
                with sampling(pid, max(1.0, args.duration / 10)) as samples:
                    tally = drive(
                        port,
                        target,
                        fake,
                        clients=args.clients,
                        requests=args.requests,
                        duration=args.duration,
                        launches=launches,
                        seed=args.seed,
                    )
                seconds = time.monotonic() - started
                after = server_rss(pid)
            idtoken_calls = [call for call in fake.calls if call.path == "/api/idtoken"]
            refused = [call for call in idtoken_calls if call.status == 401]
            forged_calls = (len(refused), len({call.authorization for call in refused}))
            lines += report(
                target, tally, seconds, (before, after), samples, len(idtoken_calls), forged_calls
            )
            fivexx = any(status >= 500 for (_, status) in tally.statuses)
            failed = failed or bool(tally.mismatched) or fivexx
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
