import * as React from 'react';

import { ReactWidget } from '@jupyterlab/ui-components';

import { IRequestFields, ISubmitRequest } from './api';
import { ISubmitValues, SubmitForm } from './components/SubmitForm';
import { IFilesInfo } from './files';
import { JobId } from './jobid';

/** The submit form as a main-area widget; it stays open until the job is accepted. */
export class SubmitPanel extends ReactWidget {
  constructor(options: SubmitPanel.IOptions) {
    super();
    this.options = options;
    this.addClass('jp-FluxHub-submit');
  }

  readonly options: SubmitPanel.IOptions;

  protected onActivateRequest(): void {
    this.node.querySelector<HTMLInputElement>('input')?.focus();
  }

  protected render(): JSX.Element {
    return <SubmitForm {...this.options} />;
  }
}

export namespace SubmitPanel {
  export interface IOptions {
    initial: ISubmitValues;
    /** Which of the person's files the cluster sees (null: unknown). */
    files?: IFilesInfo | null;
    submit: (request: ISubmitRequest) => Promise<JobId>;
    onSubmitted: (id: JobId) => void;
    /** The description of a job request (GET request-fields), for the fields' help. */
    requestFields?: Promise<IRequestFields> | null;
  }
}
