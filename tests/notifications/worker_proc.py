"""A job process for the killed-worker test: the real `serve` loop with the test's config.

    python -m tests.notifications.worker_proc '{"worker_id": ..., "templates": {...},
                                                "lease_s": 1.0, "once": false}'

Settings (database, Redis, WeChat base URL) come from the environment, as in production;
only the delivery config (template ids, lease) is passed explicitly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from app import jobs
from app.notifications.delivery import DeliveryConfig


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = json.loads(sys.argv[1])
    config = DeliveryConfig(templates=options["templates"], wechat_enabled=True,
                            lease_s=options["lease_s"], concurrency=1)
    return asyncio.run(jobs.serve(worker_id=options["worker_id"], config=config,
                                  once=options.get("once", False), idle_s=0.2))


if __name__ == "__main__":
    sys.exit(main())
