import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import { IJob } from '../api';
import { fullAfter, holdCommand, IHold, WAITING_STATES } from '../holds';
import { formatF58, JobId } from '../jobid';
import { formatFullTime, statusOf } from '../jobs';
import { describe, JobsModel } from '../model';

/** A hold's state as the person reads it. */
export function holdStateText(hold: IHold): string {
  switch (hold.state) {
    case 'DEPEND':
      return 'DEPEND';
    case 'SUBMITTING':
      return 'SUBMITTING';
    case 'SUBMITTED':
      return 'SUBMITTED';
    case 'NEVER_RUN':
      return 'NEVER RUN';
    case 'CANCELED':
      return 'CANCELED';
    default:
      return hold.state;
  }
}

/**
 * A held job in the main area (a held row of the table opened): what it
 * runs (its request), what it waits for, each job it waits for as the
 * panel knows it now, why it never ran; Cancel while it waits; once
 * submitted, the job it became.
 */
export class HoldDetail extends ReactWidget {
  constructor(options: HoldDetail.IOptions) {
    super();
    this.model = options.model;
    this.holdId = options.id;
    this._openJob = options.openJob;
    this.addClass('jp-FluxHub-detail');
    this.addClass('jp-FluxHub-holdDetail');
    this.title.closable = true;
    this._hold = this.model.holds.find(h => h.hold === this.holdId) ?? null;
    this._setTitle();
    this.model.changed.connect(this._onModelChanged, this);
    void this._reload();
  }

  readonly model: JobsModel;
  readonly holdId: string;

