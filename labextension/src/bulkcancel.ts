import { FluxHubAPI, IJob } from './api';
import { formatF58, JobId } from './jobid';
import { commandOf, isActive, isCancellable, statusOf } from './jobs';
import { describe } from './model';
import { FluxHubError } from './request';

/** Cancels sent at once: a 100-job sweep goes to the cluster a few at a time. */
export const CANCEL_CONCURRENCY = 4;

/** What became of one job of a cancel of several. */
export type CancelOutcome = 'cancelled' | 'ended' | 'refused';

export interface ICancelResult {
  id: JobId;
  /** The job's name (or command) as the table showed it. */
  name: string;
  outcome: CancelOutcome;
  /** For 'ended': how it ended (COMPLETED, CANCELED…); for 'refused': why. */
  detail: string;
}

/** The jobs a person is asked about: those a cancel can still stop. */
export function cancellable(jobs: IJob[]): IJob[] {
  return jobs.filter(isCancellable);
}

/** Jobs waiting for resources or a dependency: not running yet. */
export function isWaiting(job: IJob): boolean {
  return isActive(job) && statusOf(job) === 'PENDING';
}

function nameOf(job: IJob): string {
  return job.name || commandOf(job) || formatF58(job.id);
}

/**
 * Cancel `jobs`, at most `concurrency` requests at a time, and say what
 * became of each, in the order given. A refusal is looked into: a job that
 * ended meanwhile (or that the cluster no longer knows) "had already ended";
 * any other refusal keeps the server's sentence. Jobs already ended when
 * asked are not sent at all.
 */
export async function cancelJobs(
  api: FluxHubAPI,
  jobs: IJob[],
  options: {
    concurrency?: number;
    onProgress?: (done: number, total: number) => void;
  } = {}
): Promise<ICancelResult[]> {
  const concurrency = Math.max(1, options.concurrency ?? CANCEL_CONCURRENCY);
  const results: ICancelResult[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const one = async (job: IJob): Promise<ICancelResult> => {
    const name = nameOf(job);
    if (!isCancellable(job)) {
      return { id: job.id, name, outcome: 'ended', detail: statusOf(job) };
    }
    try {
      await api.cancel(job.id);
      return { id: job.id, name, outcome: 'cancelled', detail: '' };
    } catch (error) {
      const refusal = describe(error);
      if (error instanceof FluxHubError && error.status === 404) {
        return { id: job.id, name, outcome: 'ended', detail: 'GONE' };
      }
      // Ended between the list and the cancel? The cluster's record says.
      try {
        const now = await api.job(job.id);
        if (!isCancellable(now)) {
          return { id: job.id, name, outcome: 'ended', detail: statusOf(now) };
        }
      } catch (again) {
        if (again instanceof FluxHubError && again.status === 404) {
          return { id: job.id, name, outcome: 'ended', detail: 'GONE' };
        }
      }
      return { id: job.id, name, outcome: 'refused', detail: refusal };
    }
  };
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await one(jobs[index]);
      done++;
      options.onProgress?.(done, jobs.length);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, worker)
  );
  return results;
}

/** "3 cancelled, 1 had already ended, 1 refused": the counts, none left out but zeros. */
export function summarize(results: ICancelResult[]): string {
  const count = (outcome: CancelOutcome) =>
    results.filter(r => r.outcome === outcome).length;
  const parts = [
    [count('cancelled'), 'cancelled'],
    [count('ended'), 'had already ended'],
    [count('refused'), 'refused']
  ] as const;
  const said = parts.filter(([n]) => n > 0).map(([n, text]) => `${n} ${text}`);
  return said.length ? said.join(', ') : 'No jobs';
}

/** One result as a line: "train ƒ3gDm… cancelled". */
export function resultLine(result: ICancelResult): string {
  const what =
    result.outcome === 'cancelled'
      ? 'cancelled'
      : result.outcome === 'ended'
        ? result.detail === 'GONE'
          ? 'had already ended (the cluster no longer lists it)'
          : `had already ended (${result.detail})`
        : `refused: ${result.detail}`;
  return `${result.name} ${formatF58(result.id)} ${what}`;
}

/** "1 job" or "3 jobs". */
export function jobCount(n: number): string {
  return `${n} job${n === 1 ? '' : 's'}`;
}

/**
 * The rows from `a` to `b` (both included, either order), by their ids in
 * `rows`; none if either is not shown.
 */
export function rangeOf(rows: IJob[], a: JobId, b: JobId): JobId[] {
  const i = rows.findIndex(j => j.id === a);
  const k = rows.findIndex(j => j.id === b);
  if (i < 0 || k < 0) {
    return [];
  }
  return rows.slice(Math.min(i, k), Math.max(i, k) + 1).map(j => j.id);
}
