"""A minimal Django project behind the ltiaas_auth middleware: ``wsgi.py`` for WSGI, ``asgi.py`` for ASGI."""
