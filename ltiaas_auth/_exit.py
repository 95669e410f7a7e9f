"""What the ``ltiaas-auth`` command and the programs it runs (the demo, the standalone fake) share: the
command's name and its exit statuses. A module of its own, so that :mod:`ltiaas_auth.cli` and
:mod:`ltiaas_auth.demo` both use it without importing each other.
"""

from __future__ import annotations

__all__ = [
    "EXIT_EXPIRED",
    "EXIT_INVALID",
    "EXIT_MISSING_DEPENDENCY",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
]

PROG = "ltiaas-auth"

EXIT_OK = 0
#: a malformed ltik or key; a failed ``demo --check``; a server that could not start (its port is taken)
EXIT_INVALID = 1
#: bad arguments, a secret on the command line, a secret missing
EXIT_USAGE = 2
#: the ltik has expired
EXIT_EXPIRED = 3
#: an optional dependency is missing (Flask for the demo, trustme for ``fake --tls``)
EXIT_MISSING_DEPENDENCY = 4
