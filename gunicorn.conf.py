"""Read by ``gunicorn wsgi:app`` run from this folder (gunicorn's default config file): the
error and access logs in the hub's one format, each request's path redacted (tracking page
tokens), and a worker that exits marked dead in the metrics directory when
``PROMETHEUS_MULTIPROC_DIR`` is set. ``hub serve`` and ``hub web`` set the same themselves."""

logger_class = "hub.web.access_log.GunicornLogger"
accesslog = "-"


def child_exit(_server, worker):
    from hub import observe

    observe.mark_process_dead(worker.pid)
