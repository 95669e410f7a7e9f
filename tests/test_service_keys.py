"""Service keys: recorded at launch, one per launch context (newest wins), used by jobs in other processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from ltiaas_auth import (
    LtiaasConfig,
    LtiaasMiddleware,
    MemoryServiceKeyStore,
    NoLaunchContext,
    ServiceKeyRecord,
    ServiceKeyStore,
    SQLiteServiceKeyStore,
    api_key_context,
    auth_header,
    bind_context,
    current_launch,
    launch_context,
    stored_service_context,
    submit_in_context,
)
from ltiaas_auth.testing import FakeLtiaas

HERE = Path(__file__).parent


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceKeyStore]:
    if request.param == "memory":
        yield MemoryServiceKeyStore()
    else:
        with SQLiteServiceKeyStore(tmp_path / "keys.db") as opened:
            yield opened


def record(context: str | None = "c1", key: str = "key-1", seen_at: float = 100.0) -> ServiceKeyRecord:
    return ServiceKeyRecord("platform", context, "link", key, seen_at)


# --- the store contract, for both stores


def test_a_store_keeps_one_key_per_launch_context(store: ServiceKeyStore) -> None:
    store.put(record("c1", "key-1", 100))
    store.put(record("c2", "key-2", 50))
    store.put(record("c1", "key-3", 200))
    assert store.get("platform", "c1", "link") == record("c1", "key-3", 200)
    assert [r.service_key for r in store.records()] == ["key-2", "key-3"]  # oldest launch first


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [
        pytest.param(100.0, 200.0, "second", id="newer-replaces"),
        pytest.param(200.0, 100.0, "first", id="older-is-ignored"),
        pytest.param(100.0, 100.0, "second", id="same-time-last-wins"),
    ],
)
def test_the_newer_launch_wins(store: ServiceKeyStore, first: float, second: float, kept: str) -> None:
    store.put(record(key="first", seen_at=first))
    store.put(record(key="second", seen_at=second))
    found = store.get("platform", "c1", "link")
    assert found is not None
    assert found.service_key == kept


@pytest.mark.parametrize(
    ("context_id", "resource_link_id"), [("c1", None), (None, "link"), (None, None)], ids=str
)
def test_absent_ids_are_part_of_the_key(
    store: ServiceKeyStore, context_id: str | None, resource_link_id: str | None
) -> None:
    kept = ServiceKeyRecord("platform", context_id, resource_link_id, "key", 1.0)
    store.put(kept)
    store.put(record())
    assert store.get("platform", context_id, resource_link_id) == kept
    assert store.get("other", context_id, resource_link_id) is None


def test_records_never_show_their_key() -> None:
    assert "key-1" not in repr(record())
    assert "key-1" not in str(record())


# --- the SQLite store across processes


def test_keys_survive_reopening_the_file(tmp_path: Path) -> None:
    with SQLiteServiceKeyStore(tmp_path / "keys.db") as first:
        first.put(record())
    with SQLiteServiceKeyStore(tmp_path / "keys.db") as again:
        assert again.records() == [record()]
        mode = again._connect().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_new_file_is_private_to_its_owner(tmp_path: Path) -> None:
    with SQLiteServiceKeyStore(tmp_path / "keys.db") as store:
        store.put(record())
        modes = {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()}
    assert modes == {"keys.db": 0o600, "keys.db-wal": 0o600, "keys.db-shm": 0o600}


WRITER = """
import sys
from ltiaas_auth import SQLiteServiceKeyStore, ServiceKeyRecord
path, name, seen_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
with SQLiteServiceKeyStore(path) as store:
    for i in range(200):
        store.put(ServiceKeyRecord("p", f"{name}-{i}", "link", f"{name}-own-{i}", seen_at))
        store.put(ServiceKeyRecord("p", f"shared-{i}", "link", f"{name}-shared-{i}", seen_at))
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "keys.db")  # a fresh file: both processes also race to create it
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, path, name, seen_at],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, seen_at in (("a", "1"), ("b", "2"))
    ]
    for writer in writers:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
    for writer in writers:  # start both together
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        writer.communicate(timeout=30)
        assert writer.returncode == 0
    with SQLiteServiceKeyStore(path) as store:
        keys = {r.context_id: r.service_key for r in store.records()}
    assert len(keys) == 600
    assert {keys[f"{name}-{i}"] for name in "ab" for i in range(200)} == {
        f"{name}-own-{i}" for name in "ab" for i in range(200)
    }
    # b's launches are newer: they win whichever process wrote last
    assert {keys[f"shared-{i}"] for i in range(200)} == {f"b-shared-{i}" for i in range(200)}


