"""The web tier for any WSGI server: ``gunicorn -w 4 wsgi:app``. Settings come from the
environment (``HUB_DATABASE_URL``, ``HUB_CONFIG``, ...)."""

from hub.web.app import create_app

app = create_app()
