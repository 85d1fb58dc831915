"""flux-hub's guard in front of flux-restful: no launchers, per-person limits, token rotation.

``python -m flux_hub.guard --host 127.0.0.1 --port 5000`` serves flux-restful's own app
(``flux_restful.main:app``) inside flux-hub's middleware (middleware.Guard), with uvicorn and
one worker; the limits come from ``FLUX_HUB_LIMIT_*`` (limits.Limits). A job submitted without a
working directory starts in the person's own folder (``FLUX_HUB_HOME_TEMPLATE``, else the
account's home on a multi-user server: workdir.Homes).
"""
