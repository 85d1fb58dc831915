"""The flux-hub Jupyter server extension: the user's Flux jobs as an authenticated JSON API.

Enabled on install by jupyter-config/server-config/flux_hub.json (``jpserver_extensions``
``flux_hub``); ``flux_hub/__init__.py`` hands the server on to ``_load_jupyter_server_extension``
here. The routes are listed in handlers.handlers(); settings are ``c.FluxHub.*`` (config.FluxHub).
"""

from traitlets import TraitError

from flux_hub.serverextension.config import FluxHub
from flux_hub.serverextension.handlers import handlers
from flux_hub.serverextension.history import PUBLISHED, published_templates
from flux_hub.serverextension.history import handlers as history_handlers
from flux_hub.serverextension.jobs import JobsService


def _load_jupyter_server_extension(serverapp):
    try:
        settings = FluxHub(parent=serverapp)
        service = JobsService(settings, serverapp.log, serverapp.root_dir)  # reads the settings
    except TraitError as error:
        # Refused at start, in one line that names the setting (the panel then has no API)
        serverapp.log.error("flux-hub: not started, its configuration is wrong: %s", error)
        raise
    web_app = serverapp.web_app
    web_app.settings["flux_hub"] = service
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    # The person's job history and templates (issue 26), read from their own data folder; the
    # hub's published templates checked once, here (one that is not valid: a warning)
    web_app.settings[PUBLISHED] = published_templates(settings.templates, serverapp.log)
    web_app.add_handlers(".*$", history_handlers(web_app.settings["base_url"]))
    # Sweeps (issue 28): submitted here in the background; one cut short by a stop goes on
    from flux_hub.serverextension import sweeps

    web_app.add_handlers(".*$", sweeps.handlers(web_app.settings["base_url"]))
    sweeps.resume(web_app.settings)  # once the server's loop runs
    # Held jobs (issue 28): those the hub submitted while this server was stopped taken up
    from flux_hub.serverextension import holds

    holds.resume(web_app.settings)
    serverapp.log.info(
        "flux-hub: jobs of %s on %s", settings.user or "(no account configured)", settings.host
    )
