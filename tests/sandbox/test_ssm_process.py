"""The SSM sandbox as a real server process on a free loopback port, seen by an httpx client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.ssm.testing import SandboxProcess, running_sandbox


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path_factory.mktemp("ssm-process")) as process:
        yield process


@pytest.fixture
def api(server: SandboxProcess) -> Iterator[httpx.Client]:
    httpx.post(server.control_url + "/reset").raise_for_status()
    headers = {"X-Session-Key": server.login()}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=5.0) as client:
        yield client


def control(server: SandboxProcess, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, server.control_url + path, json=body, timeout=5.0)
    answer.raise_for_status()
    return answer.json()


def queue_faults(server: SandboxProcess, *faults: Any, **settings: Any) -> None:
    control(server, "PUT", "/faults", {"queue": list(faults), **settings})


def test_login_token_and_401(server: SandboxProcess, api: httpx.Client) -> None:
    assert api.get("/accounts").status_code == 200
    missing = httpx.get(server.base_url + "/accounts")
    assert missing.status_code == 401
    assert missing.json() == {"statusCode": 401, "message": "Unauthorized"}
    wrong = httpx.post(
        server.base_url + "/login", json={"username": "sandbox-public", "password": "?"}
    )
    assert wrong.status_code == 401


def test_crud_and_case_insensitive_paths(api: httpx.Client) -> None:
    body = {"name": "Acme Ltd", "branchId": 1, "salesRepId1": 2, "extId": "ACME01"}
    assert api.post("/Accounts", json=body).json() == {"Message": "entity created", "id": 1}
    assert api.get("/ACCOUNTS/1").json()["extId"] == "ACME01"
    found = api.get("/accounts", params={"where": "extId = 'ACME01' AND salesRepId1.id = 2"})
    assert [a["id"] for a in found.json()] == [1]
    assert api.get("/accounts/2").json() == {"statusCode": 400, "message": "Bad Request"}


def test_each_fault_kind_is_observable(server: SandboxProcess, api: httpx.Client) -> None:
    product = {"model": "Widget"}
    queue_faults(server, "503", "408", "429", "drop", "none", hang_seconds=3, slow_seconds=1)
    first = api.post("/products", json=product)
    assert first.status_code == 503 and first.json()["code"] == 900
    assert api.post("/products", json=product).status_code == 408
    throttled = api.post("/products", json=product)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post("/products", json=product)
    assert api.post("/products", json=product).json()["id"] == 1  # "none": passes untouched

    queue_faults(server, "hang")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/products", timeout=0.3)
    queue_faults(server, "slow")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/products", timeout=0.2)

    stats = control(server, "GET", "/stats")
    assert stats["faults"] == {"5xx": 1, "408": 1, "429": 1, "drop": 1, "hang": 1, "slow": 1}
    assert stats["requests"]["POST /products"] == 5
    # Only the untouched POST wrote anything.
    assert [p["model"] for p in api.get("/products").json()] == ["Widget"]


def test_lost_answer_commits_but_the_client_sees_an_error(
    server: SandboxProcess, api: httpx.Client
) -> None:
    queue_faults(server, {"kind": "lost_answer", "method": "POST", "resource": "products"})
    assert api.get("/products").status_code == 200  # a GET does not match the queued fault
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post("/products/bulk", json=[{"guid": "a", "data": {"model": "Ghost", "extId": "G"}}])
    ghosts = api.get("/products", params={"where": "extId = 'G'"}).json()
    assert [p["model"] for p in ghosts] == ["Ghost"]

    queue_faults(server, "lost_answer", lost_answer_mode="500")
    answer = api.put(f"/products/{ghosts[0]['id']}", json={"price": 4.5})
    assert answer.status_code == 500
    assert api.get(f"/products/{ghosts[0]['id']}").json()["price"] == 4.5


def test_random_faults_follow_the_share_and_spare_login(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, fault_5xx=0.5, fault_seed=11) as server:
        token = server.login()  # login is not faulted by default
        with httpx.Client(base_url=server.base_url, headers={"X-Session-Key": token}) as client:
            statuses = [client.get("/users").status_code for _ in range(30)]
        failures = sum(1 for s in statuses if s >= 500)
        assert 0 < failures < 30
        assert set(statuses) <= {200, 500, 502, 503}
        stats = httpx.get(server.control_url + "/stats").json()
        assert stats["faults"] == {"5xx": failures}
        assert stats["requests"] == {"GET /users": 30, "POST /login": 1}


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    # 0.2 requests/s, bucket of 1: the login takes the only token, the next one comes in 5 s.
    with running_sandbox(tmp_path, rate=0.2) as server:
        token = server.login()
        answer = httpx.get(server.base_url + "/users", headers={"X-Session-Key": token})
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] in {"4", "5"}
        assert answer.json() == {"message": "Too Many Requests"}
        assert httpx.get(server.control_url + "/stats").json()["rate_limited"] == 1
        # Control routes are never limited.
        assert all(httpx.get(server.control_url + "/health").status_code == 200 for _ in range(5))
        limit = httpx.put(server.control_url + "/rate-limit", json={"rate": 0})
        assert limit.json() == {"rate": 0.0, "burst": 1.0}
        answer = httpx.get(server.base_url + "/users", headers={"X-Session-Key": token})
        assert answer.status_code == 200


def test_token_expires_after_its_ttl(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, token_ttl=1.5) as server:
        token = server.login()
        headers = {"X-Session-Key": token}
        assert httpx.get(server.base_url + "/users", headers=headers).status_code == 200
        time.sleep(1.7)
        assert httpx.get(server.base_url + "/users", headers=headers).status_code == 401


def test_state_survives_a_kill_and_restart(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, reps=["Dana Scott"]) as server:
        token = server.login()
        headers = {"X-Session-Key": token}
        body = {"model": "Survivor", "extId": "S1"}
        assert (
            httpx.post(server.base_url + "/products", json=body, headers=headers).status_code == 200
        )
        server.kill()
        server.start()
        products = httpx.get(server.base_url + "/products", headers=headers).json()
        assert [(p["id"], p["model"]) for p in products] == [(1, "Survivor")]
        users = httpx.get(server.base_url + "/users", headers=headers).json()
        assert [u["name"] + " " + u["lastName"] for u in users] == ["Admin User", "Dana Scott"]
        answer = httpx.post(server.base_url + "/products", json={"model": "Next"}, headers=headers)
        assert answer.json()["id"] == 2


def test_html_page_lists_records(server: SandboxProcess, api: httpx.Client) -> None:
    api.post("/accounts", json={"name": "Fish & Chips <Ltd>", "branchId": 1, "salesRepId1": 3})
    page = httpx.get(server.root_url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="accounts"' in page.text and 'href="#products"' in page.text
    assert "Fish &amp; Chips &lt;Ltd&gt;" in page.text
    assert "Ben Hughes" in page.text
