"""The LTIAAS API, typed: ``LtiaasClient`` (blocking) and ``AsyncLtiaasClient`` (asyncio and trio).

::

    from ltiaas_auth.api import LtiaasClient

    client = LtiaasClient(config)            # one per process; close() at exit
    for member in client.memberships(role="Learner"):
        ...
    item = client.create_line_item(label="Quiz 1", score_maximum=10)
    client.submit_score(item.id, user_id="u1", score_given=0, score_maximum=10)

Needs the ``api`` extra (httpx). Every endpoint is described once in ``_endpoints``; both clients share
those descriptions, the request builder (``_request``) and the retry rules (``_exchange``), and differ only
in their I/O.
"""

from ..roles import Role, Roles
from ._async import AsyncLtiaasClient
from ._sync import LtiaasClient
from .models import (
    ActivityProgress,
    AuthConfig,
    ContentItem,
    DeepLinkingComponents,
    File,
    GradingProgress,
    Html,
    IdToken,
    Image,
    ImageRef,
    LaunchContext,
    LaunchInfo,
    LaunchPlatform,
    LineItem,
    Link,
    LtiResourceLink,
    Member,
    Platform,
    Registration,
    RegistrationCompletion,
    ResourceLink,
    Result,
    Score,
    Service,
    Services,
    SupportedMessage,
    User,
)

__all__ = [
    "ActivityProgress",
    "AsyncLtiaasClient",
    "AuthConfig",
    "ContentItem",
    "DeepLinkingComponents",
    "File",
    "GradingProgress",
    "Html",
    "IdToken",
    "Image",
    "ImageRef",
    "LaunchContext",
    "LaunchInfo",
    "LaunchPlatform",
    "LineItem",
    "Link",
    "LtiResourceLink",
    "LtiaasClient",
    "Member",
    "Platform",
    "Registration",
    "RegistrationCompletion",
    "ResourceLink",
    "Result",
    "Role",
    "Roles",
    "Score",
    "Service",
    "Services",
    "SupportedMessage",
    "User",
]
