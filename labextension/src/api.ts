import { ServerConnection } from '@jupyterlab/services';

import { requestAPI, streamAPI } from './request';

/** GET cluster: who the user is on which cluster, and whether it answers. */
export interface IClusterInfo {
  account: string;
  url: string;
  nodes: string[];
  reachable: boolean;
  error: string | null;
}

/**
 * A job as flux-restful's GET /v1/jobs/{id} describes it, plus flux-hub's name.
 *
 * Keys present depend on the state: a running job has empty `result` and
 * `returncode`, and no `t_inactive` yet.
 */
export interface IJob {
  id: number;
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
  [key: string]: unknown;
}

/**
 * GET jobs: the job list, whole or as what changed since a version.
 *
 * A complete answer holds the whole list in the server's order. A delta (the
 * answer to `?since=`) holds only the jobs new or changed since then, and
 * `ids`, the whole list's ids in order: a listed id not in `jobs` is
 * unchanged, and a job not listed is gone. `names` are the names given in
 * flux-hub (by id), which take the place of the records' Flux names: in a
 * delta, only those given or changed since `since`.
 */
export interface IJobsAnswer {
  /** Opaque; pass it back as `since` on the next refresh. */
  version: string;
  complete: boolean;
  jobs: IJob[];
  /** The whole list's ids in order; only in a delta (`complete` false). */
  ids?: number[];
  names: Record<string, string>;
}

/** POST jobs: what the submit form sends. */
export interface ISubmitRequest {
  command: string;
  name?: string;
  num_tasks?: number;
  cores_per_task?: number;
  gpus_per_task?: number;
  num_nodes?: number;
  exclusive?: boolean;
  workdir?: string;
  runtime?: number;
  envars?: Record<string, string>;
}

/** The flux-hub server extension's endpoints (Interface 4), typed. */
export class FluxHubAPI {
  constructor(readonly settings: ServerConnection.ISettings) {}

  cluster(): Promise<IClusterInfo> {
    return requestAPI<IClusterInfo>('cluster', this.settings);
  }

  /** The job list: whole, or what changed since the version `since`. */
  jobs(since?: string): Promise<IJobsAnswer> {
    const query =
      since === undefined ? '' : `?since=${encodeURIComponent(since)}`;
    return requestAPI<IJobsAnswer>(`jobs${query}`, this.settings);
  }

  job(id: number): Promise<IJob> {
    return requestAPI<IJob>(`jobs/${id}`, this.settings);
  }

  async submit(request: ISubmitRequest): Promise<number> {
    const body = await requestAPI<{ id: number }>('jobs', this.settings, {
      method: 'POST',
      body: JSON.stringify(request)
    });
    return body.id;
  }

  async output(id: number): Promise<string> {
    const body = await requestAPI<{ output: string[] }>(
      `jobs/${id}/output`,
      this.settings
    );
    return body.output.join('');
  }

  /** Follow a job's output as it is written; abort `signal` to stop. */
  streamOutput(
    id: number,
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

  async cancel(id: number): Promise<string> {
    const body = await requestAPI<{ message: string }>(
      `jobs/${id}/cancel`,
      this.settings,
      { method: 'POST' }
    );
    return body.message;
  }
}
