"""An LTI tool as a Django project: ltiaas_auth installed as an app and a ``MIDDLEWARE`` entry.

``python manage.py runserver`` (with ``LTIAAS_API_KEY`` and ``LTIAAS_URL`` set), ``python manage.py test``
or ``python -m pytest`` (pytest-django) in this directory; ``gunicorn examples.django_app.wsgi`` and
``uvicorn examples.django_app.asgi:application`` from the repository root.
"""
