import { ServerConnection } from '@jupyterlab/services';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { FluxHubAPI, IClusterInfo, IJob } from './api';
import { isActive } from './jobs';
import { FluxHubError } from './request';

/** The shortest refresh the settings allow, in seconds. */
export const MIN_INTERVAL = 1;

/**
 * The user's jobs and cluster, kept fresh by one Poll.
 *
 * While the panel is visible the poll reads the cluster summary and the job
 * list. While it is hidden it stands by, except that it keeps an eye on the
 * jobs it saw running (one small request each) so that notifications still
 * tell when they end; with notifications off, or nothing running, it sleeps.
 * Failures make the poll back off; the first success clears the banner.
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

  /** All known jobs of the user, in the server's order. */
  get jobs(): IJob[] {
    return this._jobs;
  }

  /** What stops the panel from showing fresh data, as the server said it; null when all is well. */
  get error(): string | null {
    return this._error;
  }

  /** True until the first refresh answered, one way or the other. */
  get loading(): boolean {
    return this._loading;
  }

  getJob(id: number): IJob | undefined {
    return this._byId.get(id);
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

  /** Watch a job just submitted, so its end is reported even if it is quick. */
  watch(id: number): void {
    this._watched.add(id);
    void this.poll.refresh();
  }

  /** Refresh now and wait for it. */
  async refresh(): Promise<void> {
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
    this._setJobs(await this.api.jobs());
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
   * Take a fresh list, keeping the old object of every job that was already
   * finished: finished jobs never change, and unchanged objects let the table
   * skip re-rendering their rows.
   */
  private _setJobs(fresh: IJob[]): void {
    const byId = new Map<number, IJob>();
    const jobs = fresh.map(job => {
      const old = this._byId.get(job.id);
      const kept = old && !isActive(old) && !isActive(job) ? old : job;
      byId.set(job.id, kept);
      this._noteState(kept);
      return kept;
    });
    this._jobs = jobs;
    this._byId = byId;
  }

  private _noteState(job: IJob): void {
    if (isActive(job)) {
      // Jobs already running when the session started are watched too; those
      // already finished then are history, not news.
      this._watched.add(job.id);
    } else if (this._watched.delete(job.id)) {
      this._jobFinished.emit(job);
    }
  }

  private _interval: number;
  private _visible = false;
  private _loading = true;
  private _error: string | null = null;
  private _cluster: IClusterInfo | null = null;
  private _jobs: IJob[] = [];
  private _byId = new Map<number, IJob>();
  private _watched = new Set<number>();
  private _changed = new Signal<this, void>(this);
  private _jobFinished = new Signal<this, IJob>(this);
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
