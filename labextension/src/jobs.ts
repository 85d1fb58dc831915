import { IJob } from './api';
import { compareJobIds, formatF58, jobIdMatches, jobIdSortKey } from './jobid';

/**
 * Flux's pending states, as flux_hub/jobstates.py groups them (the one list
 * the Python front-ends read); RUN and CLEANUP are running, all of them
 * active, INACTIVE the only state after a job ends.
 */
export const PENDING_STATES: ReadonlySet<string> = new Set([
  'NEW',
  'DEPEND',
  'PRIORITY',
  'SCHED'
]);

export function isActive(job: IJob): boolean {
  return job.state !== 'INACTIVE';
}

/**
 * Every active job can be cancelled, CLEANUP too: Flux takes a cancel until
 * a job is INACTIVE (an epilog may still act on it), and `flux cancel --all`
 * and `flux-hub cancel --all` target every active state.
 */
export function isCancellable(job: IJob): boolean {
  return isActive(job);
}

/** What happened to a finished job, or what is happening to an active one. */
export function statusOf(job: IJob): string {
  if (!isActive(job)) {
    return job.result || 'INACTIVE';
  }
  return PENDING_STATES.has(job.state) ? 'PENDING' : job.state;
}

export type StateFilter =
  | 'all'
  | 'active'
  | 'PENDING'
  | 'RUN'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELED'
  | 'TIMEOUT';

export const STATE_FILTERS: { value: StateFilter; label: string }[] = [
  { value: 'all', label: 'All states' },
  { value: 'active', label: 'Active' },
  { value: 'PENDING', label: 'Pending' },
  { value: 'RUN', label: 'Running' },
  { value: 'COMPLETED', label: 'Completed' },
  { value: 'FAILED', label: 'Failed' },
  { value: 'CANCELED', label: 'Canceled' },
  { value: 'TIMEOUT', label: 'Timed out' }
];

export function matchesState(job: IJob, filter: StateFilter): boolean {
  if (filter === 'all') {
    return true;
  }
  if (filter === 'active') {
    return isActive(job);
  }
  return statusOf(job) === filter;
}

/** Seconds as a compact clock: 42s, 3:07, 1:02:03, 2d 01:00:00. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || seconds === null || !isFinite(seconds)) {
    return '';
  }
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) {
    return `${total}s`;
  }
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) {
    return `${days}d ${pad(h)}:${pad(m)}:${pad(s)}`;
  }
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit'
});
const dateFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit'
});

/** A Unix time in seconds, short: the clock time for today, else the date and minute. */
export function formatTime(
  epochSeconds: number | undefined,
  now: Date = new Date()
): string {
  if (!epochSeconds) {
    return '';
  }
  const date = new Date(epochSeconds * 1000);
  return date.toDateString() === now.toDateString()
    ? clockFormat.format(date)
    : dateFormat.format(date);
}

/** A Unix time in seconds in full, for the job detail. */
export function formatFullTime(epochSeconds: number | undefined): string {
  return epochSeconds ? new Date(epochSeconds * 1000).toLocaleString() : '';
}

/** The job's command line as one string, when the server gave it. */
export function commandOf(job: IJob): string {
  const command = job.command;
  if (Array.isArray(command)) {
    return command.join(' ');
  }
  return typeof command === 'string' ? command : '';
}

export interface IColumn {
  id: ColumnId;
  label: string;
  /** The value shown in the cell. */
  text: (job: IJob) => string;
  /** The cell's tooltip, when it is not the text itself. */
  title?: (job: IJob) => string;
  /** The value sorted on. */
  key: (job: IJob) => number | string;
  numeric?: boolean;
}

export type ColumnId =
  | 'id'
  | 'name'
  | 'status'
  | 'state'
  | 'result'
  | 'nodes'
  | 'tasks'
  | 'runtime'
  | 'submitted';

/** In the settings' default order: the name first, what a person knows a job by. */
export const COLUMNS: IColumn[] = [
  {
    id: 'name',
    label: 'Name',
    text: j => j.name || commandOf(j),
    key: j => (j.name || commandOf(j)).toLowerCase()
  },
  {
    id: 'id',
    label: 'ID',
    // As `flux jobs` shows it; the exact decimal in the tooltip.
    text: j => formatF58(j.id),
    title: j => j.id,
    key: j => jobIdSortKey(j.id),
    numeric: true
  },
  {
    // State and result in one: the result once the job has ended, else its state.
    id: 'status',
    label: 'Status',
    text: j => statusOf(j),
    key: j => statusOf(j)
  },
  { id: 'state', label: 'State', text: j => j.state, key: j => j.state },
  {
    id: 'result',
    label: 'Result',
    text: j => j.result || '',
    key: j => j.result || ''
  },
  {
    id: 'nodes',
    label: 'Nodes',
    text: j => (j.nnodes === undefined ? '' : String(j.nnodes)),
    key: j => j.nnodes ?? -1,
    numeric: true
  },
  {
    id: 'tasks',
    label: 'Tasks',
    text: j => (j.ntasks === undefined ? '' : String(j.ntasks)),
    key: j => j.ntasks ?? -1,
    numeric: true
  },
  {
    id: 'runtime',
    label: 'Runtime',
    text: j => formatDuration(j.runtime),
    key: j => j.runtime ?? -1,
    numeric: true
  },
  {
    id: 'submitted',
    label: 'Submitted',
    text: j => formatTime(j.t_submit),
    key: j => j.t_submit ?? 0,
    numeric: true
  }
];

