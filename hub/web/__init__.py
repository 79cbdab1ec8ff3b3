"""Web: the Flask application (``app``) and everything it serves. Webhook intake views
(``webhooks``), the JSON API blueprints (``api``, ``api_jobs``, ``api_mappings``, ``api_stock``),
the public tracking page (``track_page``), Prometheus metrics (``metrics``), request limits
(``limits``), JSON error handlers (``errors``) and API tokens (``tokens``).

It sits on top: it may import every package below it, and only ``hub.cli`` imports it.
"""