def test_threads_share_one_sqlite_store(tmp_path: Path) -> None:
    with SQLiteServiceKeyStore(tmp_path / "keys.db") as store, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: store.put(record(f"c{i}", f"k{i}", i)), range(100)))
        assert len(store.records()) == 100


def test_a_forked_process_opens_its_own_connection(tmp_path: Path) -> None:
    with SQLiteServiceKeyStore(tmp_path / "keys.db") as store:
        store.put(record("parent"))
        with warnings.catch_warnings():  # Python 3.12+ warns about fork() in a threaded process
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            try:
                store.put(record("child"))
                store.close()
            finally:
                os._exit(0 if len(store.records()) == 2 else 1)
        assert os.waitpid(pid, 0)[1] == 0
        assert {r.context_id for r in store.records()} == {"parent", "child"}


# --- what an idtoken carries


def idtoken(**services: Any) -> dict[str, Any]:
    return {
        "platform": {"id": "platform"},
        "launch": {"context": {"id": "c1"}, "resourceLink": {"id": "link"}},
        "services": services,
    }


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        pytest.param(idtoken(serviceKey="key-1"), record(), id="full"),
        pytest.param(
            {"platform": {"id": "platform"}, "launch": {}, "services": {"serviceKey": "key-1"}},
            ServiceKeyRecord("platform", None, None, "key-1", 100.0),
            id="no-context-no-link",
        ),
        pytest.param(idtoken(), None, id="no-service-key"),
        pytest.param(idtoken(serviceKey="not a token68"), None, id="malformed-key"),
        pytest.param(idtoken(serviceKey=42), None, id="key-not-a-string"),
        pytest.param({"services": {"serviceKey": "key-1"}}, None, id="no-platform"),
        pytest.param({"user": {"id": "u"}}, None, id="nothing"),
    ],
)
def test_the_record_an_idtoken_carries(token: dict[str, Any], expected: ServiceKeyRecord | None) -> None:
    assert ServiceKeyRecord.from_idtoken(token, 100.0) == expected


# --- recording at launch


def test_fetching_an_idtoken_records_its_service_key(fake: FakeLtiaas) -> None:
    store = MemoryServiceKeyStore()
    config = fake.config(service_keys=store)
    now = time.time()
    old = fake.launch(context_id="c1", resource_link_id="l1", issued_at=now - 60)
    new = fake.launch(context_id="c1", resource_link_id="l1", issued_at=now)
    for ltik in (new, old):  # the older launch is fetched last: it must not win
        with launch_context(config, ltik) as launch:
            launch.idtoken()
    found = store.get(fake.platform_id, "c1", "l1")
    assert found is not None
    assert (found.service_key, found.seen_at) == (fake.service_key_for(new), int(now))


def test_the_async_fetch_records_too(fake: FakeLtiaas) -> None:
    store = MemoryServiceKeyStore()
    config = fake.config(service_keys=store)
    ltik = fake.launch(context_id="c1", resource_link_id="l1")
    with launch_context(config, ltik) as launch:
        asyncio.run(launch.aidtoken())
    assert [r.service_key for r in store.records()] == [fake.service_key_for(ltik)]


def test_a_launch_without_grades_or_rosters_records_nothing(fake: FakeLtiaas) -> None:
    store = MemoryServiceKeyStore()
    with launch_context(fake.config(service_keys=store), fake.launch(services=("deepLinking",))) as launch:
        launch.idtoken()
    assert store.records() == []


class BrokenStore(MemoryServiceKeyStore):
    """A store whose writes fail, with the key in the error text as a careless store might put it."""

    def put(self, record: ServiceKeyRecord) -> None:
        raise OSError(f"disk full while writing {record.service_key}")


