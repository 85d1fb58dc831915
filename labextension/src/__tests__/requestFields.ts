import { IRequestFields } from '../api';

/**
 * The description of a job request as GET request-fields answers it
 * (flux_hub/jobrequest.py `describe()`, copied as it was printed by
 * `python -c "import json; from flux_hub import jobrequest;
 * print(json.dumps(jobrequest.describe(), indent=2))"`): the submit form's
 * labels, help and defaults in the specs.
 */
export const REQUEST_FIELDS: IRequestFields = {
  version: 1,
  fields: [
    {
      name: 'command',
      kind: 'command',
      label: 'Command',
      help: 'the command line to run, or a list of words; a script runs as bash -c SCRIPT',
      flags: [],
      aliases: [],
      metavar: 'CMD...',
      minimum: null,
      default: null,
      repeat: false
    },
    {
      name: 'name',
      kind: 'name',
      label: 'Name',
      help: 'a name for the job, shown in the panel, the notebook and the terminal (at most 200 characters)',
      flags: ['--name'],
      aliases: [],
      metavar: 'NAME',
      minimum: null,
      default:
        "the program's name; %%flux: the notebook and cell, e.g. analysis.ipynb [3]",
      repeat: false
    },
    {
      name: 'num_nodes',
      kind: 'count',
      label: 'Nodes',
      help: 'number of nodes',
      flags: ['-N', '--nodes'],
      aliases: [],
      metavar: 'N',
      minimum: 1,
      default: 'as Flux decides',
      repeat: false
    },
    {
      name: 'num_tasks',
      kind: 'count',
      label: 'Tasks',
      help: 'number of tasks (at least one per node)',
      flags: ['-n', '--ntasks'],
      aliases: ['--tasks'],
      metavar: 'N',
      minimum: 1,
      default: '1',
      repeat: false
    },
    {
      name: 'cores_per_task',
      kind: 'count',
      label: 'Cores per task',
      help: 'cores for each task',
      flags: ['-c', '--cores-per-task'],
      aliases: [],
      metavar: 'N',
      minimum: 1,
      default: '1',
      repeat: false
    },
    {
      name: 'gpus_per_task',
      kind: 'count',
      label: 'GPUs per task',
      help: 'GPUs for each task (0: none)',
      flags: ['-g', '--gpus-per-task'],
      aliases: [],
      metavar: 'N',
      minimum: 0,
      default: '0',
      repeat: false
    },
    {
      name: 'runtime',
      kind: 'duration',
      label: 'Time limit',
      help: 'time limit: a Flux duration: seconds (90) or a number with a unit ms, s, m, h or d (30s, 5m, 1.5h, 2d, 1h30m); 0 or inf: no limit',
      flags: ['-t', '--time-limit'],
      aliases: ['--time'],
      metavar: 'TIME',
      minimum: null,
      default: 'no limit',
      repeat: false
    },
    {
      name: 'workdir',
      kind: 'path',
      label: 'Working directory',
      help: 'working directory, as you see it (relative to the current directory)',
      flags: ['--cwd'],
      aliases: [],
      metavar: 'DIR',
      minimum: null,
      default:
        'the current directory; with no shared storage, your folder on the cluster',
      repeat: false
    },
    {
      name: 'envars',
      kind: 'env',
      label: 'Environment',
      help: "set a variable in the job's environment (repeat for more)",
      flags: ['--env'],
      aliases: [],
      metavar: 'NAME=VALUE',
      minimum: null,
      default: "the cluster's",
      repeat: true
    },
    {
      name: 'exclusive',
      kind: 'flag',
      label: 'Exclusive',
      help: 'have whole nodes to the job alone',
      flags: ['--exclusive'],
      aliases: [],
      metavar: null,
      minimum: null,
      default: 'false',
      repeat: false
    },
    {
      name: 'option_flags',
      kind: 'options',
      label: 'Shell options',
      help: 'set a job shell option, e.g. cpu-affinity=per-task (repeat for more)',
      flags: ['-o', '--setopt'],
      aliases: [],
      metavar: 'OPT[=VAL]',
      minimum: null,
      default: null,
      repeat: true
    }
  ],
  duration: {
    help: 'a Flux duration: seconds (90) or a number with a unit ms, s, m, h or d (30s, 5m, 1.5h, 2d, 1h30m); 0 or inf: no limit',
    units: {
      ms: 0.001,
      s: 1.0,
      m: 60.0,
      h: 3600.0,
      d: 86400.0
    },
    no_limit: ['0', 'inf', 'infinity'],
    rounding: 'up to whole seconds',
    max_seconds: 4294967296
  },
  keep_env: {
    flag: '--keep-env',
    label: 'Keep the values in my job history',
    help: "keep the environment's values in your job history (only you can read it), so Run again can send them; without it only their names are kept"
  },
  rules: [
    "'num_tasks' is at least 'num_nodes' when both are given",
    'environment variable names are letters, digits and _, not starting with a digit'
  ]
};
