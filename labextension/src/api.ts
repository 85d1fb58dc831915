import { ServerConnection } from '@jupyterlab/services';

import { IFilesInfo } from './files';
import {
  heldAnswerFrom,
  holdFrom,
  holdRecord,
  IHeldAnswer,
  IHold,
  isHoldId
} from './holds';
import { JobId, jobIdOf } from './jobid';
import { requestAPI, streamAPI } from './request';

/** GET cluster: who the user is on which cluster, and whether it answers. */
export interface IClusterInfo {
  account: string;
  url: string;
  nodes: string[];
  reachable: boolean;
  error: string | null;
  /** The cluster runs the legacy flux-restful-api, which keeps no one apart. */
  legacy?: boolean;
  /** What people must be told about this cluster (the legacy server's lack of isolation). */
  warning?: string | null;
  /** Which of the person's files the cluster sees (FLUX_HUB_PATHS); see files.ts. */
  files?: IFilesInfo;
  /**
   * The cluster's nodes, cores and GPUs as the hub's reader last saw them;
   * null (or absent, from an older server) when the server asks the cluster
   * directly, which tells only the nodes up.
   */
  resources?: IResources | null;
  /** Everyone's jobs running and waiting, counts only; null without the reader. */
  queue?: { running: number; waiting: number } | null;
  /** When the reader read the cluster (Unix seconds); null without it. */
  as_of?: number | null;
  /** Whether the server reads the cluster through the hub's reader. */
  reader?: boolean;
}

/** Counts of nodes, cores or GPUs: busy = allocated, free = up and not allocated. */
export interface ICounts {
  total: number;
  up: number;
  down: number;
  busy: number;
  free: number;
}

/** The cluster's resources as the reader's snapshot gives them. */
export interface IResources {
  nodes: ICounts;
  cores: ICounts;
  gpus: ICounts;
  /** Names of the nodes up, sorted. */
  hosts_up: string[];
}

/**
 * Why a pending job waits (flux_hub/waiting.py): one sentence; its place in
 * everyone's queue (1: the next to start) and the waiting jobs before it,
 * where the server knows them; the scheduler's estimated start (Unix
 * seconds), where it gives one.
 */
export interface IWaiting {
  reason: string;
  position: number | null;
  ahead: number | null;
  t_estimate: number | null;
  /** The table's short text in place of the position or estimate (a held job's "after ƒA ok"). */
  short?: string;
  /** The whole tooltip, in place of "Why it waits: …" (a held job's). */
  title?: string;
}

/**
 * A job as flux-restful's GET /v1/jobs/{id} describes it, plus flux-hub's name.
 *
 * Keys present depend on the state: a running job has empty `result` and
 * `returncode`, and no `t_inactive` yet. The id, a JSON integer in the
 * answer, is read exactly and kept as its decimal text.
 */
export interface IJob {
  id: JobId;
  name: string;
  state: string;
  result: string;
  nnodes?: number;
  ntasks?: number;
  ncores?: number;
  runtime?: number;
  duration?: number;
  t_submit?: number;
  t_run?: number;
  t_inactive?: number;
  returncode?: number | string;
  nodelist?: string;
  command?: string | string[];
  exception?: { occurred: boolean; type: string; note: string };
  /** The working directory as the cluster sees it. */
  cwd?: string;
  /** The working directory as the lab sees it; null when it is not one of the lab's folders. */
  lab_workdir?: string | null;
  /** That folder relative to the Jupyter server's root, for the file browser; null when outside it. */
  browser_path?: string | null;
  /** A pending job: why it waits and when it should start (see IWaiting). */
  waiting?: IWaiting | null;
  /** A job of a sweep: which one, and its place in it. */
  sweep?: IJobSweep;
  [key: string]: unknown;
}

/**
 * GET jobs: the job list, whole or as what changed since a version.
 *
 * A complete answer holds the whole list in the server's order. A delta (the
 * answer to `?since=`) holds only the jobs new or changed since then, and
 * `ids`, the whole list's ids in order, when they changed (absent: the same
 * jobs in the same order): a listed id not in `jobs` is unchanged, and a job
 * not listed is gone. `names` are the names given in
 * flux-hub (by id), which take the place of the records' Flux names: in a
 * delta, only those given or changed since `since`.
 */
export interface IJobsAnswer {
  /** Opaque; pass it back as `since` on the next refresh. */
  version: string;
  complete: boolean;
  jobs: IJob[];
  /** The whole list's ids in order; only in a delta, and only when they changed. */
  ids?: JobId[];
  names: Record<string, string>;
}