def test_a_failing_store_never_fails_the_fetch(fake: FakeLtiaas, caplog: pytest.LogCaptureFixture) -> None:
    ltik = fake.launch()
    config = fake.config(service_keys=BrokenStore())
    with caplog.at_level(logging.WARNING, "ltiaas_auth"), launch_context(config, ltik) as launch:
        assert launch.idtoken()["user"]["id"]
    [warning] = caplog.records
    assert "OSError" in warning.getMessage()
    key = fake.service_key_for(ltik)
    assert key is not None
    for secret in (key, ltik, fake.api_key):
        assert secret not in caplog.text


# --- the nightly job: launches through the middleware fill the store, another process uses it


def test_a_cron_job_in_another_process_uses_the_stored_keys(fake: FakeLtiaas, tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with SQLiteServiceKeyStore(path) as store:
        config = fake.config(service_keys=store)
        app = Flask(__name__)

        @app.get("/launch")
        def launch_page() -> dict[str, Any]:
            return {"user": current_launch().idtoken()["user"]["id"]}

        app.wsgi_app = LtiaasMiddleware(app.wsgi_app, config)  # type: ignore[method-assign]
        browser = Client(app)
        now = time.time()
        launches = [
            fake.launch(user_id="ada", context_id="algebra", resource_link_id="hw", issued_at=now - 60),
            fake.launch(user_id="bob", context_id="biology", resource_link_id="lab", issued_at=now - 30),
            fake.launch(user_id="cy", context_id="algebra", resource_link_id="hw", issued_at=now),
        ]
        for ltik in launches:
            with browser.get("/launch", query_string={"ltik": ltik}) as response:
                assert response.status_code == 200
        stored = {r.context_id: r.service_key for r in store.records()}
    # The second launch of algebra replaced the first one's key.
    assert stored == {
        "algebra": fake.service_key_for(launches[2]),
        "biology": fake.service_key_for(launches[1]),
    }

    before = len(fake.calls)
    env = {**os.environ, "LTIAAS_URL": fake.url, "LTIAAS_API_KEY": fake.api_key}
    job = subprocess.run(
        [sys.executable, str(HERE / "cron_job.py"), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = {entry["context_id"]: entry for entry in json.loads(job.stdout)}
    assert report["algebra"]["members"] == ["ada", "cy"]
    assert report["algebra"]["scores"] == [["ada", 7], ["cy", 7]]
    assert report["biology"]["scores"] == [["bob", 7]]
    job_calls = fake.calls[before:]
    assert {call.path.split("/")[2] for call in job_calls} == {"memberships", "lineitems"}
    assert {call.authorization for call in job_calls} == {
        f"SERVICE-AUTH-V1 {fake.api_key}:{key}" for key in stored.values()
    }
    assert all(call.status is not None and call.status < 300 for call in job_calls)


# --- carrying the credential into threads and executors, and opening a stored one


def test_a_plain_thread_sees_no_credential_but_a_bound_one_does() -> None:
    config = LtiaasConfig("key", "https://x.ltiaas.com")
    seen: list[str] = []

    def work() -> None:
        try:
            seen.append(auth_header())
        except NoLaunchContext:
            seen.append("none")

    with api_key_context(config):
        threads = [threading.Thread(target=work), threading.Thread(target=bind_context(work))]
        for thread in threads:
            thread.start()
            thread.join()
    assert seen == ["none", "Bearer key"]


def test_submit_in_context_and_concurrent_calls_of_a_bound_function() -> None:
    config = LtiaasConfig("key", "https://x.ltiaas.com")
    with api_key_context(config), ThreadPoolExecutor(4) as pool:
        assert submit_in_context(pool, auth_header).result() == "Bearer key"
        bound = bind_context(auth_header)
        assert list(pool.map(lambda _: bound(), range(20))) == ["Bearer key"] * 20


def test_stored_service_context(fake: FakeLtiaas) -> None:
    store = MemoryServiceKeyStore()
    store.put(record())
    config = fake.config(service_keys=store)
    with stored_service_context(config, "platform", "c1", "link"):
        assert auth_header() == f"SERVICE-AUTH-V1 {fake.api_key}:key-1"
    with stored_service_context(fake.config(), "platform", "c1", "link", store=store):
        assert auth_header() == f"SERVICE-AUTH-V1 {fake.api_key}:key-1"
    with pytest.raises(NoLaunchContext):
        stored_service_context(config, "platform", "unknown", "link")
    with pytest.raises(NoLaunchContext):
        stored_service_context(fake.config(), "platform", "c1", "link")
