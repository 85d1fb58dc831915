"""Jobs held by the hub until other jobs end: ``flux submit --dependency`` for flux-hub.

flux-restful takes no dependency, and a person's server may be stopped while a chain runs, so
the hub holds the job (issue 28): the accounts service keeps each held request in a store of its
own (``store``), watches the jobs it waits for and submits it as its owner when the condition
holds (``holder``); people ask for holds with their hub token (``api/holds``, handlers in
flux_hub/service/handlers.py). ``client`` is the terminal's and the notebook's side.
"""

# The file of the holds, in the folder of the accounts store
STORE_NAME = "flux-hub-holds.sqlite"
# The environment variable that may name the hub's holds API for a person's server and terminal
HOLDS_ENV = "FLUX_HUB_HOLDS_URL"
