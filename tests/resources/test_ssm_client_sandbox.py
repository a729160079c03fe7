"""The SSM client against the real sandbox process, under injected faults.

The sandbox answers 20% of API calls with 5xx, commits 10% of writes and then drops the
connection, throttles 1% with 429 bursts, and holds 1% past the client's timeout. Whatever
happens, creating and then updating 500 products must converge: each extId exists exactly
once, with its final values. Half go through single calls, half through bulk calls, so both
recovery paths (lookup by extId after an unanswered create) are exercised.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from resources.ssm import SSMAuthError, SSMClient
from sandbox.ssm.testing import running_sandbox

pytestmark = pytest.mark.slow

PRODUCTS = 500


def ext_id(n: int) -> str:
    # a quote and non-ASCII letters in some keys prove the where escaping end to end
    if n % 50 == 7:
        return f"O'NEIL-{n:04d}"
    if n % 50 == 9:
        return f"CAFÉ-{n:04d}"
    return f"STK-{n:04d}"


def test_create_then_update_converges_under_faults(tmp_path: Path) -> None:
    options = dict(
        rate=200,
        fault_5xx=0.2,
        fault_lost_answer=0.1,
        fault_429=0.01,
        fault_hang=0.01,
        fault_hang_seconds=1.0,
        fault_seed=20240301,
    )
    with running_sandbox(tmp_path, **options) as sandbox:
        with SSMClient(
            sandbox.base_url,
            sandbox.public_key,
            sandbox.private_key,
            requests_per_second=150,  # under the sandbox's 200/s: 429s come from the faults
            timeout_seconds=0.5,
            max_attempts=12,
            backoff_seconds=0.02,
            max_backoff_seconds=0.2,
        ) as client:
            half = PRODUCTS // 2
            single = [{"model": f"Widget {n}", "extId": ext_id(n), "price": n} for n in range(half)]
            bulk = [
                {"model": f"Widget {n}", "extId": ext_id(n), "price": n}
                for n in range(half, PRODUCTS)
            ]

            ids = {item["extId"]: client.create("products", item) for item in single}
            created = client.bulk_create("products", bulk)
            assert [r.ext_id for r in created if not r.ok] == []
            ids.update({r.ext_id: r.id for r in created})

            for n in range(half):
                client.update("products", ids[ext_id(n)], {"price": n + 0.5, "stock": n})
            updated = client.bulk_update(
                "products",
                [(ids[ext_id(n)], {"price": n + 0.5, "stock": n}) for n in range(half, PRODUCTS)],
            )
            assert [r.index for r in updated if not r.ok] == []

            stats = httpx.get(sandbox.control_url + "/stats").json()
            state = httpx.get(sandbox.control_url + "/state", params={"resource": "products"})
            api_calls = client.api_calls

    products = [p for p in state.json()["products"] if p["extId"] is not None]
    per_ext_id = Counter(p["extId"] for p in products)
    assert sorted(per_ext_id) == sorted(ext_id(n) for n in range(PRODUCTS))
    assert set(per_ext_id.values()) == {1}  # nothing duplicated, nothing lost
    final = {p["extId"]: (p["id"], p["model"], p["price"], p["stock"]) for p in products}
    assert final == {
        ext_id(n): (ids[ext_id(n)], f"Widget {n}", n + 0.5, n) for n in range(PRODUCTS)
    }
    # the faults really happened, and every one of them was absorbed
    assert stats["faults"].get("lost_answer", 0) >= 5
    assert stats["faults"].get("5xx", 0) >= 20
    assert stats["faults"].get("hang", 0) >= 1
    assert stats["faults"].get("429", 0) >= 1
    assert api_calls == stats["total"]


def test_wrong_keys_against_the_sandbox_raise_an_auth_error(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as sandbox:
        with SSMClient(sandbox.base_url, "not-the-key", "not-the-secret") as client:
            with pytest.raises(SSMAuthError, match="SSM_PUBLIC_KEY") as raised:
                client.find_by_ext_id("products", "STK-0001")
    assert "not-the-key" not in str(raised.value) and "not-the-secret" not in str(raised.value)


def test_a_client_paced_over_the_plan_recovers_from_real_429s(tmp_path: Path) -> None:
    """The sandbox's own token bucket at 4/s against a client paced for the 13/s plan."""
    records = 24
    with running_sandbox(tmp_path, rate=4) as sandbox:
        started = time.monotonic()
        with SSMClient(
            sandbox.base_url,
            sandbox.public_key,
            sandbox.private_key,
            requests_per_second=13,  # the wrong plan: bursts run into 429 + Retry-After
        ) as client:
            for n in range(records):
                client.create("products", {"model": f"Paced {n}", "extId": f"RL-{n:03d}"})
            api_calls = client.api_calls
        elapsed = time.monotonic() - started
        stats = httpx.get(sandbox.control_url + "/stats").json()
        state = httpx.get(sandbox.control_url + "/state", params={"resource": "products"})

    per_ext_id = Counter(p["extId"] for p in state.json()["products"])
    assert per_ext_id == {f"RL-{n:03d}": 1 for n in range(records)}
    assert stats["rate_limited"] > 0 and stats["faults"] == {}  # real throttling, no faults
    assert stats["statuses"]["429"] == stats["rate_limited"]
    assert api_calls == stats["total"]
    assert elapsed < 20


def test_list_reads_a_sandbox_that_caps_the_page_size(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, max_page_size=7) as sandbox:
        with SSMClient(
            sandbox.base_url, sandbox.public_key, sandbox.private_key, requests_per_second=200
        ) as client:
            created = client.bulk_create(
                "products", [{"model": f"P{n}", "extId": f"CAP-{n}"} for n in range(20)]
            )
            assert all(r.ok for r in created)

            listed = [p["extId"] for p in client.list("products")]
            by_name = [p["extId"] for p in client.list("products", order="extId asc")]
        stats = httpx.get(sandbox.control_url + "/stats").json()

    assert listed == [f"CAP-{n}" for n in range(20)]  # 7 + 7 + 6, not just the first 7
    assert by_name == sorted(listed)
    assert stats["requests"]["GET /products"] == 6  # the echoed Count ends each list at 6 < 7


def test_every_order_the_client_accepts_the_sandbox_accepts(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as sandbox:
        with SSMClient(
            sandbox.base_url, sandbox.public_key, sandbox.private_key, requests_per_second=200
        ) as client:
            client.create("accounts", {"name": "Acme", "branchId": 1, "salesRepId1": 2})
            for order in ("id", "typeId", "salesRepId1 asc", "dateCreated DESC", "Z_Tier"):
                assert [a["name"] for a in client.list("accounts", order=order)] == ["Acme"]
            with pytest.raises(ValueError, match="typeId.id"):
                list(client.list("accounts", order="typeId.id"))
