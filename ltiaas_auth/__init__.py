"""ltiaas_auth: the ltik, the idtoken and the ``Authorization`` header for tools built on LTIAAS.

Wrap a WSGI or ASGI app in the middleware, then call ``auth_headers()`` (or pass ``auth=LtiaasAuth()``)
for every outbound LTIAAS call, and ``current_launch().idtoken()`` for the user, roles and course.
"""

from .asgi import LtiaasASGIMiddleware
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
    ApiKeyRejected,
    ExpiredLtik,
    ForeignOriginError,
    InvalidCredential,
    InvalidLtik,
    InvalidRequest,
    LmsError,
    LtiaasAuthError,
    LtikRefused,
    MissingLtik,
    NoLaunchContext,
    NotFound,
    RateLimited,
    RoleRequired,
    ServiceKeyRejected,
    ServiceNotAvailable,
    UpstreamError,
)
from .headers import bearer_authorization, ltik_authorization, service_authorization
from .idtoken import CacheInfo
from .jobs import bind_context, stored_service_context, submit_in_context
from .ltik import Ltik, parse_ltik
from .redact import RedactingFilter, redact_url
from .roles import Role, Roles
from .service_keys import (
    MemoryServiceKeyStore,
    ServiceKeyRecord,
    ServiceKeyStore,
    ServiceKeyStoreError,
    SQLiteServiceKeyStore,
)
from .stores import IdtokenStore, StoreLook
from .wsgi import LtiaasMiddleware

__version__ = "0.1.0"

__all__ = [
    "AmbiguousLtik",
    "ApiKeyRejected",
    "CacheInfo",
    "ExpiredLtik",
    "ForeignOriginError",
    "IdtokenStore",
    "InvalidCredential",
    "InvalidLtik",
    "InvalidRequest",
    "Launch",
    "LmsError",
    "LtiaasASGIMiddleware",
    "LtiaasAuth",
    "LtiaasAuthError",
    "LtiaasConfig",
    "LtiaasMiddleware",
    "Ltik",
    "LtikRefused",
    "MemoryServiceKeyStore",
    "MissingLtik",
    "NoLaunchContext",
    "NotFound",
    "RateLimited",
    "RedactingFilter",
    "Role",
    "RoleRequired",
    "Roles",
    "SQLiteServiceKeyStore",
    "ServiceKeyRecord",
    "ServiceKeyRejected",
    "ServiceKeyStore",
    "ServiceKeyStoreError",
    "ServiceNotAvailable",
    "StoreLook",
    "UpstreamError",
    "api_key_context",
    "auth_header",
    "auth_headers",
    "bearer_authorization",
    "bind_context",
    "current_launch",
    "launch_context",
    "ltik_authorization",
    "parse_ltik",
    "redact_url",
    "service_authorization",
    "service_context",
    "stored_service_context",
    "submit_in_context",
]
