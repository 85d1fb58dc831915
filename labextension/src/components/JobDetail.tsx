import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ReactWidget } from '@jupyterlab/ui-components';

import { IJob } from '../api';
import { formatF58, JobId } from '../jobid';
import {
  commandOf,
  formatDuration,
  formatFullTime,
  isActive,
  isCancellable,
  statusOf
} from '../jobs';
import { looksLikeShell } from '../shell';
import { describe, JobsModel } from '../model';
import { positionWords, startWords, waitingOf } from '../waiting';

/**
 * One job in the main area: every field the server gives, its output, and a
 * cancel button while it can still be cancelled.
 *
 * A running job's output is followed through the streamed endpoint; closing
 * the tab aborts that request. When the stream ends the whole output is read
 * once more, so what is shown is what the server kept.
 */
export class JobDetail extends ReactWidget {
  constructor(options: JobDetail.IOptions) {
    super();
    this.model = options.model;
    this.jobId = options.id;
    this._openFolder = options.openFolder ?? null;
    this.addClass('jp-FluxHub-detail');
    this.title.label = `Flux job ${formatF58(options.id)}`;
    this.title.closable = true;
    this._job = this.model.getJob(this.jobId) ?? null;
    this.model.changed.connect(this._onModelChanged, this);
    void this._start();
  }

  readonly model: JobsModel;
  readonly jobId: JobId;

  get job(): IJob | null {
    return this._job;
  }

  /** The output shown so far. */
  get output(): string {
    return this._output;
  }

