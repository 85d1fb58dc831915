import { ServerConnection } from '@jupyterlab/services';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { FluxHubAPI, IClusterInfo, IJob, IJobsAnswer } from './api';
import { holdJob, IHeldAnswer, IHold, WAITING_STATES } from './holds';
import { JobId } from './jobid';
import { isActive } from './jobs';
import { FluxHubError } from './request';

/** The shortest refresh the settings allow, in seconds. */
export const MIN_INTERVAL = 1;

/** Held jobs are read at most this often (ms), unless one waits or was just held. */
export const HOLDS_INTERVAL = 10000;
/** After the holds could not be read (no hub holds jobs here), ask again this late (ms). */
export const HOLDS_RETRY = 60000;
/** At most this many jobs of released holds looked up in one refresh. */
const RELEASED_LOOKUPS = 20;

/**
 * The user's jobs and cluster, kept fresh by one Poll.
 *
 * While the panel is visible the poll reads the cluster summary and the job
 * list. While it is hidden it stands by, except that it keeps an eye on the
 * jobs it saw running (one small request each) so that notifications still
 * tell when they end; with notifications off, or nothing running, it sleeps.
 * Failures make the poll back off; the first success clears the banner.
 *
 * The job list is read as deltas: every refresh passes the version of the
 * last answer, and the server sends only the jobs that changed since then
 * (see `_merge`).
 */
export class JobsModel {
  constructor(api: FluxHubAPI, options: JobsModel.IOptions = {}) {
    this.api = api;
    this._interval = Math.max(options.interval ?? 5, MIN_INTERVAL);
    this.poll = new Poll({
      auto: options.auto ?? true,
      factory: () => this._tick(),
      frequency: this._frequency(),
      name: 'flux-hub:jobs',
      standby: () => this._standby() || 'when-hidden'
    });
  }

  readonly api: FluxHubAPI;
  readonly poll: Poll;

  /** Emitted after every refresh, successful or not. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once when a job this session saw active (or submitted) ends. */
  get jobFinished(): ISignal<this, IJob> {
    return this._jobFinished;
  }

  get cluster(): IClusterInfo | null {
    return this._cluster;
  }

  /**
   * All known jobs of the user, in the server's order; then the rows of
   * held jobs (holds.ts: waiting, never run, cancelled), and the jobs of
   * holds released since that the listing does not show yet.
   */
  get jobs(): IJob[] {
    if (this._extra.length === 0) {
      return this._jobs;
    }
    const [jobs, extra, all] = this._all ?? [null, null, null];
    if (jobs === this._jobs && extra === this._extra) {
      return all!;
    }
    const made = [...this._jobs, ...this._extra];
    this._all = [this._jobs, this._extra, made];
    return made;
  }

  /** Emitted once when a held job this session saw waiting can no longer run (NEVER_RUN). */
  get holdNeverRun(): ISignal<this, IHold> {
    return this._holdNeverRun;
  }

  /** The person's held jobs as last read (GET holds), newest first. */
  get holds(): IHold[] {
    return this._holds;
  }

  /**
   * A job was held (POST jobs with a dependency): shown at once, and the
   * holds read at the next refresh, which starts now.
   */
  held(answer: IHeldAnswer, request: Record<string, unknown> = {}): void {
    if (!this._holds.some(h => h.hold === answer.hold)) {
      const now = Date.now() / 1000;
      this._setHolds([
        {
          hold: answer.hold,
          request,
          after: answer.after,
          name: answer.name,
          state: answer.state || 'DEPEND',
          job: null,
          reason: null,
          created: now,
          updated: now
        },
        ...this._holds
      ]);
      this._updateExtra();
      this._changed.emit();
    }
    this._holdsWanted = true;
    void this.poll.refresh();
  }

  /** What stops the panel from showing fresh data, as the server said it; null when all is well. */
  get error(): string | null {
    return this._error;
  }

  /** True until the first refresh answered, one way or the other. */
  get loading(): boolean {
    return this._loading;
  }

  getJob(id: JobId): IJob | undefined {
    return this._byId.get(id) ?? this._extra.find(job => job.id === id);
  }

  /** Refresh interval in seconds. */
  get interval(): number {
    return this._interval;
  }
  set interval(seconds: number) {
    this._interval = Math.max(seconds, MIN_INTERVAL);
    this.poll.frequency = this._frequency();
  }

