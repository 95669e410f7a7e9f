"""uvicorn started from Python with ``RedactingFilter`` on every handler: ``python uvicorn_logging.py``.

``LOG_CONFIG`` is uvicorn's own default logging configuration plus the filter, so its output looks as usual,
and ``LaunchContextFilter`` on the default handler, which also serves the app's own loggers (``root``): each
line logged during a launch names it.
"""

from __future__ import annotations

import copy
import os

import uvicorn
import uvicorn.config

LOG_CONFIG = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
LOG_CONFIG["filters"] = {
    "redact": {"()": "ltiaas_auth.RedactingFilter.from_env"},
    "launch": {"()": "ltiaas_auth.log_context.LaunchContextFilter"},
}
for handler in LOG_CONFIG["handlers"].values():
    handler["filters"] = ["redact"]
LOG_CONFIG["handlers"]["default"]["filters"] = ["launch", "redact"]
LOG_CONFIG["formatters"]["default"]["fmt"] = (
    "%(levelprefix)s [%(ltik_fingerprint)s %(lti_context_id)s] %(message)s"
)
LOG_CONFIG["root"] = {"handlers": ["default"], "level": "INFO"}

if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run("launch_app:asgi_app", host="127.0.0.1", port=port, log_config=LOG_CONFIG)
