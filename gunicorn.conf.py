"""Read by ``gunicorn wsgi:app`` run from this folder (gunicorn's default config file): the
error and access logs in the hub's one format, each request's path redacted (tracking page
tokens). ``hub serve`` and ``hub web`` set the same themselves."""

logger_class = "hub.web.access_log.GunicornLogger"
accesslog = "-"
