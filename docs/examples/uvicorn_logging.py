"""uvicorn started from Python with ``RedactingFilter`` on every handler: ``python uvicorn_logging.py``.

``LOG_CONFIG`` is uvicorn's own default logging configuration plus the filter, so its output looks as usual.
"""

from __future__ import annotations

import copy
import os

import uvicorn
import uvicorn.config

LOG_CONFIG = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
LOG_CONFIG["filters"] = {"redact": {"()": "ltiaas_auth.RedactingFilter.from_env"}}
for handler in LOG_CONFIG["handlers"].values():
    handler["filters"] = ["redact"]

if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run("launch_app:asgi_app", host="127.0.0.1", port=port, log_config=LOG_CONFIG)
