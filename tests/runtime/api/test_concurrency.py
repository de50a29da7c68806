"""Optimistic locking under real concurrency: a uvicorn server in a thread, eight HTTP clients in eight threads.

Every client has its own connection (an ``httpx2.Client``) to a real server
over the same database, on PostgreSQL (row locks) and on SQLite (one writer at
a time).  Clients change one record with ``If-Match`` holding the version they
read: per version exactly one change wins, every other gets 412 with the
record's current version, and no change is lost — each one the API accepted
is in the record's version count and in its timeline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
import uvicorn

from tests.runtime.conftest import Installed
from xrm.ui.app import create_app

CLIENTS = 8
#: Users the clients act as, alternately (both may change every lead).
USERS = ("admin", "manager")
PROBLEM = "application/problem+json"
T = TypeVar("T")


@contextmanager
def live_server(installed: Installed) -> Iterator[str]:
    """The app over ``installed`` served by uvicorn on a free port in a background thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(installed.engine), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        give_up = time.monotonic() + 60  # a safety net against hanging, not a timing assertion
        while not server.started:
            assert thread.is_alive(), "the server thread ended before it started serving"
            assert time.monotonic() < give_up, "the server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


def clients(base_url: str, installed: Installed) -> list[httpx2.Client]:
    return [httpx2.Client(base_url=base_url, timeout=60,
                          headers={"Authorization": f"Bearer {installed.seed.tokens[USERS[n % len(USERS)]]}"})
            for n in range(CLIENTS)]


def in_parallel(work: Callable[[int], T]) -> list[T]:
    """``work(n)`` for each client number in its own thread; the results in client order (errors re-raised)."""
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(work, n) for n in range(CLIENTS)]
        return [future.result() for future in futures]


def version_of(response: httpx2.Response) -> int:
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag == f'"{response.json()["version"]}"'
    return response.json()["version"]


def assert_stale(response: httpx2.Response, sent: int) -> int:
    """A 412 problem naming the current version (in the body and the ETag), newer than the one sent."""
    assert response.status_code == 412, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 412 and problem["current_version"] > sent
    assert response.headers["etag"] == f'"{problem["current_version"]}"'
    return problem["current_version"]


def update_entries(client: httpx2.Client, lead_id: int) -> list[dict[str, Any]]:
    timeline = client.get(f"/api/lead/{lead_id}/timeline")
    assert timeline.status_code == 200, timeline.text
    return sorted((e for e in timeline.json()["items"] if e["action"] == "update"), key=lambda e: e["version"])


@dataclass
class Attempt:
    client: int
    read: int
    city: str
    status: int
    version: int  # the new version (200) or the current one the 412 named


def test_one_change_per_version_wins_and_the_others_get_412(installed: Installed) -> None:
    rounds = 5
    with live_server(installed) as url:
        http = clients(url, installed)
        try:
            created = http[0].post("/api/lead", json={"last_name": "Race", "company": "ACME", "email": "race@example.com"})
            assert created.status_code == 201, created.text
            lead_id = created.json()["id"]
            barrier = threading.Barrier(CLIENTS, timeout=120)

            def race(n: int) -> list[Attempt]:
                attempts = []
                for round_ in range(rounds):
                    barrier.wait()  # the previous round's changes are all answered
                    read = version_of(http[n].get(f"/api/lead/{lead_id}"))
                    barrier.wait()  # everyone has read before anyone changes
                    city = f"client {n} round {round_}"
                    response = http[n].patch(f"/api/lead/{lead_id}", json={"city": city},
                                             headers={"If-Match": f'"{read}"'})
                    if response.status_code == 200:
                        attempts.append(Attempt(n, read, city, 200, version_of(response)))
                        assert response.json()["city"] == city
                    else:
                        attempts.append(Attempt(n, read, city, 412, assert_stale(response, read)))
                return attempts

            results = in_parallel(race)
            final = http[0].get(f"/api/lead/{lead_id}")
            updates = update_entries(http[0], lead_id)
        finally:
            for client in http:
                client.close()

    winners = []
    for round_ in range(rounds):
        attempts = [client_attempts[round_] for client_attempts in results]
        assert {a.read for a in attempts} == {1 + round_}, "every client read the version the previous round left"
        won = [a for a in attempts if a.status == 200]
        assert len(won) == 1, f"round {round_}: {len(won)} changes of version {1 + round_} were accepted"
        assert won[0].version == 2 + round_
        assert all(a.version == 2 + round_ for a in attempts if a.status == 412), "a 412 named another version"
        winners.append(won[0])
    assert final.json()["version"] == 1 + len(winners) == 1 + rounds
    assert final.json()["city"] == winners[-1].city
    assert [e["version"] for e in updates] == [w.version for w in winners]
    previous = None
    for entry, winner in zip(updates, winners, strict=True):
        assert entry["changes"] == [{"field": "city", "old": previous, "new": winner.city}]
        assert entry["actor"] == USERS[winner.client % len(USERS)] and entry["source"] == "api"
        previous = winner.city


def test_retrying_clients_lose_no_increment(installed: Installed) -> None:
    """Read, add one, PATCH with If-Match, on 412 read again: the counter ends at the number of accepted changes."""
    increments, max_attempts = 5, 1000  # each client's goal; a bound so that a broken lock cannot loop forever
    with live_server(installed) as url:
        http = clients(url, installed)
        try:
            created = http[0].post("/api/lead", json={"last_name": "Counter", "company": "ACME", "phone": "+1 555 0100",
                                                      "number_of_employees": 0})
            assert created.status_code == 201, created.text
            lead_id = created.json()["id"]
            start = threading.Barrier(CLIENTS, timeout=120)

            def count(n: int) -> tuple[list[tuple[int, int]], int]:
                accepted: list[tuple[int, int]] = []  # (new version, new value)
                refused = 0
                start.wait()
                for _ in range(max_attempts):
                    if len(accepted) == increments:
                        break
                    read = http[n].get(f"/api/lead/{lead_id}")
                    version, value = version_of(read), read.json()["number_of_employees"]
                    response = http[n].patch(f"/api/lead/{lead_id}", json={"number_of_employees": value + 1},
                                             headers={"If-Match": f'"{version}"'})
                    if response.status_code == 200:
                        assert response.json()["number_of_employees"] == value + 1
                        accepted.append((version_of(response), value + 1))
                        assert accepted[-1][0] == version + 1
                    else:
                        assert_stale(response, version)
                        refused += 1
                assert len(accepted) == increments, f"client {n} gave up after {max_attempts} attempts"
                return accepted, refused

            results = in_parallel(count)
            final = http[0].get(f"/api/lead/{lead_id}").json()
            updates = update_entries(http[0], lead_id)
        finally:
            for client in http:
                client.close()

    accepted = sorted(change for changes, _ in results for change in changes)
    total = len(accepted)
    assert total == CLIENTS * increments
    assert final["number_of_employees"] == total, "an accepted increment was lost"
    assert final["version"] == 1 + total
    # each accepted change produced its own version and value, in order: version v holds the value v - 1
    assert accepted == [(1 + k, k) for k in range(1, total + 1)]
    assert [e["version"] for e in updates] == list(range(2, total + 2))
    for entry in updates:
        assert entry["changes"] == [{"field": "number_of_employees", "old": entry["version"] - 2,
                                     "new": entry["version"] - 1}]
