"""The %%flux cell magic: run the cell as a batch script on the Flux cluster.

    %load_ext flux_hub
    %%flux --nodes 2 --tasks 2 --time 5m --name hello --wait
    echo "hello from $(hostname)"

The job may run on another machine than the kernel, so the script travels inside the command
(``bash -c SCRIPT``), not as a file. Without --wait the cell shows the job at once and the kernel is
free; ``_`` (or ``job = _``) is the Job for waiting, output and cancelling later.

The job starts in the kernel's current directory as the cluster sees it (flux_hub/paths.py), or
in ``--cwd DIR`` (a path as the notebook sees it, relative to the current directory). With no
shared storage the job starts in the person's own folder on the cluster.
"""

import sys

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from flux_hub.notebook import api
from flux_hub.restful import FluxRestfulError


class FluxCellError(Exception):
    """A failed %%flux cell: IPython shows the message alone, without a traceback."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


@magics_class
class FluxMagics(Magics):
    @magic_arguments()
    @argument("-N", "--nodes", type=int, help="number of nodes")
    @argument("-n", "--tasks", type=int, help="number of tasks")
    @argument("-c", "--cores-per-task", type=int, help="cores for each task")
    @argument("-t", "--time", help="time limit, e.g. 30s, 5m, 1h (default: none)")
    @argument("--name", help="a name for the job, shown here and in the Flux panel")
    @argument(
        "--cwd",
        help="working directory of the job, as the notebook sees it (default: the current one)",
    )
    @argument("--wait", action="store_true", help="follow the output until the job ends")
    @cell_magic
    def flux(self, line, cell):
        """Submit the cell as a bash batch script to the Flux cluster."""
        args = parse_argstring(self.flux, line)
        if not cell.strip():
            raise FluxCellError("The cell is empty: write the commands to run below %%flux.")
        fields = {
            "num_nodes": args.nodes,
            "num_tasks": args.tasks,
            "cores_per_task": args.cores_per_task,
        }
        try:
            runtime = None if args.time is None else api.parse_duration(args.time)
            cluster = api.current()
            job = cluster._submit(
                ["bash", "-c", cell],
                args.name,
                runtime,
                args.cwd,
                {k: v for k, v in fields.items() if v is not None},
                "--cwd",
            )
        except (ValueError, FluxRestfulError) as error:
            raise FluxCellError(str(error)) from None
        label = f" ({args.name})" if args.name else ""
        print(f"Submitted job {job.f58}{label} as {cluster.user} to {cluster.host}", flush=True)
        if args.wait:
            try:
                for chunk in job.stream():
                    print(chunk, end="", flush=True)
                job.wait()
            except KeyboardInterrupt:
                print(f"\nStopped following job {job.f58}; it keeps running.", file=sys.stderr)
            except FluxRestfulError as error:
                raise FluxCellError(str(error)) from None
            else:
                self._report(job)
        return job

    @staticmethod
    def _report(job):
        info = job.info
        if info.get("result") == "COMPLETED":
            print(f"Job {job.f58} completed.", flush=True)
            return
        code = info.get("returncode")
        exit_text = f" (exit code {code})" if isinstance(code, int) else ""
        note = (info.get("exception") or {}).get("note")
        ending = f"Job {job.f58} {info.get('result') or 'ended'}{exit_text}"
        print(ending + (f": {note}" if note else ""), file=sys.stderr, flush=True)
