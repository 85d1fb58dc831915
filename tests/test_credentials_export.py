"""The credentials page's lines, pasted into a shell, give back each value whole (issue 29.5:
`export KEY=value` was printed unquoted, so a password with a space or a `$` broke)."""

import subprocess

import pytest

from flux_hub.service.handlers import export_lines


@pytest.mark.parametrize(
    "password",
    ["plainTOKEN-_0123", "with space", "dollar$HOME and `date`", 'quote\'s "both"', "new\nline"],
)
def test_pasted_credentials_give_back_each_value_whole(password):
    env = {"FLUX_USER": "alice", "FLUX_TOKEN": password, "FLUX_RESTFUL_HOST": "http://h:5000"}
    script = "\n".join(export_lines(env)) + '\nprintf "%s|" "$FLUX_USER" "$FLUX_TOKEN"'
    shown = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert shown.stdout == f"alice|{password}|"


def test_a_token_flux_hub_makes_is_shown_as_it_is():
    """The passwords flux-hub makes need no quotes: the line reads as before."""
    assert export_lines({"FLUX_TOKEN": "Ab-_9"}) == ["export FLUX_TOKEN=Ab-_9"]
