"""Eventlog entries (RFC 18): one JSON object per line with timestamp, name and context."""

import json


class EventLogEvent(dict):
    """One eventlog entry, made from its JSON line or a dict."""

    def __init__(self, event):
        if isinstance(event, str):
            event = json.loads(event)
        super().__init__(event)
        self.setdefault("context", {})

    @property
    def name(self):
        return self["name"]

    @property
    def timestamp(self):
        return self["timestamp"]

    @property
    def context(self):
        return self["context"]

    def __str__(self):
        return f"{self.timestamp:<0.5f}: {self.name} {self.context}"


def entry(timestamp, name, context=None):
    """Encode one eventlog line (with its newline), as Flux stores it."""
    event = {"timestamp": timestamp, "name": name}
    if context is not None:
        event["context"] = context
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