  /** Whether the job list is on screen; hiding it puts the poll on standby. */
  get visible(): boolean {
    return this._visible;
  }
  set visible(value: boolean) {
    if (value === this._visible) {
      return;
    }
    this._visible = value;
    if (value) {
      void this.poll.refresh();
    }
  }

  /** Whether ends of jobs are watched while the panel is hidden. */
  watchWhileHidden = true;

  /**
   * Report no end of these jobs: a cancel of several says itself what became
   * of each, once, rather than a notification per job. `quiet` false: report
   * them again (a cancel the cluster refused).
   */
  quietEnds(ids: Iterable<JobId>, quiet = true): void {
    for (const id of ids) {
      if (quiet) {
        this._quiet.add(id);
      } else {
        this._quiet.delete(id);
      }
    }
  }

  /** Watch a job just submitted, so its end is reported even if it is quick. */
  watch(id: JobId): void {
    this._watched.add(id);
    void this.poll.refresh();
  }

  /**
   * Refresh now and wait for it. `rescan` (the Refresh button): have the
   * server read the cluster's complete listing too, so jobs submitted outside
   * flux-hub show at once rather than at its next slow listing.
   */
  async refresh(options: { rescan?: boolean } = {}): Promise<void> {
    if (options.rescan) {
      this._rescan = true;
    }
    await this.poll.refresh();
    await this.poll.tick;
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  private _frequency(): IPoll.Frequency {
    const interval = this._interval * 1000;
    // Back off on failures up to about a minute, so a stopped cluster is
    // noticed coming back within that time without hammering it meanwhile.
    return { interval, backoff: true, max: Math.max(interval * 6, 60000) };
  }

  private _standby(): boolean {
    if (this._visible) {
      return false;
    }
    return !(this.watchWhileHidden && this._watched.size > 0);
  }

  private async _tick(): Promise<void> {
    try {
      if (this._visible) {
        await this._refreshAll();
      } else {
        await this._refreshWatched();
      }
      this._error = null;
    } catch (error) {
      this._error = describe(error);
      throw error;
    } finally {
      this._loading = false;
      this._changed.emit();
    }
  }

  private async _refreshAll(): Promise<void> {
    const cluster = await this.api.cluster();
    this._cluster = cluster;
    if (!cluster.reachable) {
      throw new Error(
        cluster.error || `The Flux cluster at ${cluster.url} does not answer.`
      );
    }
    await this._refreshJobs();
    await this._refreshHolds();
    if (cluster.error) {
      throw new Error(cluster.error);
    }
  }

  private async _refreshWatched(): Promise<void> {
    for (const id of Array.from(this._watched)) {
      let job: IJob;
      try {
        job = await this.api.job(id);
      } catch (error) {
        // Gone (a restarted cluster forgets its jobs): nothing left to watch.
        if (error instanceof FluxHubError && error.status === 404) {
          this._watched.delete(id);
          continue;
        }
        throw error;
      }
      const old = this._byId.get(id);
      const index = old ? this._jobs.indexOf(old) : -1;
      if (index >= 0) {
        this._jobs = this._jobs.slice();
        this._jobs[index] = job;
      }
      this._byId.set(id, job);
      this._noteState(job);
    }
  }

  /**
   * Read the job list: what changed since the last answer's version, or all
   * of it when there is none yet. An error keeps the version, so the next
   * refresh may still ask for a delta.
   */
  private async _refreshJobs(): Promise<void> {
    const answer = await this._readJobs(this._version ?? undefined);
    if (!answer || this._merge(answer)) {
      return;
    }
    // The delta names a job that was neither sent nor known here (it should
    // not happen): start again from the whole list. Until that answers, the
    // version is worthless, also to the next refresh should this one fail.
    this._version = null;
    const fresh = await this._readJobs();
    if (fresh) {
      // Taken as the whole list whatever it says: there was no `since`.
      this._merge({ ...fresh, complete: true });
    }
  }

  /**
   * One job-list request; null if a request started later has already been
   * answered (two poll ticks can overlap): this answer is older.
   */
  private async _readJobs(since?: string): Promise<IJobsAnswer | null> {
    const request = ++this._jobsRequests;
    const rescan = this._rescan;
    const answer = await this.api.jobs(since, rescan);
    if (rescan) {
      this._rescan = false; // asked for and answered
    }
    if (request <= this._jobsApplied) {
      return null;
    }
    this._jobsApplied = request;
    return answer;
  }

  /**
   * Take an answer of the job list. A complete one replaces the list; a delta
   * lists the ids in order (or none: the same as before), and a job it does
   * not send is unchanged, so the
   * object already here stays. The old object of a job that was finished and
   * still is stays too (finished jobs never change): unchanged objects let
   * the table skip re-rendering their rows. Names given in flux-hub replace
   * the records' own names.
   *
   * Returns false, changing nothing, if a delta lists a job that is neither
   * in it nor known here, or sends a new job without the ids.
   */
  private _merge(answer: IJobsAnswer): boolean {
    const complete = answer.complete !== false;
    const sent = new Map<JobId, IJob>();
    for (const job of answer.jobs) {
      sent.set(job.id, job);
    }
    // A delta without ids keeps the list's jobs and order: it may only
    // change jobs already here.
    const ids = complete
      ? answer.jobs.map(job => job.id)
      : (answer.ids ?? this._jobs.map(job => job.id));
    if (
      !complete &&
      (ids.some(id => !sent.has(id) && !this._byId.has(id)) ||
        (!answer.ids && answer.jobs.some(job => !this._byId.has(job.id))))
    ) {
      return false;
    }
    // Keyed by the id's decimal text, as the ids are.
    const given = new Map<JobId, string>();
    for (const [key, name] of Object.entries(answer.names ?? {})) {
      if (typeof name === 'string') {
        given.set(key, name);
      }
    }
    const names = new Map<JobId, string>();
    const byId = new Map<JobId, IJob>();
    const jobs = ids.map(id => {
      const name =
        given.get(id) ?? (complete ? undefined : this._names.get(id));
      if (name !== undefined) {
        names.set(id, name);
      }
      const old = this._byId.get(id);
      const record = sent.get(id);
      let job: IJob;
      if (record) {
        const named = name === undefined ? record : { ...record, name };
        job =
          old && !isActive(old) && !isActive(named) && old.name === named.name
            ? old
            : named;
      } else {
        // Unchanged (a delta only): the object here, renamed if need be.
        job =
          name === undefined || old!.name === name ? old! : { ...old!, name };
      }
      byId.set(id, job);
      this._noteState(job);
      return job;
    });
    const same =
      jobs.length === this._jobs.length &&
      jobs.every((job, i) => job === this._jobs[i]);
    if (!same) {
      this._jobs = jobs;
    }
    this._byId = byId;
    this._names = names;
    this._version = typeof answer.version === 'string' ? answer.version : null;
    return true;
  }

  /**
   * Read the held jobs when due: at most every HOLDS_INTERVAL, at every
   * refresh while one waits, and right after one was held. They never stop
   * the jobs from showing: a failure (a server whose hub holds no jobs) keeps
   * the last ones and asks again after HOLDS_RETRY.
   */
  private async _refreshHolds(now = Date.now()): Promise<void> {
    const waiting = this._holds.some(h => WAITING_STATES.has(h.state));
    const due = this._holdsFailed
      ? now - this._holdsReadAt >= HOLDS_RETRY
      : waiting || now - this._holdsReadAt >= HOLDS_INTERVAL;
    if (due || this._holdsWanted) {
      this._holdsWanted = false;
      this._holdsReadAt = now;
      try {
        this._setHolds(await this.api.holds());
        this._holdsFailed = false;
      } catch (error) {
        this._holdsFailed = true;
        this._holdsError = describe(error);
      }
    }
    await this._followReleased();
    this._updateExtra();
  }

  /** Why the held jobs could not be read, the last time they could not; null once they were. */
  get holdsError(): string | null {
    return this._holdsFailed ? this._holdsError : null;
  }

  private _setHolds(holds: IHold[]): void {
    const before = new Map(this._holds.map(h => [h.hold, h.state]));
    this._holds = holds;
    for (const hold of holds) {
      if (
        hold.state === 'NEVER_RUN' &&
        WAITING_STATES.has(before.get(hold.hold) ?? '')
      ) {
        this._holdNeverRun.emit(hold);
      }
    }
    this._holdRows = holds
      .map(holdJob)
      .filter((job): job is IJob => job !== null);
  }

  /**
   * The jobs of released holds (SUBMITTED) that the listing does not show
   * yet (the hub submitted them, not this server: a listing finds them at
   * its next complete read): looked up one by one while they are active, so
   * the job's row takes the hold's place at once.
   */
  private async _followReleased(): Promise<void> {
    const released = new Map<JobId, IJob>();
    let lookups = 0;
    for (const hold of this._holds) {
      const id = hold.job;
      if (
        hold.state !== 'SUBMITTED' ||
        !id ||
        this._byId.has(id) ||
        this._gone.has(id)
      ) {
        continue;
      }
      let job = this._released.get(id);
      if ((!job || isActive(job)) && lookups < RELEASED_LOOKUPS) {
        lookups++;
        try {
          const fresh = await this.api.job(id);
          job = hold.name ? { ...fresh, name: hold.name } : fresh;
        } catch (error) {
          if (error instanceof FluxHubError && error.status === 404) {
            this._gone.add(id); // the cluster no longer knows it
            continue;
          }
        }
      }
      if (job) {
        released.set(id, job);
        this._noteState(job);
      }
    }
    this._released = released;
  }

  /** The rows after the listing's: holds, then released jobs not listed. */
  private _updateExtra(): void {
    const old = this._extra;
    const extra = [
      ...this._holdRows,
      ...Array.from(this._released.values()).filter(
        job => !this._byId.has(job.id)
      )
    ].map(job => old.find(o => sameRow(job, o)) ?? job);
    const same =
      extra.length === this._extra.length &&
      extra.every((job, i) => sameRow(job, this._extra[i]));
    if (!same) {
      this._extra = extra;
    }
  }

  private _noteState(job: IJob): void {
    if (isActive(job)) {
      // Jobs already running when the session started are watched too; those
      // already finished then are history, not news.
      this._watched.add(job.id);
    } else if (this._watched.delete(job.id) && !this._quiet.has(job.id)) {
      this._jobFinished.emit(job);
    } else {
      this._quiet.delete(job.id);
    }
  }

  private _interval: number;
  private _visible = false;
  private _loading = true;
  private _error: string | null = null;
  private _cluster: IClusterInfo | null = null;
  private _jobs: IJob[] = [];
  private _byId = new Map<JobId, IJob>();
  /** Names given in flux-hub, by job id: deltas send only new ones. */
  private _names = new Map<JobId, string>();
  /** The last answer's version, passed back to get what changed since. */
  private _version: string | null = null;
  /** Job list requests started, and the latest of them whose answer was taken. */
  private _jobsRequests = 0;
  private _jobsApplied = 0;
  /** The next job-list request asks for the complete listing (the Refresh button). */
  private _rescan = false;
  private _watched = new Set<JobId>();
  /** Held jobs (GET holds), their rows, and when they were last asked for. */
  private _holds: IHold[] = [];
  private _holdRows: IJob[] = [];
  private _holdsReadAt = -Infinity;
  private _holdsWanted = false;
  private _holdsFailed = false;
  private _holdsError: string | null = null;
  /** Jobs of released holds, by job id, as last looked up. */
  private _released = new Map<JobId, IJob>();
  /** Jobs of released holds that the cluster does not know (404): not asked again. */
  private _gone = new Set<JobId>();
  /** The rows after the listing's (see _updateExtra), and the whole list made of both. */
  private _extra: IJob[] = [];
  private _all: [IJob[], IJob[], IJob[]] | null = null;
  /** Jobs whose end is not to be reported (see quietEnds). */
  private _quiet = new Set<JobId>();
  private _changed = new Signal<this, void>(this);
  private _jobFinished = new Signal<this, IJob>(this);
  private _holdNeverRun = new Signal<this, IHold>(this);
}

/**
 * Whether two rows show the same: the same object, or a held job's row made
 * anew from an unchanged hold (kept, so the table does not redraw it).
 */
function sameRow(a: IJob, b: IJob): boolean {
  if (a === b) {
    return true;
  }
  return (
    !!a.hold &&
    a.id === b.id &&
    a.hold_state === b.hold_state &&
    a.name === b.name &&
    a.reason === b.reason &&
    a.command === b.command &&
    JSON.stringify(a.after) === JSON.stringify(b.after)
  );
}

/** A sentence for the banner: the server's own message where there is one. */
export function describe(error: unknown): string {
  if (error instanceof FluxHubError) {
    return error.message;
  }
  if (error instanceof ServerConnection.NetworkError) {
    return 'The Jupyter server does not answer; is it still running?';
  }
  return error instanceof Error ? error.message : String(error);
}

export namespace JobsModel {
  export interface IOptions {
    /** Refresh interval in seconds (default 5). */
    interval?: number;
    /** Start polling at once (default true). */
    auto?: boolean;
  }
}
