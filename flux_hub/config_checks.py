"""Checks for flux-hub's settings, called from the config classes' ``@validate`` methods.

Each takes the object and the traitlets ``proposal`` and returns the value to keep, or raises a
TraitError whose message starts with the setting's name (``LocalProvisioner.timeout``): a bad
``c.<Class>.<setting>`` then stops the hub, the accounts service or the server extension at
start, saying which setting and why, instead of failing at the first request.
"""

import math

from traitlets import TraitError

from flux_hub.names import is_dns_label, is_dns_subdomain
from flux_hub.restful.protocol import normalize_host


def setting(obj, proposal):
    """``Class.trait`` as it is configured: the object's own class, e.g. LocalProvisioner."""
    return f"{type(obj).__name__}.{proposal.trait.name}"


def refuse(obj, proposal, must):
    """TraitError: '<setting> must <must>, not <value>'."""
    return TraitError(f"{setting(obj, proposal)} must {must}, not {proposal.value!r}")


def flux_restful_url(value, name):
    """``value`` as a flux-restful URL (flux_hub.restful.protocol.normalize_host: no trailing
    slash, http:// when no scheme is given), or TraitError naming ``name``."""
    try:
        return normalize_host(value, name)
    except ValueError as error:
        raise TraitError(str(error)) from None


def url_or_empty(obj, proposal):
    """A flux-restful URL, or empty (not set: the default applies where there is one)."""
    if not proposal.value:
        return proposal.value
    return flux_restful_url(proposal.value, setting(obj, proposal))


def positive_seconds(obj, proposal):
    """A finite number of seconds above 0."""
    if not (math.isfinite(proposal.value) and proposal.value > 0):
        raise refuse(obj, proposal, "be a number of seconds above 0")
    return proposal.value


def seconds_or_zero(obj, proposal):
    """A finite number of seconds, 0 or more (0 usually turns the thing off)."""
    if not (math.isfinite(proposal.value) and proposal.value >= 0):
        raise refuse(obj, proposal, "be a number of seconds, 0 or more")
    return proposal.value


def not_empty(obj, proposal):
    """Any text but the empty one."""
    if not proposal.value.strip():
        raise refuse(obj, proposal, "not be empty")
    return proposal.value


def absolute_path(obj, proposal):
    """An absolute path (None passes: it means 'not set')."""
    if proposal.value is not None and not proposal.value.startswith("/"):
        raise refuse(obj, proposal, "be an absolute path")
    return proposal.value


def user_names(obj, proposal):
    """flux-restful user names (the DB script's rule), one or a list; empty text passes."""
    from flux_hub.provision.dbscript import check_name

    values = [proposal.value] if isinstance(proposal.value, str) else proposal.value
    for value in values:
        if isinstance(proposal.value, str) and not value:
            continue
        try:
            check_name(value)
        except ValueError as error:
            raise TraitError(f"{setting(obj, proposal)}: {error}") from None
    return proposal.value


def kubernetes_names(obj, proposal, kind="subdomain"):
    """Kubernetes object names, one or a list (``kind``: "label" for namespaces and
    containers, "subdomain" for the rest); empty text passes (not set)."""
    valid = is_dns_label if kind == "label" else is_dns_subdomain
    values = [proposal.value] if isinstance(proposal.value, str) else proposal.value
    for value in values:
        if value == "" and isinstance(proposal.value, str):
            continue
        if not valid(value):
            raise TraitError(
                f"{setting(obj, proposal)} must hold Kubernetes names (lower case letters, "
                f"digits and '-'{', dots' if kind == 'subdomain' else ''}), not {value!r}"
            )
    return proposal.value