/** POST jobs: what the submit form sends. */
export interface ISubmitRequest {
  /** A command line, or the words of one (a script runs as bash -c SCRIPT). */
  command: string | string[];
  name?: string;
  /**
   * Counts and the time limit as a person typed them (or as numbers): the
   * server reads them with the one description of a job request
   * (flux_hub/jobrequest.py), as `flux-hub submit` and `%%flux` do.
   */
  num_tasks?: number | string;
  cores_per_task?: number | string;
  gpus_per_task?: number | string;
  num_nodes?: number | string;
  exclusive?: boolean;
  workdir?: string;
  /** A time limit: seconds, or a Flux duration as text ("30s", ".5h", "1h30m"). */
  runtime?: number | string;
  envars?: Record<string, string>;
  /** Flux's own options, as `flux submit` takes them (kept in a history record's form). */
  option_flags?: string;
  /** Keep the environment's values in the person's job history (for Run again). */
  keep_env?: boolean;
  /**
   * Where the request came from, for the person's history: the file
   * browser's "Submit as Flux Job…" sends the script's lab path. Absent: the
   * panel's form.
   */
  origin?: ISubmitOrigin;
  /**
   * Hold the job until others end, as `flux submit --dependency`:
   * "afterok:ID,ID" (holds.ts). POST jobs then answers a hold (submitHeld).
   */
  dependency?: string;
}

/** Where a job submitted from the panel came from (POST jobs' `origin`). */
export interface ISubmitOrigin {
  kind: 'panel' | 'file';
  /** The script's path as the file browser shows it (kind "file"). */
  path?: string;
}

/**
 * Where a recorded job came from: the panel, a file (its lab path), a
 * notebook through the notebook API or `%%flux` ("magic": `cell` is the
 * cell's execution count), the terminal ("cli": `command` is its command
 * line), or "unknown" (imported from the files kept before the history).
 */
export interface IHistoryOrigin {
  kind: HistoryOriginKind;
  path: string | null;
  cell: string | null;
  command: string | null;
  /**
   * Where the file browser finds the notebook or file (relative to the
   * server's root); null when it is outside it. Absent from older servers.
   */
  browser_path?: string | null;
}

export type HistoryOriginKind =
  'panel' | 'file' | 'notebook' | 'magic' | 'cli' | 'unknown';

/**
 * One job of the person's history (GET history; flux_hub/history.py), its
 * ids read exactly as the job list's are.
 *
 * `status` is ACTIVE, the job's result (COMPLETED, FAILED, CANCELED,
 * TIMEOUT) or GONE (its cluster no longer knows it and its end was never
 * seen). `form` is the request in POST jobs' shape, for "Edit and run"; null
 * for a job recorded before flux-hub kept requests.
 */
export interface IHistoryRecord {
  id: JobId;
  cluster: string | null;
  account: string | null;
  name: string | null;
  command: string;
  request?: Record<string, unknown> | null;
  env_names?: string[];
  workdir?: string | null;
  lab_workdir?: string | null;
  origin: IHistoryOrigin;
  /** Unix seconds; null when unknown (an imported job). */
  submitted: number | null;
  status: string;
  state?: string | null;
  result?: string | null;
  exit_code?: number | null;
  runtime?: number | null;
  nodes?: string[] | null;
  ended?: number | null;
  cluster_gone?: boolean;
  gone?: number | null;
  imported_from?: string | null;
  form?: Partial<ISubmitRequest> | null;
  /** False when the environment's values were not kept (only its names). */
  env_values_kept?: boolean;
  /** The job this one ran again, if it was a "Run again". */
  rerun_of?: JobId | null;
  [key: string]: unknown;
}

/** What to look for in the history (GET history's query); every key optional. */
export interface IHistoryQuery {
  /** Text in the name or the command. */
  q?: string;
  /** ACTIVE, GONE, COMPLETED, FAILED, CANCELED or TIMEOUT. */
  state?: string;
  origin?: HistoryOriginKind;
  /** Unix seconds or an ISO date. */
  since?: number | string;
  until?: number | string;
  /** Records per page: 1 to 500 (the server's default 50). */
  limit?: number;
  offset?: number;
}

/** A page of the history, newest first; `more`: records follow this page. */
export interface IHistoryPage {
  records: IHistoryRecord[];
  more: boolean;
  limit: number;
  offset: number;
}

/** One field of a job request (`GET request-fields`). */
export interface IRequestField {
  name: string;
  kind: string;
  label: string;
  help: string;
  flags: string[];
  aliases: string[];
  metavar: string | null;
  minimum: number | null;
  default: string | null;
  repeat: boolean;
}

/**
 * The one description of a job request that `POST jobs`, `flux-hub submit`,
 * `%%flux` and the notebook API share (docs/server-extension-api.md).
 */
export interface IRequestFields {
  version: number;
  fields: IRequestField[];
  duration: {
    help: string;
    units: Record<string, number>;
    no_limit: string[];
    rounding: string;
    max_seconds: number;
  };
  rules: string[];
  /** The history's option to keep the environment's values (not a field of the request). */
  keep_env?: { flag: string; label: string; help: string };
}

