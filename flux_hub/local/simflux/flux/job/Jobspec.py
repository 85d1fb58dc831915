"""Version 1 jobspecs (RFC 14/25): the part of flux-core's Jobspec API that flux-restful uses.

``JobspecV1.from_command`` builds the same resource shapes as flux-core (a slot of cores, or
nodes holding slots) and raises the same errors for bad counts. The file and I/O options of
the real factory (input/output paths, rlimits, env-expand, unbuffered) are not simulated.
"""

import json
import math
import numbers
import os
from collections import abc


def _attr_path(key):
    """Expand a short attribute key: "cwd" -> "attributes.system.cwd"."""
    if not key.startswith("attributes."):
        if not key.startswith(("user.", "system.")):
            key = "system." + key
        key = "attributes." + key
    return key


def _validate_resource(resource):
    if not isinstance(resource, abc.Mapping):
        raise TypeError("resource must be a mapping")
    if not isinstance(resource.get("type"), str):
        raise ValueError("type is a required key for resources")
    count = resource.get("count")
    if not isinstance(count, int) or isinstance(count, bool):
        raise ValueError(f"resource count must be an integer for type '{resource['type']}'")
    if resource["type"] in ("node", "slot", "core") and count < 1:
        raise ValueError("node, slot, or core count must be > 0")
    if count < 0:
        raise ValueError("count must be >= 0")
    if resource["type"] == "slot" and "label" not in resource:
        raise ValueError("slots must have labels")
    if resource.get("exclusive", False) not in (True, False):
        raise TypeError("exclusive must be a boolean")
    for child in resource.get("with", []):
        _validate_resource(child)


def _validate_task(task):
    if not isinstance(task, abc.Mapping):
        raise TypeError("task must be a mapping")
    for key in ("command", "slot", "count"):
        if key not in task:
            raise ValueError(f"Missing key ({key})")
    command = task["command"]
    if isinstance(command, str) or not isinstance(command, abc.Sequence):
        raise TypeError("command must be a list of strings")
    if len(command) == 0:
        raise TypeError("command array cannot have length of zero")
    if not all(isinstance(arg, str) for arg in command):
        raise TypeError("command must be a list of strings")
    count = task["count"]
    if not isinstance(count, abc.Mapping) or len(count) != 1:
        raise ValueError("count must have exactly one key set")
    ((kind, value),) = count.items()
    if kind not in ("per_slot", "total"):
        raise ValueError("count per_slot or total must be set")
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"count {kind} must be > 0")


class Jobspec:
    """A canonical jobspec: resources, tasks, attributes and version."""

    def __init__(self, resources, tasks, attributes, version):
        if not isinstance(resources, abc.Sequence):
            raise TypeError("resources must be a sequence")
        if not isinstance(tasks, abc.Sequence):
            raise TypeError("tasks must be a sequence")
        if not isinstance(attributes, abc.Mapping):
            raise TypeError("attributes must be a mapping")
        if not isinstance(version, int) or version < 1:
            raise ValueError("version must be >= 1")
        for resource in resources:
            _validate_resource(resource)
        for task in tasks:
            _validate_task(task)
        extra = set(attributes) - {"system", "user"}
        if extra:
            raise ValueError(f"Extraneous key ({extra.pop()})")
        self.jobspec = {
            "resources": resources,
            "tasks": tasks,
            "attributes": attributes,
            "version": version,
        }

    @property
    def resources(self):
        return self.jobspec["resources"]

    @property
    def tasks(self):
        return self.jobspec["tasks"]

    @property
    def attributes(self):
        return self.jobspec["attributes"]

    @property
    def version(self):
        return self.jobspec["version"]

    def setattr(self, key, value):
        """Set an attribute by dotted key, creating the dictionaries on the way."""
        parts = _attr_path(key).split(".")
        target = self.jobspec
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, abc.MutableMapping):
                raise TypeError(f"failed to set {key} to {value}: {part} is not a dict")
        target[parts[-1]] = value

    def setattr_shell_option(self, key, value):
        self.setattr("system.shell.options." + key, value)

    @property
    def duration(self):
        return self.attributes.get("system", {}).get("duration")

    @duration.setter
    def duration(self, duration):
        if isinstance(duration, bool) or not isinstance(duration, (int, float)):
            raise TypeError("duration must be an int, float, string, or timedelta")
        seconds = float(duration)
        if seconds < 0:
            raise ValueError("duration must not be negative")
        if math.isnan(seconds) or math.isinf(seconds):
            raise ValueError("duration must be a normal, finite value")
        self.setattr("system.duration", seconds)

    @property
    def cwd(self):
        return self.attributes.get("system", {}).get("cwd")

    @cwd.setter
    def cwd(self, cwd):
        if isinstance(cwd, os.PathLike):
            cwd = os.fspath(cwd)
        if not isinstance(cwd, str):
            raise ValueError("cwd must be a string")
        self.setattr("system.cwd", cwd)

    @property
    def environment(self):
        return self.attributes.get("system", {}).get("environment")

    @environment.setter
    def environment(self, environ):
        if not isinstance(environ, abc.Mapping):
            raise ValueError("environment must be a mapping")
        self.setattr("system.environment", environ)

    def dumps(self, **kwargs):
        return json.dumps(self.jobspec, ensure_ascii=False, **kwargs)

    def __repr__(self):
        return (
            f"{type(self).__name__}({self.resources}, {self.tasks}, "
            f"attributes={self.attributes}, version={self.version})"
        )


