import * as React from 'react';

import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';

import { IRequestFields, ISubmitRequest } from './api';
import {
  IFormDialogs,
  IFormRequest,
  ISubmitValues,
  SubmitForm
} from './components/SubmitForm';
import { ISweepActions } from './components/SweepParameters';
import { IHoldActions } from './components/RunAfter';
import { IFilesInfo } from './files';
import { JobId } from './jobid';
import { TemplatesAPI } from './templates';

/**
 * The submit form as a main-area widget; it stays open until the job is
 * accepted. Opened with a `request` (a history record's form: "Edit and
 * run"), it starts from that request; otherwise a new form starts from the
 * person's last submission from the panel (or `initial` when the form is
 * opened for a file's command). Its Template select lists the hub's
 * published templates and the person's own.
 */
export class SubmitPanel extends ReactWidget {
  constructor(options: SubmitPanel.IOptions) {
    super();
    this.options = options;
    this.templates =
      options.templates === undefined
        ? new TemplatesAPI(options.settings ?? ServerConnection.makeSettings())
        : options.templates;
    this.addClass('jp-FluxHub-submit');
  }

  readonly options: SubmitPanel.IOptions;

  /** The person's templates and last values; null: the form has neither. */
  readonly templates: TemplatesAPI | null;

  protected onActivateRequest(): void {
    this.node
      .querySelector<HTMLInputElement>(
        '#jp-FluxHub-submit-command, #jp-FluxHub-submit-script, input'
      )
      ?.focus();
  }

  protected render(): JSX.Element {
    return (
      <SubmitForm {...this.options} templates={this.templates} autoFocus />
    );
  }
}

export namespace SubmitPanel {
  export interface IOptions {
    /** A new form's values (the folder of the file browser, a file's command). */
    initial: ISubmitValues;
    /** Which of the person's files the cluster sees (null: unknown). */
    files?: IFilesInfo | null;
    submit: (request: ISubmitRequest) => Promise<JobId>;
    onSubmitted: (id: JobId) => void;
    /** The description of a job request (GET request-fields): the fields' labels and help. */
    requestFields?: Promise<IRequestFields> | null;
    /** A request to start from, in POST jobs' shape (a history record's form). */
    request?: Partial<IFormRequest> | null;
    /** A note shown above the form (why "Run again" could not run the job as it was). */
    message?: string | null;
    /** The server's settings for the templates and last values (default: the page's). */
    settings?: ServerConnection.ISettings;
    /** The templates and last values (default: from `settings`; null: none). */
    templates?: TemplatesAPI | null;
    /** Ask with these dialogs (default: JupyterLab's InputDialog and Dialog). */
    dialogs?: IFormDialogs;
    /** What the form's Parameters do: POST sweeps (absent: no Parameters). */
    sweeps?: ISweepActions | null;
    /** What the form's Run after does: POST jobs with a dependency (absent: no Run after). */
    holds?: IHoldActions | null;
  }
}
