"""Flux job ids (RFC 19 FLUIDs) and their text encodings: decimal, hex, dothex, kvs and F58.

A FLUID is 64 bits: 40 bits of milliseconds since the instance started, 14 bits of generator
id (the rank) and a 10-bit sequence number. The mnemonic ("words") and emoji encodings of
flux-core are not simulated.
"""

import locale
import os

from flux_hub.jobid import F58_ASCII_PREFIX, F58_PREFIX, b58encode, parse


def id_parse(text):
    """The integer id of any supported encoding; ValueError if it is none of them."""
    try:
        return parse(str(text))
    except ValueError:
        raise ValueError(f"{text} is not a valid Flux jobid") from None


def _f58_prefix():
    # Like flux-core: the non-ASCII prefix only where the locale can show it
    utf8 = locale.getpreferredencoding(False).lower().replace("-", "") == "utf8"
    if utf8 and not os.environ.get("FLUX_F58_FORCE_ASCII"):
        return F58_PREFIX
    return F58_ASCII_PREFIX


def id_encode(jobid, encoding="f58"):
    """Encode an integer id as "dec", "hex", "dothex", "kvs", "f58" or "f58plain"."""
    jobid = int(jobid)
    if encoding == "dec":
        return str(jobid)
    if encoding == "hex":
        return f"{jobid:#x}"
    if encoding in ("dothex", "kvs"):
        words = [(jobid >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]
        dothex = ".".join(f"{word:04x}" for word in words)
        return dothex if encoding == "dothex" else f"job.{dothex}"
    if encoding == "f58":
        return _f58_prefix() + b58encode(jobid)
    if encoding == "f58plain":
        return F58_ASCII_PREFIX + b58encode(jobid)
    raise ValueError(f"unsupported job id encoding {encoding!r}")


class JobID(int):
    """A job id: an int made from an int or from any supported text encoding."""

    def __new__(cls, value):
        if isinstance(value, JobID):
            return cls(value.orig_str)
        jobid = value if isinstance(value, int) else id_parse(value)
        self = super().__new__(cls, jobid)
        self.orig_str = str(value)
        return self

    def encode(self, encoding="dec"):
        return id_encode(self, encoding)

    @property
    def dec(self):
        return self.encode("dec")

    @property
    def f58(self):
        return self.encode("f58")

    @property
    def f58plain(self):
        return self.encode("f58plain")

    @property
    def hex(self):
        return self.encode("hex")

    @property
    def dothex(self):
        return self.encode("dothex")

    @property
    def kvs(self):
        return self.encode("kvs")

    @property
    def orig(self):
        return self.orig_str

    def __str__(self):
        return self.encode("f58")

    def __repr__(self):
        return f"JobID({self.dec})"
