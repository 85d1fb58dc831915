"""RPCs to the simulated broker's services.

The broker lives in this process, so a request is answered while the RPC object is made;
``get()`` then returns the payload or raises the service's OSError, as a Flux RPC does.
"""


class RPC:
    def __init__(self, flux_handle, topic, payload=None, nodeid=0, flags=0):
        self.handle = flux_handle
        self.topic = topic
        self._error = None
        self._payload = None
        try:
            self._payload = flux_handle.broker.call(topic, payload or {})
        except OSError as error:
            self._error = error

    def get(self):
        if self._error is not None:
            raise self._error
        return self._payload
