import { ISignal, Signal } from '@lumino/signaling';

import { FluxHubAPI, IJob, ISweepProgress, SweepInput } from './api';
import { JobId } from './jobid';
import { isActive, statusOf, STATE_FILTERS } from './jobs';
import { JobsModel } from './model';

/** The most jobs one sweep may have (flux_hub/sweep.py's MAX_JOBS). */
/** One row of the form's Parameters: a list of inputs, by its name or position. */
export interface IParameterRow {
  /** Optional: `{name}` in the command; empty: by position (`{}`, `{0}`). */
  name: string;
  /** Words typed, or the lines of a file. */
  source: 'words' | 'file';
  /** Space-separated words; `{1..10}` (and `{0..100..5}`) are ranges. */
  words: string;
  /** The file's path as the lab sees it (source "file"). */
  path: string;
}

/** The form's Parameters section. */
export interface ISweepParams {
  open: boolean;
  rows: IParameterRow[];
  group: string;
}

export const EMPTY_ROW: IParameterRow = {
  name: '',
  source: 'words',
  words: '',
  path: ''
};

export const EMPTY_SWEEP: ISweepParams = {
  open: false,
  rows: [EMPTY_ROW],
  group: ''
};

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether a row has inputs (words, or a file's path). */
export function rowHasValues(row: IParameterRow): boolean {
  return row.source === 'file' ? !!row.path.trim() : !!row.words.trim();
}

/** Whether the Parameters make this form a sweep: a row with values. */
export function isSweep(params: ISweepParams | null | undefined): boolean {
  return !!params && params.rows.some(rowHasValues);
}

/**
 * POST sweeps' `inputs` of the form's rows (those with values): a list by
 * position, or a dict by name when the rows are named (every one or none);
 * a problem is one line.
 */
export function sweepInputs(
  rows: IParameterRow[]
): { inputs: SweepInput[] | Record<string, SweepInput> } | { error: string } {
  const lists: { name: string; input: SweepInput }[] = [];
  for (const row of rows.filter(rowHasValues)) {
    const name = row.name.trim();
    if (name && !NAME.test(name)) {
      return {
        error: `An input's name is a word (letters, digits, _), not “${name}”.`
      };
    }
    if (row.source === 'file') {
      lists.push({ name, input: { file: row.path.trim() } });
      continue;
    }
    // As typed: the server reads them as the words after `:::` on the command
    // line (flux_hub/sweep.py read_words: quotes, {1..10} ranges), one rule.
    lists.push({ name, input: { words: row.words.trim() } });
  }
  const named = lists.filter(l => l.name).length;
  if (named === 0) {
    return { inputs: lists.map(l => l.input) };
  }
  if (named < lists.length) {
    return {
      error: 'Name every row of values, or none (then {} takes them in order).'
    };
  }
  const inputs: Record<string, SweepInput> = {};
  for (const { name, input } of lists) {
    if (name in inputs) {
      return { error: `Two rows are named “${name}”.` };
    }
    inputs[name] = input;
  }
  return { inputs };
}

/** "1,000": counts as people read them. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "1 job", "1,000 jobs". */
export function jobsText(n: number): string {
  return `${formatCount(n)} job${n === 1 ? '' : 's'}`;
}

// -- the table's groups ---------------------------------------------------------------------------

/** A sweep's jobs as the table shows them: in place of the first of them. */
export interface ISweepGroup {
  id: string;
  group: string;
  /** Its jobs the table shows (the filter's), in the table's order. */
  jobs: IJob[];
  /** How many jobs the sweep has (its `total`). */
  total: number;
}

/** One row of the table: a job (`indent`: one of an expanded group's), or a group. */
export type TableItem =
  | { kind: 'job'; job: IJob; indent: boolean }
  | { kind: 'group'; group: ISweepGroup; expanded: boolean };

/** The key of a group's row where a job's id goes (the current row). */
export function groupKey(id: string): string {
  return `sweep:${id}`;
}

/**
 * The table's rows of `jobs` (filtered and sorted): the jobs of each sweep as
 * one group row where the first of them is, followed by them (indented) when
 * the group is in `expanded`. Jobs of no sweep are rows as they were.
 */
export function groupRows(
  jobs: IJob[],
  expanded: ReadonlySet<string>
): TableItem[] {
  const groups = new Map<string, ISweepGroup>();
  for (const job of jobs) {
    const sweep = job.sweep;
    if (!sweep || typeof sweep.id !== 'string') {
      continue;
    }
    let group = groups.get(sweep.id);
    if (!group) {
      group = {
        id: sweep.id,
        group: String(sweep.group ?? ''),
        jobs: [],
        total: Number(sweep.total) || 0
      };
      groups.set(sweep.id, group);
    }
    group.jobs.push(job);
  }
  if (groups.size === 0) {
    return jobs.map(job => ({ kind: 'job', job, indent: false }));
  }
  const items: TableItem[] = [];
  for (const job of jobs) {
    const id = job.sweep?.id;
    const group = id !== undefined ? groups.get(id) : undefined;
    if (!group) {
      items.push({ kind: 'job', job, indent: false });
      continue;
    }
    if (group.jobs[0] !== job) {
      continue;
    }
    const open = expanded.has(group.id);
    items.push({ kind: 'group', group, expanded: open });
    if (open) {
      for (const each of group.jobs) {
        items.push({ kind: 'job', job: each, indent: true });
      }
    }
  }
  return items;
}

/** The key of a row: the job's id, or its group's key. */
export function itemKey(item: TableItem): string {
  return item.kind === 'job' ? item.job.id : groupKey(item.group.id);
}

/** The jobs of a row: the job, or all of a group's shown. */
export function itemJobs(item: TableItem): IJob[] {
  return item.kind === 'job' ? [item.job] : item.group.jobs;
}

/** The table's word of each status (its state filter's), lower case. */
const STATUS_WORDS: Record<string, string> = {
  PENDING: 'pending',
  RUN: 'running'
};
for (const filter of STATE_FILTERS) {
  if (
    !(filter.value in STATUS_WORDS) &&
    filter.value === filter.value.toUpperCase()
  ) {
    STATUS_WORDS[filter.value] = filter.label.toLowerCase();
  }
}

/** The order the counts are said in: what still runs first. */
const STATUS_ORDER = [
  'RUN',
  'PENDING',
  'CLEANUP',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'TIMEOUT'
];

/** "12 running · 6 pending · 2 completed": a group's jobs counted by status. */
export function stateCounts(jobs: IJob[]): string {
  const counts = new Map<string, number>();
  for (const job of jobs) {
    const status = statusOf(job);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const order = (s: string) => {
    const i = STATUS_ORDER.indexOf(s);
    return i < 0 ? STATUS_ORDER.length : i;
  };
  return Array.from(counts)
    .sort((a, b) => order(a[0]) - order(b[0]))
    .map(
      ([status, n]) =>
        `${formatCount(n)} ${STATUS_WORDS[status] ?? status.toLowerCase()}`
    )
    .join(' · ');
}

/** Jobs of a group a "Run again: unsuccessful" would run (as far as the table knows). */
export function unsuccessful(jobs: IJob[]): IJob[] {
  return jobs.filter(
    job =>
      !isActive(job) &&
      !(statusOf(job) === 'COMPLETED' && Number(job.returncode ?? 0) === 0)
  );
}

/** All the jobs of a sweep the panel knows, shown or not. */
export function jobsOfSweep(jobs: IJob[], id: string): IJob[] {
  return jobs.filter(job => job.sweep?.id === id);
}

/** The ids of a group's jobs, in the table's order. */
export function idsOf(jobs: IJob[]): JobId[] {
  return jobs.map(job => job.id);
}

// -- sweeps still submitting ----------------------------------------------------------------------

/**
 * The person's sweeps still being submitted (GET sweeps?unfinished=1), for
 * the progress bar. Read when made, when told a sweep was posted (`poke`),
 * and at each of the model's refreshes while any is unfinished; read from
 * the server, so a panel closed and opened again shows it too.
 */
export class SweepTracker {
  constructor(readonly model: JobsModel) {
    model.changed.connect(this._onRefresh, this);
    void this.poke();
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The sweeps still submitting, oldest first. */
  get unfinished(): ISweepProgress[] {
    return this._unfinished;
  }

  /** Read the sweeps now (a sweep was just posted, or the panel opened). */
  async poke(): Promise<void> {
    const request = ++this._requests;
    this._newSweep();
    let sweeps: ISweepProgress[];
    try {
      sweeps = await this.api.unfinishedSweeps();
    } catch {
      // The progress bar is a help, not the jobs: the banner says if the server is away.
      return;
    }
    if (request < this._applied || this._disposed) {
      return;
    }
    this._applied = request;
    const unfinished = sweeps.filter(s => !s.done);
    unfinished.sort((a, b) => (a.created ?? 0) - (b.created ?? 0));
    const was = this._unfinished.length;
    this._unfinished = unfinished;
    if (was > 0 || unfinished.length > 0) {
      this._changed.emit();
    }
  }

  dispose(): void {
    this._disposed = true;
    this.model.changed.disconnect(this._onRefresh, this);
    Signal.clearData(this);
  }

  private get api(): FluxHubAPI {
    return this.model.api;
  }

  /**
   * After each refresh of the jobs: read the sweeps again while one is
   * unfinished, or when a job of a sweep not seen before shows (one started
   * from a notebook or the terminal).
   */
  private _onRefresh(): void {
    if (this._unfinished.length > 0 || this._newSweep()) {
      void this.poke();
    }
  }

  private _newSweep(): boolean {
    let found = false;
    for (const job of this.model.jobs) {
      const id = job.sweep?.id;
      if (id !== undefined && !this._seen.has(id)) {
        this._seen.add(id);
        found = true;
      }
    }
    return found;
  }

  private _unfinished: ISweepProgress[] = [];
  /** The sweeps whose jobs the list has shown. */
  private _seen = new Set<string>();
  private _requests = 0;
  private _applied = 0;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

const TRACKERS = new WeakMap<JobsModel, SweepTracker>();

/** The model's tracker of unfinished sweeps (one per model, made at first use). */
export function sweepTracker(model: JobsModel): SweepTracker {
  let tracker = TRACKERS.get(model);
  if (!tracker) {
    tracker = new SweepTracker(model);
    TRACKERS.set(model, tracker);
  }
  return tracker;
}
