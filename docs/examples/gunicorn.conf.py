"""gunicorn settings that keep credentials out of the logs: ``gunicorn -c gunicorn.conf.py launch_app:app``.

Every handler gets ``RedactingFilter`` (the access log shows the launch URL, ``?ltik=`` included; the error
log shows tracebacks). ``from_env`` also masks ``$LTIAAS_API_KEY``. The console handler also gets
``LaunchContextFilter``: each line the app logs during a launch names it (the ltik's fingerprint and the
course it came from); other lines show ``None None``.
"""

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "ltiaas_auth.RedactingFilter.from_env"},
        "launch": {"()": "ltiaas_auth.log_context.LaunchContextFilter"},
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] "
            "[%(ltik_fingerprint)s %(lti_context_id)s] %(message)s"
        },
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["launch", "redact"],
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["redact"],
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