/** What a job of a sweep carries in the job list: its sweep, group and place in it. */
export interface IJobSweep {
  id: string;
  group: string;
  /** From 1. */
  index: number;
  total: number;
}

/** One list of a sweep's inputs: its words, or the lines of a file (a lab path). */
/**
 * One list of a sweep's inputs: the values themselves, the lines of a file,
 * or text read as the words after `:::` are (`{1..10}` ranges, quotes).
 */
export type SweepInput = string[] | { file: string } | { words: string };

/** POST sweeps' body: a request with placeholders over its inputs (docs/server-extension-api.md). */
export interface ISweepBody {
  request: ISubmitRequest;
  /** By position, or named (`{name}`); in a dict's order they are positional too. */
  inputs: SweepInput[] | Record<string, SweepInput>;
  group?: string;
  origin?: ISubmitOrigin;
  /** The history keeps the environment's values (as POST jobs' keep_env). */
  keep_env?: boolean;
}

/** POST sweeps with dry_run: how many jobs, and the first of them; nothing submitted. */
export interface ISweepPreview {
  count: number;
  group: string;
  preview: { name: string; command: string }[];
}

/** A sweep's progress (POST sweeps' 202, GET sweeps). */
export interface ISweepProgress {
  sweep: string;
  group: string;
  total: number;
  submitted: number;
  failed: number;
  errors: { index: number; message: string }[];
  created?: number;
  done: boolean;
  count?: number;
}

/** A job record as read, its id made a JobId (the record is fresh: changed in place). */
function jobFrom(record: IJob): IJob {
  record.id = jobIdOf(record.id);
  return record;
}

/** A history record as read, its ids made JobIds (changed in place). */
function historyRecordFrom(record: IHistoryRecord): IHistoryRecord {
  record.id = jobIdOf(record.id);
  if (record.rerun_of !== null && record.rerun_of !== undefined) {
    record.rerun_of = jobIdOf(record.rerun_of);
  }
  return record;
}

/**
 * The flux-hub server extension's endpoints, typed (see
 * docs/server-extension-api.md).
 *
 * Every answer that carries job ids is read exactly (see parseExact), and
 * every id leaves here as a JobId: decimal text, never a number.
 */
export class FluxHubAPI {
  constructor(readonly settings: ServerConnection.ISettings) {}

  cluster(): Promise<IClusterInfo> {
    return requestAPI<IClusterInfo>('cluster', this.settings);
  }

  /** The job list: whole, or what changed since the version `since`. */
  /**
   * The job list, or what changed in it since `since`. `rescan`: have the
   * server read the cluster's complete listing, to find jobs submitted outside
   * flux-hub (it costs the cluster more than a refresh: the Refresh button).
   */
  async jobs(since?: string, rescan = false): Promise<IJobsAnswer> {
    const params = new URLSearchParams();
    if (since !== undefined) {
      params.set('since', since);
    }
    if (rescan) {
      params.set('rescan', '1');
    }
    const text = params.toString();
    const query = text ? `?${text}` : '';
    const answer = await requestAPI<IJobsAnswer>(`jobs${query}`, this.settings);
    answer.jobs = (answer.jobs ?? []).map(jobFrom);
    if (Array.isArray(answer.ids)) {
      answer.ids = answer.ids.map(jobIdOf);
    }
    return answer;
  }

  async job(id: JobId): Promise<IJob> {
    if (isHoldId(id)) {
      // A held job's row (holds.ts): the hold as a record.
      return holdRecord(await this.hold(id));
    }
    return jobFrom(await requestAPI<IJob>(`jobs/${id}`, this.settings));
  }

  /**
   * The description of a job request; asked once (it changes only with
   * flux-hub), asked again after a failure.
   */
  requestFields(): Promise<IRequestFields> {
    if (!this._requestFields) {
      this._requestFields = requestAPI<IRequestFields>(
        'request-fields',
        this.settings
      );
      this._requestFields.catch(() => {
        this._requestFields = null;
      });
    }
    return this._requestFields;
  }

  private _requestFields: Promise<IRequestFields> | null = null;

  /** Submit a job; returns the new job's id. */
  async submit(request: ISubmitRequest): Promise<JobId> {
    const body = await requestAPI<{ id: unknown }>('jobs', this.settings, {
      method: 'POST',
      body: JSON.stringify(request)
    });
    return jobIdOf(body.id);
  }