  /** Whether the output is being followed live right now. */
  get following(): boolean {
    return this._following;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._abort?.abort();
    this.model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  /** Ask for confirmation, then cancel the job. */
  async cancel(): Promise<void> {
    const job = this._job;
    if (!job) {
      return;
    }
    const result = await showDialog({
      title: 'Cancel Flux job?',
      body: `Cancel job ${formatF58(job.id)} (${job.name || commandOf(job)})? It will be stopped and cannot be resumed.`,
      buttons: [
        Dialog.cancelButton({ label: 'Keep running' }),
        Dialog.warnButton({ label: 'Cancel job' })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      this._notice = await this.model.api.cancel(job.id);
      this._error = null;
    } catch (error) {
      this._error = describe(error);
    }
    this.update();
    await this._reloadJob();
  }

  protected render(): JSX.Element {
    return (
      <JobDetailView
        job={this._job}
        jobId={this.jobId}
        output={this._output}
        following={this._following}
        listed={this.model.getJob(this.jobId) ?? null}
        legacy={this.model.cluster?.legacy === true}
        error={this._error}
        notice={this._notice}
        onCancel={() => void this.cancel()}
        onOpenFolder={this._openFolder ?? undefined}
      />
    );
  }

  private async _start(): Promise<void> {
    await this._reloadJob();
    if (this.isDisposed || !this._job) {
      return;
    }
    if (isActive(this._job)) {
      await this._follow();
    } else {
      await this._readOutput();
    }
  }

  private async _follow(): Promise<void> {
    this._abort = new AbortController();
    this._following = true;
    this.update();
    try {
      await this.model.api.streamOutput(
        this.jobId,
        chunk => {
          this._output += chunk;
          this.update();
        },
        this._abort.signal
      );
    } catch (error) {
      if (this._abort.signal.aborted) {
        return;
      }
      this._error = `Following the output stopped: ${describe(error)}`;
    } finally {
      this._following = false;
    }
    if (this.isDisposed) {
      return;
    }
    await this._reloadJob();
    await this._readOutput();
  }

  private async _readOutput(): Promise<void> {
    try {
      const output = await this.model.api.output(this.jobId);
      if (output || !this._output) {
        this._output = output;
      }
    } catch (error) {
      this._error = describe(error);
    }
    if (!this.isDisposed) {
      this.update();
    }
  }

  private async _reloadJob(): Promise<void> {
    try {
      this._job = await this.model.api.job(this.jobId);
      this.title.label = `${this._job.name || 'Flux job'} ${formatF58(this.jobId)}`;
    } catch (error) {
      this._error = describe(error);
    }
    if (!this.isDisposed) {
      this.update();
    }
  }

  private _onModelChanged(): void {
    const fresh = this.model.getJob(this.jobId);
    // The list carries the same fields; take it only while the job is active,
    // so the detailed record read last stays once the job is over.
    if (fresh && fresh !== this._job && this._job && isActive(this._job)) {
      const merged: IJob = { ...this._job, ...fresh };
      if (!('waiting' in fresh)) {
        // It no longer waits: the reason read earlier is history.
        delete merged.waiting;
      }
      this._job = merged;
      this.update();
    } else if (this._job && waitingOf(this._job)) {
      // "Should start: ... (in 12 min)" counts down with the refreshes.
      this.update();
    }
  }

  private _job: IJob | null;
  private _output = '';
  private _following = false;
  private _error: string | null = null;
  private _notice: string | null = null;
  private _abort: AbortController | null = null;
  private _openFolder: ((path: string) => void) | null;
}

export namespace JobDetail {
  export interface IOptions {
    model: JobsModel;
    id: JobId;
    /** Show a folder (a path relative to the server's root) in the file browser. */
    openFolder?: (path: string) => void;
  }
}

interface IJobDetailViewProps {
  job: IJob | null;
  /**
   * The job as the job list has it: where the server reads the cluster
   * through the hub's reader, its `waiting` knows the job's place in
   * everyone's queue, which the job's own record does not.
   */
  listed?: IJob | null;
  jobId: JobId;
  output: string;
  following: boolean;
  /** The legacy flux-restful-api: output comes only once the job has ended. */
  legacy?: boolean;
  error: string | null;
  notice: string | null;
  onCancel: () => void;
  /** Show a folder (relative to the server's root) in the file browser. */
  onOpenFolder?: (path: string) => void;
}

export function JobDetailView(props: IJobDetailViewProps): JSX.Element {
  const { job, output } = props;
  const pre = React.useRef<HTMLPreElement>(null);
  const atBottom = React.useRef(true);

  // Keep the newest output in view while following, unless the reader
  // scrolled up to look at something.
  React.useLayoutEffect(() => {
    if (pre.current && atBottom.current) {
      pre.current.scrollTop = pre.current.scrollHeight;
    }
  }, [output]);

  const status = job ? statusOf(job) : 'LOADING';
  return (
    <div className="jp-FluxHub-detailBody">
      <div className="jp-FluxHub-detailHeader">
        <h2>
          {job?.name || 'Job'}{' '}
          <span className="jp-FluxHub-jobId" title={props.jobId}>
            {formatF58(props.jobId)}
          </span>
        </h2>
        <span
          className={`jp-FluxHub-badge jp-FluxHub-status-${status.toLowerCase()}`}
          aria-label={`Status ${status}`}
        >
          {status}
        </span>
        {job && isCancellable(job) && (
          <button
            className="jp-mod-styled jp-mod-warn jp-FluxHub-cancel"
            onClick={props.onCancel}
          >
            Cancel job
          </button>
        )}
      </div>
      <JobIds id={props.jobId} />
      {props.error && (
        <div className="jp-FluxHub-banner" role="alert">
          {props.error}
        </div>
      )}
      {props.notice && (
        <div className="jp-FluxHub-notice" role="status">
          {props.notice}
        </div>
      )}
      {job && <StartFailure job={job} />}
      {job && <Waiting job={job} listed={props.listed ?? null} />}
      {job && <JobSummary job={job} onOpenFolder={props.onOpenFolder} />}
      <h3>
        Output{' '}
        <span className="jp-FluxHub-following" role="status">
          {props.following
            ? props.legacy
              ? '(shown when the job ends: this server cannot stream it)'
              : '(following live)'
            : ''}
        </span>
      </h3>
      <pre
        ref={pre}
        className="jp-FluxHub-output"
        aria-label="Job output"
        tabIndex={0}
        onScroll={event => {
          const node = event.currentTarget;
          atBottom.current =
            node.scrollHeight - node.scrollTop - node.clientHeight < 8;
        }}
      >
        {output || (props.following ? '' : 'No output.')}
      </pre>
      {job && <AllFields job={job} />}
    </div>
  );
}

/**
 * The id both ways: F58 as `flux jobs` shows it, and the decimal that other
 * tools and the API take (one click selects it whole, to copy).
 */
function JobIds(props: { id: JobId }): JSX.Element {
  return (
    <div className="jp-FluxHub-jobIds">
      <span className="jp-FluxHub-label">Job ID</span>{' '}
      <span className="jp-FluxHub-jobIdF58" aria-label="Job ID (F58)">
        {formatF58(props.id)}
      </span>{' '}
      <span className="jp-FluxHub-label">decimal</span>{' '}
      <span
        className="jp-FluxHub-jobIdDecimal"
        aria-label="Job ID (decimal)"
        title="Click to select, then copy"
      >
        {props.id}
      </span>
    </div>
  );
}

/**
 * Why a job never ran, at the top: Flux's own words for a job whose program
 * could not start (exception "exec") or that could never be scheduled
 * ("alloc"), and a hint when the command was shell syntax, which runs as a
 * program ("for: No such file or directory").
 */
function StartFailure(props: { job: IJob }): JSX.Element | null {
  const { job } = props;
  const exception = job.exception;
  if (!exception?.occurred || !['exec', 'alloc'].includes(exception.type)) {
    return null;
  }
  // The program Flux could not start, from its note ("start failed: for: ..."):
  // the job record itself need not hold the command
  const program = /start failed: (.+?): /.exec(exception.note)?.[1] ?? '';
  const shell =
    exception.type === 'exec' &&
    (looksLikeShell(commandOf(job)) || looksLikeShell(program));
  return (
    <div className="jp-FluxHub-banner jp-FluxHub-startFailure" role="alert">
      <strong>
        {exception.type === 'exec'
          ? 'The job failed to start.'
          : 'The cluster cannot run this job.'}
      </strong>{' '}
      {exception.note}
      {shell && (
        <div className="jp-FluxHub-startHint">
          The command is shell syntax, but a command runs as a program, not in a
          shell. Submit it again as a shell script (Run: a shell script), or as{' '}
          <code>bash -c '…'</code>.
        </div>
      )}
    </div>
  );
}

/**
 * Why a pending job waits, its place in the queue and when the scheduler
 * expects it to start, in sentences, at the top: what a person opens a
 * waiting job to learn.
 */
function Waiting(props: {
  job: IJob;
  listed: IJob | null;
}): JSX.Element | null {
  const own = waitingOf(props.job);
  if (!own) {
    return null;
  }
  const listed = props.listed ? waitingOf(props.listed) : null;
  // The list's answer sees the whole queue; the job's own record may not.
  const waiting =
    listed && (own.position === null || listed.position !== null)
      ? listed
      : own;
  const position = positionWords(waiting);
  const start = startWords(waiting);
  return (
    <div className="jp-FluxHub-waiting" role="status" aria-label="Why it waits">
      <div className="jp-FluxHub-waitingReason">
        <span className="jp-FluxHub-label">Why it waits:</span>{' '}
        {waiting.reason || 'the server does not say.'}
      </div>
      {position && (
        <div className="jp-FluxHub-waitingPosition">
          <span className="jp-FluxHub-label">Position:</span> {position}
        </div>
      )}
      {start && (
        <div className="jp-FluxHub-waitingStart">
          <span className="jp-FluxHub-label">Should start:</span> {start}
        </div>
      )}
    </div>
  );
}

/** Fields a person reads first, in this order; every other field follows. */
const SUMMARY: [string, (job: IJob) => string][] = [
  ['Command', commandOf],
  ['State', job => job.state],
  ['Result', job => job.result || ''],
  ['Return code', job => String(job.returncode ?? '')],
  ['Nodes', job => String(job.nnodes ?? '')],
  ['Tasks', job => String(job.ntasks ?? '')],
  ['Cores', job => String(job.ncores ?? '')],
  ['Node list', job => job.nodelist ?? ''],
  ['Runtime', job => formatDuration(job.runtime)],
  [
    'Sweep',
    job =>
      job.sweep
        ? `${job.sweep.group} (${job.sweep.index} of ${job.sweep.total})`
        : ''
  ],
  ['Submitted', job => formatFullTime(job.t_submit)],
  ['Started', job => formatFullTime(job.t_run)],
  ['Finished', job => formatFullTime(job.t_inactive)],
  [
    'Exception',
    job =>
      job.exception?.occurred
        ? `${job.exception.type}: ${job.exception.note}`
        : ''
  ]
];

function JobSummary(props: {
  job: IJob;
  onOpenFolder?: (path: string) => void;
}): JSX.Element {
  const summary: [string, React.ReactNode][] = SUMMARY.map(
    ([label, get]) => [label, get(props.job)] as [string, string]
  ).filter(([, value]) => value !== '');
  const workdir = workingDirectory(props);
  if (workdir) {
    // Right after the command (first when there is none): where it ran
    const command = summary.findIndex(([label]) => label === 'Command');
    summary.splice(command + 1, 0, ['Working directory', workdir]);
  }
  return (
    <table className="jp-FluxHub-summary" aria-label="Job summary">
      <tbody>
        {summary.map(([label, value]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Where the job ran, as the person's lab sees it, with a link that shows the
 * folder in the file browser; the cluster's own path when the lab cannot see
 * it (or the server does not say). Null when the record has neither.
 */
function workingDirectory(props: {
  job: IJob;
  onOpenFolder?: (path: string) => void;
}): JSX.Element | null {
  const { job, onOpenFolder } = props;
  const cluster = typeof job.cwd === 'string' ? job.cwd : '';
  const lab = typeof job.lab_workdir === 'string' ? job.lab_workdir : '';
  const browserPath =
    lab && typeof job.browser_path === 'string' ? job.browser_path : null;
  if (!lab && !cluster) {
    return null;
  }
  const elsewhere =
    lab && cluster && cluster !== lab ? (
      <span className="jp-FluxHub-clusterPath">
        {' '}
        (on the cluster: {cluster})
      </span>
    ) : null;
  if (browserPath === null) {
    return (
      <>
        {lab || cluster}
        {elsewhere}
      </>
    );
  }
  // A real link (it opens the folder in a new tab too); a click shows the
  // folder in this lab's file browser.
  const href = URLExt.join(
    PageConfig.getBaseUrl(),
    'lab/tree',
    URLExt.encodeParts(browserPath)
  );
  return (
    <>
      <a
        href={href}
        className="jp-FluxHub-folderLink"
        title="Show this folder in the file browser"
        onClick={event => {
          if (onOpenFolder) {
            event.preventDefault();
            onOpenFolder(browserPath);
          }
        }}
      >
        {lab}
      </a>
      {elsewhere}
    </>
  );
}

/** Every field exactly as the server gave it, below the output. */
function AllFields(props: { job: IJob }): JSX.Element {
  const { job } = props;
  const raw = Object.keys(job)
    .sort()
    .map(key => [key, render(job[key])]);
  return (
    <details open className="jp-FluxHub-fields">
      <summary>All fields</summary>
      <table className="jp-FluxHub-allFields" aria-label="All job fields">
        <tbody>
          {raw.map(([key, value]) => (
            <tr key={key}>
              <th scope="row">{key}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function render(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
