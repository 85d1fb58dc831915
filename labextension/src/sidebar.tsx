import * as React from 'react';

import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Panel } from '@lumino/widgets';
import {
  CommandToolbarButton,
  LabIcon,
  ReactWidget,
  SidePanel
} from '@jupyterlab/ui-components';

import { fluxIcon } from './icons';
import { JobId } from './jobid';
import { ALL_COLUMN_IDS, ColumnId } from './jobs';
import { JobsModel } from './model';
import { JobsView } from './components/JobsView';

/**
 * The left sidebar: a toolbar (submit, refresh) over the jobs view. Showing
 * and hiding it wakes and parks the model's poll.
 */
export class JobsSidebar extends SidePanel {
  constructor(options: JobsSidebar.IOptions) {
    // A plain panel: the default accordion would add a title bar above the one view.
    super({ content: new Panel() });
    this.model = options.model;
    this.id = 'flux-hub-jobs';
    this.addClass('jp-FluxHub-sidebar');
    this.title.icon = fluxIcon;
    this.title.caption = 'Flux jobs';
    for (const { id, icon } of options.toolbar) {
      // Icon-only buttons: the command's caption becomes their label.
      this.toolbar.addItem(
        id,
        new CommandToolbarButton({
          commands: options.commands,
          id,
          icon,
          label: ''
        })
      );
    }
    this._jobsContent = new JobsContent(this.model, options.onOpen);
    this.addWidget(this._jobsContent);
  }

  readonly model: JobsModel;

  /** Whether the jobs are on screen elsewhere too (the table in the main area). */
  alsoShown: () => boolean = () => false;

  /** The table's columns, in order (from the settings). */
  get columns(): ColumnId[] {
    return this._jobsContent.columns;
  }
  set columns(columns: ColumnId[]) {
    const known = columns.filter(c => ALL_COLUMN_IDS.includes(c));
    this._jobsContent.columns = Array.from(new Set(known));
    this._jobsContent.update();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.model.visible = this.isVisible || this.alsoShown();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = this.alsoShown();
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.visible = this.alsoShown();
    super.onBeforeDetach(msg);
  }

  private _jobsContent: JobsContent;
}

class JobsContent extends ReactWidget {
  constructor(
    readonly model: JobsModel,
    readonly onOpen: (id: JobId) => void
  ) {
    super();
    this.addClass('jp-FluxHub-content');
  }

  columns: ColumnId[] = ALL_COLUMN_IDS;

  protected render(): JSX.Element {
    return (
      <JobsView
        model={this.model}
        columns={this.columns}
        onOpen={this.onOpen}
      />
    );
  }
}

export namespace JobsSidebar {
  export interface IOptions {
    model: JobsModel;
    commands: CommandRegistry;
    toolbar: { id: string; icon: LabIcon }[];
    onOpen: (id: JobId) => void;
  }
}
