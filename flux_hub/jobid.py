"""Flux job ids (RFC 19 FLUIDs) as people write them: decimal, hex, dothex, kvs and F58.

A FLUID is 64 bits: milliseconds since the instance started (40 bits), generator id (14) and a
sequence number (10). ``flux jobs`` shows them in F58 (``ƒ`` + base58, Bitcoin's alphabet);
flux-restful answers with the decimal number and accepts every form.
"""

import re

B58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
F58_PREFIX = "\u0192"  # ƒ
F58_ASCII_PREFIX = "f"
MAX_ID = (1 << 64) - 1
_B58_VALUES = {digit: value for value, digit in enumerate(B58_DIGITS)}
_DOTHEX = re.compile(r"[0-9a-fA-F]{1,4}(\.[0-9a-fA-F]{1,4}){3}")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_DECIMAL = re.compile(r"[0-9]+")


def b58encode(value):
    digits = ""
    while True:
        value, remainder = divmod(value, 58)
        digits = B58_DIGITS[remainder] + digits
        if value == 0:
            return digits


def f58(job_id, prefix=F58_PREFIX):
    """The id as ``flux jobs`` shows it, e.g. ``ƒ2Vj1dB9``."""
    return prefix + b58encode(int(job_id))


def parse(text):
    """The integer id of a job id in any of Flux's encodings, or ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str):
        value = _parse(text.strip())
    else:
        raise ValueError(f"{text!r} is not a Flux job id")
    if not 0 <= value <= MAX_ID:
        raise ValueError(f"{text!r} is not a Flux job id")
    return value


def _parse(s):
    words = s[4:] if s.startswith("job.") else s
    if _DOTHEX.fullmatch(words):
        value = 0
        for part in words.split("."):
            value = (value << 16) | int(part, 16)
        return value
    if s.startswith((F58_PREFIX, F58_ASCII_PREFIX)) and 0 < len(s) - 1 <= 12:
        value = 0
        for char in s[1:]:
            if char not in _B58_VALUES:
                break
            value = value * 58 + _B58_VALUES[char]
        else:
            return value
    if _HEX.fullmatch(s):
        return int(s[2:], 16)
    if _DECIMAL.fullmatch(s):
        return int(s)
    raise ValueError(f"{s!r} is not a Flux job id")