class JobspecV1(Jobspec):
    """Version 1 of the jobspec: needs attributes.system.duration."""

    def __init__(self, resources, tasks, attributes, version=1):
        if version != 1:
            raise ValueError("version must be 1")
        super().__init__(resources, tasks, attributes, version)
        system = attributes.get("system")
        if not isinstance(system, abc.Mapping):
            raise ValueError("attributes.system is a required key")
        if not isinstance(system.get("duration"), numbers.Number):
            raise ValueError("attributes.system.duration is a required key")

    @staticmethod
    def _resource(kind, count, children=None, exclusive=False):
        if not count > 0:
            raise ValueError("resource count must be > 0")
        resource = {"type": kind, "count": count}
        if exclusive:
            resource["exclusive"] = True
        if children:
            resource["with"] = children
        return resource

    @classmethod
    def from_command(
        cls,
        command,
        num_tasks=1,
        cores_per_task=1,
        gpus_per_task=None,
        num_nodes=None,
        exclusive=False,
        duration=None,
        environment=None,
        cwd=None,
        name=None,
    ):
        """The minimal jobspec running command as num_tasks tasks (flux-core's factory)."""
        if not isinstance(num_tasks, int) or num_tasks < 1:
            raise ValueError("task count must be a integer >= 1")
        if not isinstance(cores_per_task, int) or cores_per_task < 1:
            raise ValueError("cores per task must be an integer >= 1")
        if gpus_per_task is not None and (not isinstance(gpus_per_task, int) or gpus_per_task < 0):
            raise ValueError("gpus per task must be an integer >= 0")
        if num_nodes is not None:
            if not isinstance(num_nodes, int) or num_nodes < 1:
                raise ValueError("node count must be an integer >= 1 (if set)")
            if num_nodes > num_tasks:
                raise ValueError("node count must not be greater than task count")
        elif exclusive:
            raise ValueError("exclusive can only be set with a node count")

        children = [cls._resource("core", cores_per_task)]
        if gpus_per_task:
            children.append(cls._resource("gpu", gpus_per_task))
        if num_nodes is not None:
            slots = math.ceil(num_tasks / num_nodes)
            # An uneven spread wastes task slots, so the task count is given as a total
            count = {"total": num_tasks} if num_tasks % num_nodes else {"per_slot": 1}
            slot = dict(cls._resource("slot", slots, children), label="task")
            top = cls._resource("node", num_nodes, [slot], exclusive)
        else:
            count = {"per_slot": 1}
            top = dict(cls._resource("slot", num_tasks, children), label="task")

        tasks = [{"command": command, "slot": "task", "count": count}]
        jobspec = cls([top], tasks, attributes={"system": {"duration": 0}})
        if duration is not None:
            jobspec.duration = duration
        jobspec.environment = dict(os.environ) if environment is None else environment
        if cwd is not None:
            jobspec.cwd = cwd
        if name is not None:
            jobspec.setattr("job.name", name)
        return jobspec
