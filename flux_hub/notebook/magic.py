"""The %%flux cell magic: run the cell as a batch script on the Flux cluster.

    %load_ext flux_hub
    %%flux -N 2 -n 2 -t 5m --name hello --wait
    echo "hello from $(hostname)"

Its options are every job request's (flux_hub/jobrequest.py, as ``flux-hub submit`` and the panel
take them): -N/--nodes, -n/--ntasks, -c/--cores-per-task, -g/--gpus-per-task, -t/--time-limit,
--name, --cwd, --env NAME=VALUE, --exclusive, -o/--setopt OPT[=VAL]; --tasks and --time, its
first spellings, still work. Without --name the job is named after the notebook and the cell,
e.g. ``analysis.ipynb [3]`` (jupyter_server tells the kernel its notebook in JPY_SESSION_NAME).
The person's job history (flux_hub/history.py) keeps that notebook and cell as the job's origin.

The job may run on another machine than the kernel, so the script travels inside the command
(``bash -c SCRIPT``), not as a file. Without --wait the cell shows the job at once and the kernel is
free; ``_`` (or ``job = _``) is the Job for waiting, output and cancelling later.

The job starts in the kernel's current directory as the cluster sees it (flux_hub/paths.py), or
in ``--cwd DIR`` (a path as the notebook sees it, relative to the current directory). With no
shared storage the job starts in the person's own folder on the cluster.
"""

import os
import shlex
import sys
from pathlib import PurePath

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser

from flux_hub import jobrequest
from flux_hub.jobnames import MAX_NAME_LENGTH
from flux_hub.notebook import api
from flux_hub.restful import FluxRestfulError


def _parser():
    parser = MagicArgumentParser(
        prog="%flux",  # its help adds the other %
        description="Submit the cell as a bash batch script to the Flux cluster.",
        add_help=False,
    )
    jobrequest.add_arguments(parser, aliases=True)
    parser.add_argument("--keep-env", action="store_true", help=jobrequest.KEEP_ENV_HELP)
    parser.add_argument("--wait", action="store_true", help="follow the output until the job ends")
    return parser


PARSER = _parser()


def cell_name(notebook, count):
    """The name of a job from cell ``count`` of ``notebook`` (its path; None: not known), as
    IPython numbers cells: ``analysis.ipynb [3]``, or ``cell [3]``."""
    base = PurePath(notebook).name if notebook else ""
    base = "".join(c if ord(c) >= 32 else "?" for c in base).strip() or "cell"
    suffix = f" [{count}]" if isinstance(count, int) else ""
    return base[: MAX_NAME_LENGTH - len(suffix)] + suffix


class FluxCellError(Exception):
    """A failed %%flux cell: IPython shows the message alone, without a traceback."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


@magics_class
class FluxMagics(Magics):
    """%%flux: see the module's text, or %%flux? for its options."""

    @cell_magic
    def flux(self, line, cell):
        # Split as a shell does (IPython's own split keeps the quotes: --name "my job")
        try:
            argv = shlex.split(line)
        except ValueError as error:
            raise FluxCellError(f"%%flux cannot split its options into words: {error}") from None
        args = PARSER.parse_args(argv)
        if not cell.strip():
            raise FluxCellError("The cell is empty: write the commands to run below %%flux.")
        raw = jobrequest.from_arguments(args)
        notebook, count = os.environ.get("JPY_SESSION_NAME"), self._cell_number()
        if "name" not in raw:
            raw["name"] = cell_name(notebook, count)
        name, runtime, workdir = (raw.pop(key, None) for key in ("name", "runtime", "workdir"))
        origin = {"origin_kind": "magic", "origin_path": notebook, "origin_cell": count}
        if args.keep_env:
            origin["keep_env_values"] = True
        try:
            cluster = api.current()
            job = cluster._submit(
                ["bash", "-c", cell], name, runtime, workdir, raw, "--cwd", origin
            )
        except (ValueError, FluxRestfulError) as error:
            raise FluxCellError(str(error)) from None
        label = name.strip()
        print(f"Submitted job {job.f58} ({label}) as {cluster.user} to {cluster.host}", flush=True)
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

    flux.__doc__ = "Submit the cell as a bash batch script to the Flux cluster.\n\n" + (
        PARSER.format_help()
    )

    def _cell_number(self):
        """The running cell's number (In [3]): its ExecutionResult's, since IPython 9 counts
        the next cell before running this one."""
        running = getattr(getattr(self.shell, "displayhook", None), "exec_result", None)
        count = getattr(running, "execution_count", None)
        return count if isinstance(count, int) else getattr(self.shell, "execution_count", None)

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
