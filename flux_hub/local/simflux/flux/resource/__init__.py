"""flux.resource: the resources of the simulated instance."""

from flux.resource import list
from flux.resource.list import ResourceSet, SchedResourceList, resource_list

__all__ = ["ResourceSet", "SchedResourceList", "list", "resource_list"]
