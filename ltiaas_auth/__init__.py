"""ltiaas_auth: the ltik, the idtoken and the ``Authorization`` header for tools built on LTIAAS.

Wrap a WSGI or ASGI app in the middleware, then call ``auth_headers()`` (or pass ``auth=LtiaasAuth()``)
for every outbound LTIAAS call, and ``current_launch().idtoken()`` for the user, roles and course.
"""

from .auth import LtiaasAuth
from .config import LtiaasConfig
from .context import (
    api_key_context,
    auth_header,
    auth_headers,
    current_launch,
    launch_context,
    service_context,
)
from .credentials import Launch
from .errors import (
    AmbiguousLtik,
    ExpiredLtik,
    ForeignOriginError,
    InvalidCredential,
    InvalidLtik,
    LtiaasAuthError,
    MissingLtik,
    NoLaunchContext,
    UpstreamError,
)
from .headers import bearer_authorization, ltik_authorization, service_authorization
from .idtoken import CacheInfo
from .ltik import Ltik, parse_ltik

__version__ = "0.1.0"

__all__ = [
    "AmbiguousLtik",
    "CacheInfo",
    "ExpiredLtik",
    "ForeignOriginError",
    "InvalidCredential",
    "InvalidLtik",
    "Launch",
    "LtiaasAuth",
    "LtiaasAuthError",
    "LtiaasConfig",
    "Ltik",
    "MissingLtik",
    "NoLaunchContext",
    "UpstreamError",
    "api_key_context",
    "auth_header",
    "auth_headers",
    "bearer_authorization",
    "current_launch",
    "launch_context",
    "ltik_authorization",
    "parse_ltik",
    "service_authorization",
    "service_context",
]
