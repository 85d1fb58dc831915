"""``resource_list``: the up, down, allocated and free resources of the instance."""

from flux.rpc import RPC


class Hostlist(list):
    """Host names in rank order; ``str()`` joins them as Flux prints a hostlist."""

    def __str__(self):
        return ",".join(self)


class ResourceSet:
    """A set of ranks, each with a host name and some cores."""

    def __init__(self, entries):
        # entries: [{"rank": int, "host": str, "cores": [int, ...]}] in rank order
        self._entries = [entry for entry in entries if entry["cores"]]

    @property
    def nodelist(self):
        return Hostlist(entry["host"] for entry in self._entries)

    @property
    def ranks(self):
        return [entry["rank"] for entry in self._entries]

    @property
    def nnodes(self):
        return len(self._entries)

    @property
    def ncores(self):
        return sum(len(entry["cores"]) for entry in self._entries)

    @property
    def ngpus(self):
        return 0


class SchedResourceList:
    def __init__(self, payload):
        for name in ("all", "up", "down", "allocated", "free"):
            setattr(self, name, ResourceSet(payload[name]))


class ResourceListRPC(RPC):
    def get(self):
        return SchedResourceList(super().get())


def resource_list(flux_handle):
    return ResourceListRPC(flux_handle, "resource.sched-status")
