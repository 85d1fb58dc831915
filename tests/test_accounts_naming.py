"""Hub user name -> account name: valid POSIX names, distinct, never a privileged account."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flux_hub.accounts import AccountNamer, default_account_name, is_account_name
from flux_hub.accounts.naming import SYSTEM_NAMES, hashed_account_name


def valid(name):
    return (
        isinstance(name, str)
        and 1 <= len(name) <= 32
        and name[0].isascii()
        and name[0].isalpha()
        and name == name.lower()
        and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in name)
    )


@pytest.mark.parametrize("name", ["alice", "bob_2", "mary-jane", "x" * 32, "u1"])
def test_valid_names_are_kept(name):
    assert default_account_name(name) == name


@pytest.mark.parametrize(
    "hub_name",
    [
        "Alice.Smith@example.org",
        "alice.smith@example.org",
        "ünïcode",
        "unicode",
        "root",
        "daemon",
        "a" * 60,
        "a" * 61,
        "1abc",
        "_x",
        "Alice",
        "a--b",
        "名前",
        "user name",
        "x" * 33,
    ],
)
def test_awkward_names_map_to_valid_accounts(hub_name):
    account = AccountNamer()(hub_name)
    assert valid(account), account
    assert is_account_name(account)
    assert account not in SYSTEM_NAMES


def test_the_issue_examples_are_distinct_and_readable():
    namer = AccountNamer()
    names = ["Alice.Smith@example.org", "ünïcode", "unicode", "root", "a" * 60, "a" * 59]
    accounts = [namer(n) for n in names]
    assert len(set(accounts)) == len(accounts)
    assert accounts[2] == "unicode"
    assert accounts[1].startswith("unicode--")
    assert accounts[0].startswith("alice-smith-example")
    assert accounts[3].startswith("root--") and accounts[3] != "root"
    assert len(accounts[4]) <= 32


def test_a_hub_name_equal_to_a_hashed_account_is_hashed_again():
    # Someone registering the hub name "root--<hash>" must not get the account that "root"
    # was mapped to.
    taken = default_account_name("root")
    assert default_account_name(taken) != taken


def test_cluster_superusers_are_reserved():
    namer = AccountNamer(reserved={"fluxadmin"})
    assert namer("fluxadmin") != "fluxadmin"
    assert namer("fluxadmin").startswith("fluxadmin--")


def test_custom_mapping_is_used_and_checked():
    namer = AccountNamer(custom=lambda name: "u" + name.split("@")[0].replace(".", "_"))
    assert namer("jane.doe@example.org") == "ujane_doe"
    with pytest.raises(ValueError, match="'Not Valid'.*lower case"):
        AccountNamer(custom=lambda name: "Not Valid")("someone")
    with pytest.raises(ValueError, match="reserved"):
        AccountNamer(custom=lambda name: "root")("someone")
    with pytest.raises(ValueError, match="reserved"):
        AccountNamer(custom=lambda name: "fluxadmin", reserved={"fluxadmin"})("x")


def test_empty_name_is_refused():
    with pytest.raises(ValueError, match="hub user name is required"):
        AccountNamer()("")


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_text_maps_to_a_valid_unreserved_account(hub_name):
    account = AccountNamer()(hub_name)
    assert valid(account)
    assert account not in SYSTEM_NAMES


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=30, unique=True))
def test_distinct_hub_names_get_distinct_accounts(hub_names):
    namer = AccountNamer()
    accounts = [namer(n) for n in hub_names]
    assert len(set(accounts)) == len(accounts)


def test_hash_suffix_depends_on_the_exact_name():
    assert hashed_account_name("Alice") != hashed_account_name("alice")
    assert hashed_account_name("x" * 60) != hashed_account_name("x" * 61)
