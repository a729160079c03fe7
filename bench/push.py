"""The push's bound at the API's rate: records/s against rate x bulk batch size.

Two measurements, both against the sandbox server (a real process) at the plan's rate:

* `initial_push_efficiency` reads the initial sync's push assets (records created and seconds,
  per pushed resource, from their materialization metadata) and compares the time taken with
  the least the rate allows: ceil(records / batch size) calls at `rate` calls/s.
* `run_transport_bound`: the SSM client alone, `bulk_create` of N products and N accounts, no
  warehouse, no ledger: the transport's own records/s, which the push cannot beat.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any


def initial_push_efficiency(
    pushes: dict[str, dict[str, Any]], batch_sizes: dict[str, int], rate: float
) -> dict[str, Any]:
    """Records/s of the initial push, the bound the API allows, and their ratio."""
    per_resource: dict[str, dict[str, Any]] = {}
    records = seconds = least_seconds = 0.0
    for name, push in pushes.items():
        created = int(push.get("created") or 0)
        took = float(push.get("seconds") or 0.0)
        if created == 0 or name not in batch_sizes:
            continue
        least = math.ceil(created / batch_sizes[name]) / rate
        per_resource[name] = {
            "records": created,
            "seconds": took,
            "records_per_second": created / took if took else None,
            "bound_records_per_second": rate * batch_sizes[name],
            "efficiency": least / took if took else None,
            "write_calls": push.get("write_calls"),
        }
        records += created
        seconds += took
        least_seconds += least
    return {
        "records": int(records),
        "seconds": seconds,
        "records_per_second": records / seconds if seconds else None,
        # The records-weighted bound: the same records moved in the least time the rate allows.
        "bound_records_per_second": records / least_seconds if least_seconds else None,
        "efficiency": least_seconds / seconds if seconds else None,
        "per_resource": per_resource,
    }


def run_transport_bound(workdir: str, records: int, rate: float) -> dict[str, Any]:
    """bulk_create `records` products and `records` accounts at `rate`; records/s per resource."""
    from resources.ssm.client import SSMClient
    from sandbox.ssm.testing import running_sandbox

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"rate": rate, "records": records, "resources": {}}
    with running_sandbox(work, rate=rate) as sandbox:
        with SSMClient(
            sandbox.base_url, sandbox.public_key, sandbox.private_key, requests_per_second=rate
        ) as client:
            # An account needs a branch and a rep: the sandbox's seeded ones (not timed).
            branch = next(iter(client.list("branches")))["id"]
            rep = next(iter(client.list("users")))["id"]
            payloads = {
                "products": [
                    {"model": f"Bench product {n}", "extId": f"BP{n:07d}", "price": n % 997}
                    for n in range(records)
                ],
                "accounts": [
                    {
                        "name": f"Bench account {n}",
                        "extId": f"BA{n:07d}",
                        "branchId": branch,
                        "salesRepId1": rep,
                    }  # fmt: skip
                    for n in range(records)
                ],
            }
            for resource, items in payloads.items():
                calls_before = client.api_calls
                started = time.perf_counter()
                results = client.bulk_create(resource, items)
                seconds = time.perf_counter() - started
                batch = client.batch_size(resource, "create")
                ok = sum(r.ok for r in results)
                out["resources"][resource] = {
                    "records": ok,
                    "failed": len(results) - ok,
                    "seconds": seconds,
                    "api_calls": client.api_calls - calls_before,
                    "batch_size": batch,
                    "records_per_second": ok / seconds,
                    "bound_records_per_second": rate * batch,
                    "efficiency": ok / seconds / (rate * batch),
                    "first_failure": next((r.message for r in results if not r.ok), None),
                }
    return out
