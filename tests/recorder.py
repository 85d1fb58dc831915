"""A flux-restful client for tests of what the front-ends would send: it keeps each submit
request as restful.protocol builds it (the query parameters and environment, i.e. the request
as sent) instead of sending it, and answers with made-up ids."""

from flux_hub.restful import protocol

HOST = "http://cluster.example"
# Ids above 2**53, as on an instance up for weeks: they must be carried exactly
BIG_IDS = 7_000_000_000_000_000


class Recorder:
    """Keeps what each submit would send in ``sent``; the n-th submit's id is ``first_id + n``."""

    user, host = "alice", HOST

    def __init__(self, first_id=BIG_IDS):
        self.sent = []
        self.first_id = first_id

    def submit(self, command, envars=None, **fields):
        self.sent.append(protocol.check_submission(command, {**fields, "envars": envars}))
        return self.first_id + len(self.sent)

    def close(self):
        pass
