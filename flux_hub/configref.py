"""The configuration reference (docs/config-reference.md), generated from the traits themselves.

Every setting flux-hub reads is a traitlets trait with ``config=True`` and a help text; this module
writes them all, class by class, with their type, default and help, so the reference cannot say
something the code does not. Settings inherited from JupyterHub's or traitlets' own classes are
left to their documentation (a line says so); only flux-hub's are listed.

Regenerate after changing a setting::

    python -m flux_hub.configref --write

``tests/test_configref.py`` fails while the file in docs/ differs from what this writes.
"""

import argparse
import inspect
import pathlib
import sys
import textwrap

# (import path, what the class is) in the order a reader meets them
CLASSES = (
    ("flux_hub.hub.authenticator.FluxAuthenticator", "The hub's authenticator (`flux`)"),
    ("flux_hub.accounts.core.FluxAccounts", "Account naming and the accounts store"),
    ("flux_hub.accounts.provisioner.LocalProvisioner", "The one-machine MiniCluster"),
    ("flux_hub.kubernetes.provisioner.KubernetesProvisioner", "A shared MiniCluster on Kubernetes"),
    (
        "flux_hub.kubernetes.percluster.provisioner.MiniClusterPerUserProvisioner",
        "A MiniCluster of each person's own on Kubernetes",
    ),
    ("flux_hub.service.app.FluxAccountsService", "The hub-managed flux-accounts service"),
    ("flux_hub.serverextension.config.FluxHub", "The JupyterLab server extension (`c.FluxHub`)"),
)
HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_PATH = HERE.parent / "docs" / "config-reference.md"


def _import(path):
    module, _, name = path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def _ours(cls):
    return cls.__module__.startswith("flux_hub.")


def _default(cls, name, trait):
    """The default as a reader can use it: the static value, or "computed" with the first line
    of the method that computes it (never called here: some defaults look at the machine)."""
    generator = cls._all_trait_default_generators.get(name)
    method = getattr(cls, f"_{name}_default", None)
    dynamic = method is not None or (
        generator is not None and getattr(generator, "__name__", "") != "default"
    )
    if dynamic:
        doc = inspect.getdoc(method) if method is not None else None
        first = doc.splitlines()[0] if doc else ""
        return "computed" + (f": {first}" if first else "")
    if trait.default_value == sys.executable:
        # Taken where the class is defined: the machine's, not the reference's
        return "the Python running flux-hub (`sys.executable`)"
    return f"`{trait.default_value_repr()}`"


def _type(trait):
    info = trait.info_text if isinstance(trait.info_text, str) else ""
    name = type(trait).__name__
    return f"{name} ({info})" if info and name in ("Enum", "CaselessStrEnum", "UseEnum") else name


def section(path, what):
    """The markdown of one class: its settings, flux-hub's own, sorted by name."""
    cls = _import(path)
    name = cls.__name__
    lines = [f"## {name}", "", f"{what}. `{path}`", ""]
    traits = cls.class_traits(config=True)
    ours = {n: t for n, t in traits.items() if _ours(t.this_class)}
    inherited = sorted({t.this_class.__name__ for t in traits.values() if not _ours(t.this_class)})
    for trait_name in sorted(ours):
        trait = ours[trait_name]
        help_text = " ".join((trait.help or "(no help)").split())
        lines += [
            f"### `c.{name}.{trait_name}`",
            "",
            f"- type: {_type(trait)}",
            f"- default: {_default(cls, trait_name, trait)}",
            "",
            *textwrap.wrap(help_text, 100, break_long_words=False, break_on_hyphens=False),
            "",
        ]
    if inherited:
        lines += [
            f"Also every setting of {', '.join(inherited)} (their own documentation).",
            "",
        ]
    return lines


def generate():
    """The whole reference as markdown text."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the traits by `python -m flux_hub.configref --write`; do not edit by",
        "hand (tests/test_configref.py fails when it is stale). Each setting goes in",
        "`jupyterhub_config.py` (hub side) or the Jupyter server's config (`c.FluxHub`).",
        "",
    ]
    for path, what in CLASSES:
        lines += section(path, what)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flux_hub.configref", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_PATH.name}")
    args = parser.parse_args(argv)
    text = generate()
    if args.write:
        DEFAULT_PATH.write_text(text)
        print(f"wrote {DEFAULT_PATH}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
