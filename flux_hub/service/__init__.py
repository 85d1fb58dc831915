"""The flux-hub accounts service (hub-managed): ``python -m flux_hub.service --config FILE``."""
