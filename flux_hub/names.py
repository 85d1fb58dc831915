"""The name rules flux-hub checks names against, and the one way it makes a name from any text.

- An *account name* (a flux-restful account and the Unix account of the same name): POSIX-style,
  lower case, a letter first, then letters, digits, ``_`` or ``-``, at most 32 characters; what
  ``useradd`` takes without ``--badname``, for the hub's accounts and the pods' alike.
- Kubernetes object names: a *DNS label* (RFC 1123: at most 63 lower case letters, digits and
  ``-``, a letter or digit at both ends: namespaces, containers, a person's MiniCluster) and a
  *DNS subdomain* (labels joined by dots, at most 253 characters: the other objects), and a
  *label value* (at most 63 letters, digits, ``-``, ``_`` or ``.``, alphanumeric at both ends,
  or empty).
- ``hashed_name``: a readable stem of any text plus ``--`` plus 50 bits of a hash of the exact
  text. The result is both an account name and a DNS label, and differs from every name kept as
  it is, since those never contain ``--``.
"""

import base64
import hashlib
import re
import unicodedata

ACCOUNT_NAME_LENGTH = 32
_ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
ACCOUNT_NAME_RULE = (
    "an account name must be lower case, start with a letter, use only a-z, 0-9, '_' or '-' "
    f"and be at most {ACCOUNT_NAME_LENGTH} characters"
)

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")

HASH_MARK = "--"
_HASH_CHARS = 10  # base32 characters: 50 bits


def _text(value):
    return value if isinstance(value, str) else None


def is_account_name(name):
    """Whether ``name`` is a valid account name (see the module)."""
    return _text(name) is not None and _ACCOUNT_NAME.fullmatch(name) is not None


def account_name_error(name):
    """None for a valid account name, else the sentence saying why not."""
    return (
        None
        if is_account_name(name)
        else f"{name!r} is not a valid account name: {ACCOUNT_NAME_RULE}"
    )


def is_dns_label(text):
    return _text(text) is not None and _DNS_LABEL.fullmatch(text) is not None


def is_dns_subdomain(text):
    return _text(text) is not None and _DNS_SUBDOMAIN.fullmatch(text) is not None


def is_label_value(text):
    return _text(text) is not None and _LABEL_VALUE.fullmatch(text) is not None


def hashed_name(text, salt=b""):
    """``stem--hash`` for any ``text``: the stem its letters and digits (a letter first, ``-``
    between runs, at most 20 characters, "u" when nothing is left), the hash 10 base32
    characters of SHA-256 of ``salt`` and the exact text. ``salt`` keeps names made for
    different things apart (and each thing's names as they always were)."""
    digest = hashlib.sha256(salt + text.encode("utf-8")).digest()
    suffix = base64.b32encode(digest).decode("ascii").lower()[:_HASH_CHARS]
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower())
    stem = re.sub(r"^[^a-z]+", "", stem)
    stem = stem[: ACCOUNT_NAME_LENGTH - len(HASH_MARK) - _HASH_CHARS].rstrip("-") or "u"
    return f"{stem}{HASH_MARK}{suffix}"
