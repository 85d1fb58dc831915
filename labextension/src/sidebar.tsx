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
import { HistoryView, IHistoryViewProps } from './components/HistoryView';
import { JobsView } from './components/JobsView';

/**
 * The left sidebar: a toolbar (submit, refresh) over a "Jobs | History"
 * switch and the view chosen: the jobs the cluster holds, or the person's
 * history of every job they submitted. Showing and hiding it wakes and parks
 * the model's poll.
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
    this._jobsContent = new JobsContent(
      this.model,
      options.onOpen,
      options.history ?? null
    );
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
    readonly onOpen: (id: JobId) => void,
    readonly history: JobsSidebar.IHistoryOptions | null
  ) {
    super();
    this.addClass('jp-FluxHub-content');
  }

  columns: ColumnId[] = ALL_COLUMN_IDS;

  protected render(): JSX.Element {
    const jobs = (
      <JobsView
        model={this.model}
        columns={this.columns}
        onOpen={this.onOpen}
      />
    );
    return this.history ? (
      <SwitchedViews jobs={jobs} history={this.history} />
    ) : (
      jobs
    );
  }
}

type ViewName = 'jobs' | 'history';

const VIEWS: { name: ViewName; label: string; title: string }[] = [
  {
    name: 'jobs',
    label: 'Jobs',
    title: 'Your jobs the Flux cluster holds now'
  },
  {
    name: 'history',
    label: 'History',
    title: 'Every job you submitted through flux-hub, kept on your side'
  }
];

let switchIds = 0;

/**
 * "Jobs | History": a tab bar (arrow keys move between its tabs) over the
 * two views. Each view stays mounted once shown, so its search and filters
 * are kept when a person switches back; the History view is made the first
 * time it is chosen.
 */
export function SwitchedViews(props: {
  jobs: JSX.Element;
  history: JobsSidebar.IHistoryOptions;
}): JSX.Element {
  const [view, setView] = React.useState<ViewName>('jobs');
  const [historyMade, setHistoryMade] = React.useState(false);
  const prefix = React.useMemo(() => `jp-FluxHub-view-${++switchIds}`, []);
  const tabs = React.useRef<(HTMLButtonElement | null)[]>([]);
  const choose = (name: ViewName) => {
    setView(name);
    if (name === 'history') {
      setHistoryMade(true);
    }
  };
  const onKeyDown = (event: React.KeyboardEvent) => {
    const index = VIEWS.findIndex(v => v.name === view);
    let next = index;
    if (event.key === 'ArrowRight') {
      next = (index + 1) % VIEWS.length;
    } else if (event.key === 'ArrowLeft') {
      next = (index + VIEWS.length - 1) % VIEWS.length;
    } else if (event.key === 'Home') {
      next = 0;
    } else if (event.key === 'End') {
      next = VIEWS.length - 1;
    } else {
      return;
    }
    event.preventDefault();
    choose(VIEWS[next].name);
    tabs.current[next]?.focus();
  };
  return (
    <div className="jp-FluxHub-views">
      <div
        className="jp-FluxHub-viewSwitch"
        role="tablist"
        aria-label="Show"
        onKeyDown={onKeyDown}
      >
        {VIEWS.map((v, i) => (
          <button
            key={v.name}
            ref={node => {
              tabs.current[i] = node;
            }}
            type="button"
            role="tab"
            id={`${prefix}-tab-${v.name}`}
            aria-selected={view === v.name}
            aria-controls={`${prefix}-${v.name}`}
            tabIndex={view === v.name ? 0 : -1}
            className={
              'jp-FluxHub-viewTab' + (view === v.name ? ' jp-mod-current' : '')
            }
            title={v.title}
            onClick={() => choose(v.name)}
          >
            {v.label}
          </button>
        ))}
      </div>
      <div
        className="jp-FluxHub-viewPanel"
        role="tabpanel"
        id={`${prefix}-jobs`}
        aria-labelledby={`${prefix}-tab-jobs`}
        hidden={view !== 'jobs'}
      >
        {props.jobs}
      </div>
      {historyMade && (
        <div
          className="jp-FluxHub-viewPanel"
          role="tabpanel"
          id={`${prefix}-history`}
          aria-labelledby={`${prefix}-tab-history`}
          hidden={view !== 'history'}
        >
          <HistoryView {...props.history} />
        </div>
      )}
    </div>
  );
}

export namespace JobsSidebar {
  export interface IOptions {
    model: JobsModel;
    commands: CommandRegistry;
    toolbar: { id: string; icon: LabIcon }[];
    onOpen: (id: JobId) => void;
    /** The History view's data and actions; without them, only the jobs. */
    history?: IHistoryOptions;
  }

  export type IHistoryOptions = IHistoryViewProps;
}