  /**
   * A page of the person's job history, newest first (GET history): it
   * answers from the person's own records, also when the cluster is down.
   */
  async history(query: IHistoryQuery = {}): Promise<IHistoryPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') {
        params.set(key, String(value));
      }
    }
    const text = params.toString();
    const page = await requestAPI<IHistoryPage>(
      `history${text ? `?${text}` : ''}`,
      this.settings
    );
    page.records = (page.records ?? []).map(historyRecordFrom);
    return page;
  }

  /**
   * Run a recorded job again exactly as it was sent (POST history/rerun);
   * returns the new job's id. A FluxHubError of status 409 carries the
   * sentence saying why it cannot be run again as it was (no request kept,
   * environment values not kept): the form can still run it.
   */
  async rerun(id: JobId, cluster?: string | null): Promise<JobId> {
    const body = await requestAPI<{ id: unknown }>(
      'history/rerun',
      this.settings,
      {
        method: 'POST',
        body: JSON.stringify(cluster ? { id, cluster } : { id })
      }
    );
    return jobIdOf(body.id);
  }

  async output(id: JobId): Promise<string> {
    // Only text: the native parser is exact for it, and quicker on a long output.
    const body = await requestAPI<{ output: string[] }>(
      `jobs/${id}/output`,
      this.settings,
      {},
      JSON.parse
    );
    return body.output.join('');
  }

  /** Follow a job's output as it is written; abort `signal` to stop. */
  streamOutput(
    id: JobId,
    onChunk: (text: string) => void,
    signal: AbortSignal
  ): Promise<void> {
    return streamAPI(
      `jobs/${id}/output/stream`,
      this.settings,
      onChunk,
      signal
    );
  }

  /** How many jobs a sweep makes and its first commands (POST sweeps, dry_run). */
  sweepPreview(body: ISweepBody): Promise<ISweepPreview> {
    return requestAPI<ISweepPreview>('sweeps', this.settings, {
      method: 'POST',
      body: JSON.stringify({ ...body, dry_run: true })
    });
  }

  /** Submit a sweep: the server submits its jobs in the background (202). */
  submitSweep(body: ISweepBody): Promise<ISweepProgress> {
    return requestAPI<ISweepProgress>('sweeps', this.settings, {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  /** The person's sweeps still submitting (GET sweeps?unfinished=1). */
  async unfinishedSweeps(): Promise<ISweepProgress[]> {
    const answer = await requestAPI<{ sweeps: ISweepProgress[] }>(
      'sweeps?unfinished=1',
      this.settings
    );
    return answer.sweeps ?? [];
  }

  /** A new sweep of a sweep's jobs: all, or those that did not complete (202). */
  rerunSweep(
    id: string,
    which: 'all' | 'unsuccessful'
  ): Promise<ISweepProgress> {
    return requestAPI<ISweepProgress>(
      `sweeps/${encodeURIComponent(id)}/rerun`,
      this.settings,
      { method: 'POST', body: JSON.stringify({ which }) }
    );
  }

  /** The person's held jobs, newest first (GET holds): the hub's, passed on. */
  async holds(): Promise<IHold[]> {
    const answer = await requestAPI<{ holds: unknown[] }>(
      'holds',
      this.settings
    );
    return (answer.holds ?? []).map(holdFrom);
  }

  /** One held job (GET holds/<id>). */
  async hold(id: string): Promise<IHold> {
    return holdFrom(
      await requestAPI<unknown>(
        `holds/${encodeURIComponent(id)}`,
        this.settings
      )
    );
  }

  /** Cancel a held job while it waits (DELETE holds/<id>): the hold as it is then. */
  async cancelHold(id: string): Promise<IHold> {
    return holdFrom(
      await requestAPI<unknown>(
        `holds/${encodeURIComponent(id)}`,
        this.settings,
        { method: 'DELETE' }
      )
    );
  }

  /**
   * Submit a job with a `dependency`: the hub holds it until the condition
   * holds (201 {"hold", "state", "after", "name"}).
   */
  async submitHeld(request: ISubmitRequest): Promise<IHeldAnswer> {
    const body = await requestAPI<any>('jobs', this.settings, {
      method: 'POST',
      body: JSON.stringify(request)
    });
    if (!body || typeof body.hold !== 'string') {
      throw new Error(
        'The server submitted the job at once instead of holding it: it does not know dependencies.'
      );
    }
    return heldAnswerFrom(body);
  }

  /** Cancel a job; a held job's row (a hold's id) cancels the hold. */
  async cancel(id: JobId): Promise<string> {
    if (isHoldId(id)) {
      const hold = await this.cancelHold(id);
      if (hold.state !== 'CANCELED') {
        throw new Error(
          `The held job no longer waited: ${hold.state.toLowerCase().replace('_', ' ')}.`
        );
      }
      return 'The held job was cancelled: it will not run.';
    }
    const body = await requestAPI<{ message: string }>(
      `jobs/${id}/cancel`,
      this.settings,
      { method: 'POST' }
    );
    return body.message;
  }
}
