"""The configuration reference in docs/ is what the traits say (issue 29.1)."""

from flux_hub import configref


def test_the_reference_in_docs_is_not_stale():
    written = configref.DEFAULT_PATH.read_text()
    assert written == configref.generate(), (
        "docs/config-reference.md is stale: run `python -m flux_hub.configref --write`"
    )


def test_every_setting_has_its_help_and_is_in_the_reference():
    text = configref.generate()
    for path, _what in configref.CLASSES:
        cls = configref._import(path)
        for name, trait in cls.class_traits(config=True).items():
            if not configref._ours(trait.this_class):
                continue
            assert (trait.help or "").strip(), f"{cls.__name__}.{name} has no help"
            assert f"### `c.{cls.__name__}.{name}`" in text


def test_a_changed_help_makes_the_reference_stale(monkeypatch):
    from flux_hub.hub.authenticator import FluxAuthenticator

    trait = FluxAuthenticator.class_traits()["job_templates"]
    monkeypatch.setattr(trait, "help", "Something else.")
    assert configref.generate() != configref.DEFAULT_PATH.read_text()
