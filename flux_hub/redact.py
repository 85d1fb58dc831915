"""Secrets out of text that people or logs will read."""


def redact(text, secrets, mask="********"):
    """``text`` with every non-empty secret in ``secrets`` replaced by ``mask``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask)
    return text