  get hold(): IHold | null {
    return this._hold;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  /** Ask, then cancel the hold (DELETE holds/<id>). */
  async cancel(): Promise<void> {
    const hold = this._hold;
    if (!hold) {
      return;
    }
    const result = await showDialog({
      title: 'Cancel held Flux job?',
      body: `Cancel the held job ${hold.name ? `“${hold.name}” ` : ''}(${fullAfter(hold.after).replace(/^Runs/, 'it would run')})? It will not run.`,
      buttons: [
        Dialog.cancelButton({ label: 'Keep it' }),
        Dialog.warnButton({ label: 'Cancel held job' })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      this._notice = await this.model.api.cancel(this.holdId);
      this._error = null;
    } catch (error) {
      this._error = describe(error);
    }
    await this._reload();
    void this.model.refresh().catch(() => undefined);
  }

  protected render(): JSX.Element {
    return (
      <HoldDetailView
        hold={this._hold}
        holdId={this.holdId}
        error={this._error}
        notice={this._notice}
        jobOf={id => this.model.getJob(id)}
        onCancel={() => void this.cancel()}
        onOpenJob={this._openJob}
      />
    );
  }

  private async _reload(): Promise<void> {
    try {
      this._hold = await this.model.api.hold(this.holdId);
      this._setTitle();
    } catch (error) {
      if (!this._hold) {
        this._error = describe(error);
      }
    }
    if (!this.isDisposed) {
      this.update();
    }
  }

  private _onModelChanged(): void {
    const listed = this.model.holds.find(h => h.hold === this.holdId);
    if (listed && listed.updated >= (this._hold?.updated ?? 0)) {
      this._hold = listed;
      this._setTitle();
    }
    this.update();
  }

  private _setTitle(): void {
    const name = this._hold?.name || (this._hold && holdCommand(this._hold));
    this.title.label = name ? `${name} (held)` : `Held job ${this.holdId}`;
  }

  private _hold: IHold | null;
  private _error: string | null = null;
  private _notice: string | null = null;
  private _openJob?: (id: JobId) => void;
}

export namespace HoldDetail {
  export interface IOptions {
    model: JobsModel;
    /** The hold's id ("h…"). */
    id: string;
    /** Open a job's own detail (a job waited for, the job it became). */
    openJob?: (id: JobId) => void;
  }
}

export interface IHoldDetailViewProps {
  hold: IHold | null;
  holdId: string;
  error: string | null;
  notice: string | null;
  /** A job as the panel knows it now (its state beside the condition). */
  jobOf: (id: JobId) => IJob | undefined;
  onCancel: () => void;
  onOpenJob?: (id: JobId) => void;
}

/** The request's fields but the command, as "name: value" lines. */
function requestLines(request: Record<string, unknown>): [string, string][] {
  return Object.keys(request)
    .filter(key => key !== 'command')
    .sort()
    .map(key => {
      const value = request[key];
      return [
        key,
        value !== null && typeof value === 'object'
          ? JSON.stringify(value)
          : String(value)
      ];
    });
}

const TO_WORDS: Record<string, string> = {
  afterok: 'succeed',
  afterany: 'end',
  afternotok: 'fail'
};

export function HoldDetailView(props: IHoldDetailViewProps): JSX.Element {
  const { hold } = props;
  const state = hold ? holdStateText(hold) : 'LOADING';
  const waiting = !!hold && WAITING_STATES.has(hold.state);
  const jobLink = (id: JobId) =>
    props.onOpenJob ? (
      <button
        type="button"
        className="jp-FluxHub-linkButton"
        onClick={() => props.onOpenJob!(id)}
      >
        {formatF58(id)}
      </button>
    ) : (
      <span>{formatF58(id)}</span>
    );
  return (
    <div className="jp-FluxHub-detailBody">
      <div className="jp-FluxHub-detailHeader">
        <h2>
          {hold?.name || (hold && holdCommand(hold)) || 'Held job'}{' '}
          <span className="jp-FluxHub-jobId" title="The hold's id">
            {props.holdId}
          </span>
        </h2>
        <span
          className={`jp-FluxHub-badge jp-FluxHub-status-${waiting ? 'pending' : state.toLowerCase().replace(' ', '-')}`}
          aria-label={`Status ${state}`}
        >
          {state}
        </span>
        {waiting && hold?.state === 'DEPEND' && (
          <button
            className="jp-mod-styled jp-mod-warn jp-FluxHub-cancel"
            onClick={props.onCancel}
          >
            Cancel held job
          </button>
        )}
      </div>
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
      {hold && (
        <>
          <p className="jp-FluxHub-holdWhen">
            {fullAfter(hold.after)}.{' '}
            {waiting
              ? 'Held by flux-hub: it is submitted then, as you, even if your server is stopped.'
              : ''}
          </p>
          {hold.state === 'NEVER_RUN' && (
            <p className="jp-FluxHub-holdReason" role="note">
              <strong>Never run:</strong>{' '}
              {hold.reason || 'its condition can no longer hold'}.
            </p>
          )}
          {hold.state === 'CANCELED' && (
            <p className="jp-FluxHub-holdReason" role="note">
              <strong>Cancelled</strong> while it waited
              {hold.reason ? ` (${hold.reason})` : ''}.
            </p>
          )}
          {hold.state === 'SUBMITTED' && hold.job && (
            <p className="jp-FluxHub-holdReason" role="note">
              Submitted as job {jobLink(hold.job)}.
            </p>
          )}
          <h3>Waits for</h3>
          <ul className="jp-FluxHub-holdConditions" aria-label="Waits for">
            {hold.after.map(c => {
              const known = props.jobOf(c.id);
              return (
                <li key={`${c.kind}:${c.id}`}>
                  {jobLink(c.id)}
                  {known?.name ? ` (${known.name})` : ''} to{' '}
                  {TO_WORDS[c.kind] ?? c.kind} <code>{c.kind}</code>
                  {known ? ` — now ${statusOf(known)}` : ''}
                </li>
              );
            })}
          </ul>
          <h3>Runs</h3>
          <pre className="jp-FluxHub-holdCommand" aria-label="Command">
            {holdCommand(hold)}
          </pre>
          <table className="jp-FluxHub-allFields" aria-label="The held request">
            <tbody>
              {requestLines(hold.request).map(([key, value]) => (
                <tr key={key}>
                  <th scope="row">{key}</th>
                  <td>{value}</td>
                </tr>
              ))}
              <tr>
                <th scope="row">held since</th>
                <td>{formatFullTime(hold.created)}</td>
              </tr>
              {hold.updated !== hold.created && (
                <tr>
                  <th scope="row">last change</th>
                  <td>{formatFullTime(hold.updated)}</td>
                </tr>
              )}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
