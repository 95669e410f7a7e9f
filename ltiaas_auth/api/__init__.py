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
from . import models
from ._async import AsyncLtiaasClient
from ._sync import LtiaasClient
from .models import *  # noqa: F403 - every model, as models.__all__ names them

__all__ = ["AsyncLtiaasClient", "LtiaasClient", "Role", "Roles"]
__all__ += models.__all__
