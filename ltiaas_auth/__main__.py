"""``python -m ltiaas_auth``: the ``ltiaas-auth`` command."""

from ltiaas_auth.cli import main

raise SystemExit(main())