/** The columns shown when the settings choose none: state and result apart. */
export const ALL_COLUMN_IDS: ColumnId[] = COLUMNS.map(c => c.id).filter(
  id => id !== 'status'
);

/**
 * Each column's width in characters of the table's font (the table's header
 * cells are given these widths). The name takes what the others leave: its
 * value here is the least room it is given before another column is added,
 * enough for a name such as `walk-sleeper` or `train-resnet50` whole.
 */
export const COLUMN_WIDTHS: Record<ColumnId, number> = {
  id: 12,
  name: 16,
  status: 10,
  state: 9,
  result: 11,
  nodes: 7,
  tasks: 7,
  runtime: 8,
  submitted: 13
};

/** Columns dropped first when the table is narrow: the last of these goes first. */
const KEPT_LONGEST: ColumnId[] = ['runtime', 'nodes', 'tasks', 'submitted'];

/**
 * The columns that fit `chars` characters of width, from those wanted: the
 * name and the job's status always (state and result as one Status column when
 * both do not fit); the ID as a column of its own where it fits beside them,
 * else shown under the name (see idUnderName); then Runtime, Nodes, Tasks and
 * Submitted as room allows. Without a name column the ID is always shown.
 */
export function columnsForWidth(wanted: ColumnId[], chars: number): ColumnId[] {
  const width = (ids: ColumnId[]) =>
    ids.reduce((sum, id) => sum + COLUMN_WIDTHS[id], 0);
  const status: ColumnId[] = wanted.filter(
    id => id === 'state' || id === 'result' || id === 'status'
  );
  const named = wanted.includes('name');
  let core: ColumnId[] = wanted.filter(
    id => id === 'name' || (id === 'id' && !named)
  );
  const optional: ColumnId[] = [
    ...(named && wanted.includes('id') ? (['id'] as ColumnId[]) : []),
    ...KEPT_LONGEST.filter(id => wanted.includes(id))
  ];
  // Separate state and result only when everything else wanted fits too.
  const apart = width([...core, ...status, ...optional]) <= chars;
  const statusColumns: ColumnId[] =
    apart || status.length <= 1 ? status : ['status'];
  core = [...core, ...statusColumns];
  const extra: ColumnId[] = [];
  for (const id of optional) {
    if (width([...core, ...extra, id]) <= chars) {
      extra.push(id);
    } else if (id === 'id') {
      // The ID comes before any other column: while it is under the name, no
      // other column takes the room it would need.
      break;
    }
  }
  const chosen = new Set([...core, ...extra]);
  // In the order wanted, the Status column where state (or result) stood.
  const order = wanted.flatMap(id =>
    statusColumns.length === 1 &&
    statusColumns[0] === 'status' &&
    (id === 'state' || id === 'result')
      ? id === status[0]
        ? ['status' as ColumnId]
        : []
      : [id]
  );
  return order.filter(id => chosen.has(id));
}

/**
 * Whether the table shows each job's ID under its name, smaller: when the ID
 * is wanted but has no room for a column of its own beside the name.
 */
export function idUnderName(wanted: ColumnId[], shown: ColumnId[]): boolean {
  return (
    wanted.includes('id') && shown.includes('name') && !shown.includes('id')
  );
}

export interface ISortState {
  column: ColumnId;
  ascending: boolean;
}

/** Filter and sort the jobs as the table shows them. */
export function visibleJobs(
  jobs: IJob[],
  text: string,
  state: StateFilter,
  sort: ISortState
): IJob[] {
  const typed = text.trim();
  const needle = typed.toLowerCase();
  const rows = jobs.filter(
    job =>
      matchesState(job, state) &&
      (!needle ||
        jobIdMatches(job.id, typed) ||
        (job.name || '').toLowerCase().includes(needle) ||
        commandOf(job).toLowerCase().includes(needle) ||
        statusOf(job).toLowerCase().includes(needle))
  );
  const column = COLUMNS.find(c => c.id === sort.column) ?? COLUMNS[0];
  const sign = sort.ascending ? 1 : -1;
  // Pre-compute keys once: sorting 5,000 rows calls the comparator ~60,000 times.
  const keyed = rows.map(job => ({ job, key: column.key(job) }));
  keyed.sort((a, b) => {
    if (a.key < b.key) {
      return -sign;
    }
    if (a.key > b.key) {
      return sign;
    }
    return compareJobIds(b.job.id, a.job.id);
  });
  return keyed.map(k => k.job);
}

/**
 * Parse environment variables written one per line as NAME=value.
 * Returns the variables, or the first line that is not of that form.
 */
export function parseEnvironment(
  text: string
): { envars: Record<string, string> } | { error: string } {
  const envars: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) {
      continue;
    }
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      return {
        error: `Line ${i + 1} is not NAME=value with a valid variable name: "${line}"`
      };
    }
    envars[name] = line.slice(eq + 1);
  }
  return { envars };
}
