"""A nightly job, run as its own process by test_service_keys.py: no request, no ltik, only stored keys.

For every stored launch context it reads the roster, creates a line item and posts a score for each member,
all under ``service_context``. It prints one JSON report per context. Usage: ``cron_job.py <store.db>``,
with ``LTIAAS_URL`` and ``LTIAAS_API_KEY`` in the environment.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import quote

from ltiaas_auth import LtiaasConfig, SQLiteServiceKeyStore, service_context
from ltiaas_auth.clients.httpx import client


def main(store_path: str) -> list[dict[str, Any]]:
    config = LtiaasConfig.from_env()
    report = []
    with SQLiteServiceKeyStore(store_path) as store, client(config) as http:
        for record in store.records():
            with service_context(config, record.service_key):
                members = http.get("/api/memberships").raise_for_status().json()["members"]
                item = http.post("/api/lineitems", json={"label": "Nightly", "scoreMaximum": 10})
                scores = f"/api/lineitems/{quote(item.raise_for_status().json()['id'], safe='')}/scores"
                for member in members:
                    score = {
                        "userId": member["userId"],
                        "scoreGiven": 7,
                        "scoreMaximum": 10,
                        "activityProgress": "Completed",
                        "gradingProgress": "FullyGraded",
                    }
                    http.post(scores, json=score).raise_for_status()
                results = http.get(scores).raise_for_status().json()["scores"]
            report.append(
                {
                    "context_id": record.context_id,
                    "members": sorted(member["userId"] for member in members),
                    "scores": sorted([result["userId"], result["resultScore"]] for result in results),
                }
            )
    return report


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout)
