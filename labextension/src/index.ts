import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  addIcon,
  launchIcon,
  ReactWidget,
  refreshIcon
} from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import * as React from 'react';

import {
  FluxHubAPI,
  IHistoryRecord,
  IJob,
  ISubmitOrigin,
  ISubmitRequest
} from './api';
import { originTarget } from './components/HistoryView';
import { JobDetail } from './components/JobDetail';
import { JobsView } from './components/JobsView';
import { EMPTY_VALUES, ISubmitValues } from './components/SubmitForm';
import { browserShared, filesOf, IFilesInfo, scriptRefusal } from './files';
import { fluxIcon } from './icons';
import { formatF58, JobId, parseJobId } from './jobid';
import { ALL_COLUMN_IDS, ColumnId, statusOf } from './jobs';
import { JobsModel } from './model';
import { FluxHubError } from './request';
import { JobsSidebar } from './sidebar';
import { SubmitPanel } from './submit';
import { heldMessage } from './components/RunAfter';
import { HoldDetail } from './components/HoldDetail';
import { sweepTracker } from './sweeps';

const PLUGIN_ID = 'flux-hub:plugin';

namespace CommandIDs {
  export const open = 'flux-hub:open';
  export const refresh = 'flux-hub:refresh';
  export const submit = 'flux-hub:submit';
  export const submitFile = 'flux-hub:submit-file';
  export const openJob = 'flux-hub:open-job';
  export const openTable = 'flux-hub:open-table';
  export const rerun = 'flux-hub:rerun';
  export const openOrigin = 'flux-hub:open-origin';
}

/** How a script is run, by its extension; files with other extensions are not offered. */
const INTERPRETERS: Record<string, string> = {
  '.sh': 'bash',
  '.bash': 'bash',
  '.py': 'python3',
  '.r': 'Rscript',
  '.jl': 'julia',
  '.pl': 'perl'
};

/** A word as the server's shell-style splitting reads it back. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * The working directory for a folder of the file browser: an absolute path
 * on the server when the server's root is known, so the job starts there.
 */
function serverPath(path: string): string {
  const root = PageConfig.getOption('serverRoot');
  if (!root.startsWith('/')) {
    return path;
  }
  // PathExt.join would drop the leading slash: it works on relative paths.
  return path ? `${root.replace(/\/+$/, '')}/${path}` : root;
}

/**
 * The form's working directory when it opens on the file browser's folder
 * `path`: that folder where the cluster sees it, else empty (the job then
 * starts in the person's folder on the cluster).
 */
function defaultWorkdir(path: string, files: IFilesInfo | null): string {
  return browserShared(path, files) ? serverPath(path) : '';
}

/**
 * The id a command was given: the decimal text the panel passes (a number
 * only from a layout saved by an older panel), or F58 as a person writes it.
 */
function jobIdArg(value: unknown): JobId | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  }
  return typeof value === 'string' ? parseJobId(value) : null;
}

/** The request a command was given (a history record's form), or null. */
function requestArg(value: unknown): Partial<ISubmitRequest> | null {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Partial<ISubmitRequest>)
    : null;
}

/**
 * A notebook's cell as a duck: the panel does not depend on the notebook
 * package for the few members "Open the origin" uses.
 */
interface ICellLike {
  model?: { type?: string; executionCount?: number | null };
}

interface INotebookLike {
  widgets?: readonly ICellLike[];
  activeCellIndex?: number;
  scrollToCell?: (cell: ICellLike, align?: string) => Promise<void>;
}

/**
 * Make the cell of execution count `count` the active one in the notebook
 * panel `widget` (as docmanager:open returns it); false when the notebook no
 * longer has that cell (run again, or its outputs cleared).
 */
async function activateCell(widget: unknown, count: number): Promise<boolean> {
  const panel = widget as {
    context?: { ready?: Promise<void> };
    revealed?: Promise<void>;
    content?: INotebookLike;
  } | null;
  await panel?.context?.ready;
  await panel?.revealed;
  const notebook = panel?.content;
  const cells = notebook?.widgets ?? [];
  const index = cells.findIndex(
    cell => cell.model?.type === 'code' && cell.model.executionCount === count
  );
  if (!notebook || index < 0) {
    return false;
  }
  notebook.activeCellIndex = index;
  await notebook.scrollToCell?.(cells[index], 'center');
  return true;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A JupyterLab panel for your jobs on a shared Flux cluster.',
  autoStart: true,
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry,
    IDefaultFileBrowser,
    ILauncher
  ],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    browser: IDefaultFileBrowser | null,
    launcher: ILauncher | null
  ) => {
    const { commands, shell } = app;
    const api = new FluxHubAPI(app.serviceManager.serverSettings);
    const model = new JobsModel(api);
    let notify = true;

    // Fired when the history may have changed: a job submitted or ended here.
    const historyChanged = new Signal<FluxHubAPI, void>(api);
    let jobCount = -1;
    model.changed.connect(() => {
      if (model.jobs.length !== jobCount) {
        if (jobCount >= 0) {
          historyChanged.emit();
        }
        jobCount = model.jobs.length;
      }
    });
    model.jobFinished.connect(() => historyChanged.emit());
    const asArgs = (value: unknown) =>
      value as unknown as ReadonlyPartialJSONObject;

    let table: MainAreaWidget<ReactWidget> | null = null;
    const sidebar = new JobsSidebar({
      model,
      commands,
      toolbar: [
        { id: CommandIDs.submit, icon: addIcon },
        { id: CommandIDs.refresh, icon: refreshIcon },
        { id: CommandIDs.openTable, icon: launchIcon }
      ],
      onOpen: id => void commands.execute(CommandIDs.openJob, { id }),
      history: {
        history: query => api.history(query),
        changed: historyChanged,
        serverRoot: PageConfig.getOption('serverRoot'),
        onRunAgain: (record: IHistoryRecord) =>
          commands.execute(
            CommandIDs.rerun,
            asArgs({
              id: record.id,
              cluster: record.cluster,
              request: record.form ?? null
            })
          ) as Promise<JobId | null>,
        onEditAndRun: (record: IHistoryRecord) =>
          void commands.execute(
            CommandIDs.submit,
            asArgs({ request: record.form ?? null })
          ),
        onOpenOrigin: (record: IHistoryRecord) => {
          const target = originTarget(record);
          return 'path' in target
            ? commands.execute(CommandIDs.openOrigin, asArgs(target))
            : undefined;
        }
      }
    });
    shell.add(sidebar, 'left', { rank: 750, type: 'Flux jobs' });
    sidebar.alsoShown = () => !!table && !table.isDisposed;
    restorer?.add(sidebar, sidebar.id);

    const details = new WidgetTracker<MainAreaWidget<JobDetail>>({
      namespace: 'flux-hub-job'
    });
    void restorer?.restore(details, {
      command: CommandIDs.openJob,
      args: widget => ({ id: widget.content.jobId }),
      name: widget => String(widget.content.jobId)
    });

    // Which of the person's files the cluster sees: fixed for the server's
    // life (FLUX_HUB_PATHS), so asked once, and again only after a failure.
    let files: Promise<IFilesInfo | null> | null = null;
    const sharedFiles = (): Promise<IFilesInfo | null> => {
      const known = filesOf(model.cluster);
      if (known) {
        return Promise.resolve(known);
      }
      if (!files) {
        files = api.cluster().then(
          summary => {
            const info = filesOf(summary);
            if (!info) {
              files = null;
            }
            return info;
          },
          () => {
            files = null;
            return null; // unknown: the form as on one machine; the server checks
          }
        );
      }
      return files;
    };
    void sharedFiles();

    /** A job submitted here: followed, announced, and the history read again. */
    const submitted = (
      id: JobId,
      text = `Submitted Flux job ${formatF58(id)}.`
    ) => {
      model.watch(id);
      historyChanged.emit();
      Notification.success(text, {
        autoClose: 5000,
        actions: [
          {
            label: 'Show job',
            callback: () => void commands.execute(CommandIDs.openJob, { id })
          }
        ]
      });
    };

    let submitPanel: MainAreaWidget<SubmitPanel> | null = null;
    /**
     * Open the submit form. `extra`: a request to fill it with (a history
     * record's, for Edit and run) and a message to show above it; `origin`:
     * where the job comes from, for the history (absent: the panel).
     */
    const openSubmitForm = (
      initial: ISubmitValues,
      files: IFilesInfo | null,
      extra: {
        request?: Partial<ISubmitRequest> | null;
        message?: string | null;
        origin?: ISubmitOrigin;
      } = {}
    ) => {
      submitPanel?.dispose();
      const { origin } = extra;
      const content = new SubmitPanel({
        initial,
        files,
        submit: request =>
          api.submit(origin ? { ...request, origin } : request),
        // The Parameters: many jobs of the form (a sweep), its progress in the panel
        sweeps: {
          preview: body => api.sweepPreview(body),
          submit: body => api.submitSweep(origin ? { ...body, origin } : body),
          onSubmitted: started => {
            void sweepTracker(model).poke();
            void model.refresh().catch(() => undefined);
            historyChanged.emit();
            Notification.success(
              `Submitting ${started.total} Flux jobs of “${started.group}”.`,
              { autoClose: 5000 }
            );
            panel.dispose();
          }
        },
        // Run after: the job held by the hub until others end
        holds: {
          submit: request =>
            api.submitHeld(origin ? { ...request, origin } : request),
          onHeld: (answer, request) => {
            model.held(answer, { ...request });
            Notification.success(heldMessage(answer), { autoClose: 8000 });
            panel.dispose();
          },
          jobs: () => model.jobs
        },
        // Asked once, kept by the API (the form's help is the description's).
        requestFields: api.requestFields(),
        // Edit and run: the form filled with a recorded request, and why.
        request: extra.request ?? null,
        message: extra.message ?? null,
        // Templates and the last values, from this server
        settings: api.settings,
        onSubmitted: id => {
          submitted(id);
          panel.dispose();
        }
      });
      const panel = new MainAreaWidget({ content });
      panel.id = 'flux-hub-submit';
      panel.title.label = 'Submit Flux job';
      panel.title.icon = fluxIcon;
      submitPanel = panel;
      panel.disposed.connect(() => {
        if (submitPanel === panel) {
          submitPanel = null;
        }
      });
      shell.add(panel, 'main');
      shell.activateById(panel.id);
    };

    commands.addCommand(CommandIDs.open, {
      label: 'Show Flux Jobs',
      caption: 'Show your jobs on the Flux cluster',
      icon: fluxIcon,
      execute: () => shell.activateById(sidebar.id)
    });

    // The jobs table at the width of the main area, every column shown.
    commands.addCommand(CommandIDs.openTable, {
      label: 'Open Flux Jobs Table',
      caption: 'Open your jobs in the main area, with every column',
      icon: launchIcon,
      execute: () => {
        if (table && !table.isDisposed) {
          shell.activateById(table.id);
          return;
        }
        const content = ReactWidget.create(
          React.createElement(JobsView, {
            model,
            columns: sidebar.columns,
            onOpen: (id: JobId) =>
              void commands.execute(CommandIDs.openJob, { id })
          })
        );
        content.addClass('jp-FluxHub-content');
        content.addClass('jp-FluxHub-wideTable');
        const widget = new MainAreaWidget({ content });
        widget.id = 'flux-hub-jobs-table';
        widget.title.label = 'Flux jobs';
        widget.title.icon = fluxIcon;
        widget.title.closable = true;
        // Polled while it is open, as the sidebar is while it is shown
        model.visible = true;
        widget.disposed.connect(() => {
          model.visible = sidebar.isVisible;
        });
        table = widget;
        shell.add(widget, 'main');
        shell.activateById(widget.id);
      }
    });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Flux Jobs',
      caption:
        'Refresh the job list now, including jobs submitted outside flux-hub',
      icon: refreshIcon,
      execute: () => model.refresh({ rescan: true })
    });

    commands.addCommand(CommandIDs.submit, {
      label: args => (args.fromLauncher ? 'Flux Job' : 'Submit Flux Job…'),
      caption: 'Submit a job to the Flux cluster',
      icon: fluxIcon,
      // args: command, name, workdir (fields to start with); or request (a
      // history record's form, Edit and run) and message (shown above the form).
      execute: async args => {
        const files = await sharedFiles();
        const request = requestArg(args.request);
        const message =
          typeof args.message === 'string' && args.message
            ? args.message
            : null;
        openSubmitForm(
          {
            ...EMPTY_VALUES,
            command: (args.command as string) ?? '',
            name: (args.name as string) ?? '',
            workdir:
              (args.workdir as string) ??
              defaultWorkdir(browser?.model.path ?? '', files)
          },
          files,
          { request, message }
        );
      }
    });

    // Run a recorded job again exactly as it was sent. When it cannot be
    // (recorded without its request, or its environment values not kept),
    // the form opens filled with it, the server's sentence above it: the
    // command then returns null. Any other refusal is thrown, for the caller
    // to show.
    commands.addCommand(CommandIDs.rerun, {
      label: 'Run Flux Job Again',
      caption: 'Submit a recorded job again, as it was sent',
      icon: fluxIcon,
      execute: async args => {
        const id = jobIdArg(args.id);
        if (id === null) {
          throw new Error(`Not a Flux job id: ${String(args.id)}.`);
        }
        const cluster = typeof args.cluster === 'string' ? args.cluster : null;
        try {
          const again = await api.rerun(id, cluster);
          submitted(
            again,
            `Submitted Flux job ${formatF58(again)}. It runs ${formatF58(id)} again.`
          );
          return again;
        } catch (error) {
          if (error instanceof FluxHubError && error.status === 409) {
            await commands.execute(
              CommandIDs.submit,
              asArgs({ request: args.request ?? null, message: error.message })
            );
            return null;
          }
          throw error;
        }
      }
    });

    // Open where a recorded job came from: its file, or its notebook at the
    // %%flux cell (execution count `cell`) when the notebook still has it.
    commands.addCommand(CommandIDs.openOrigin, {
      label: 'Open Where the Flux Job Came From',
      caption: 'Open the notebook or file a recorded job was submitted from',
      execute: async args => {
        const path = typeof args.path === 'string' ? args.path : '';
        const cell = typeof args.cell === 'number' ? args.cell : null;
        let widget: unknown;
        try {
          widget = await commands.execute('docmanager:open', { path });
        } catch {
          Notification.warning(
            `${path} cannot be opened: it was moved or deleted.`,
            {
              autoClose: 8000
            }
          );
          return;
        }
        if (cell !== null && !(await activateCell(widget, cell))) {
          Notification.info(
            `Cell [${cell}] is no longer in ${PathExt.basename(path)}: it was run again or its outputs cleared.`,
            { autoClose: 8000 }
          );
        }
      }
    });

    const selectedScript = () => {
      const item = browser?.selectedItems().next();
      const file = item && !item.done ? item.value : null;
      if (!file || file.type === 'directory') {
        return null;
      }
      const interpreter =
        INTERPRETERS[PathExt.extname(file.path).toLowerCase()];
      return interpreter ? { path: file.path, interpreter } : null;
    };

    // Offered on every script even where the cluster cannot see it: a menu
    // item cannot say why it is missing or disabled (JupyterLab's menus show
    // no captions), so choosing it says why in one line instead of the form.
    commands.addCommand(CommandIDs.submitFile, {
      label: 'Submit as Flux Job…',
      caption: 'Run this script as a job on the Flux cluster',
      icon: fluxIcon,
      isVisible: () => selectedScript() !== null,
      execute: async () => {
        const script = selectedScript();
        if (!script) {
          return;
        }
        const files = await sharedFiles();
        const refusal = scriptRefusal(script.path, files);
        if (refusal) {
          Notification.warning(refusal, { autoClose: false });
          return;
        }
        const name = PathExt.basename(script.path);
        openSubmitForm(
          {
            ...EMPTY_VALUES,
            command: `${script.interpreter} ${shellQuote(name)}`,
            name,
            workdir: serverPath(PathExt.dirname(script.path))
          },
          files,
          // Recorded in the history as the file's job
          { origin: { kind: 'file', path: script.path } }
        );
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.submitFile,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 20
    });

    commands.addCommand(CommandIDs.openJob, {
      label: args => {
        const id = jobIdArg(args.id);
        return `Show Flux Job ${id === null ? '' : formatF58(id)}`;
      },
      execute: args => {
        const id = jobIdArg(args.id);
        if (
          id === null &&
          typeof args.id === 'string' &&
          /^h[0-9a-f]+$/.test(args.id)
        ) {
          // A held job's row (holds.ts): the hold's own detail.
          openHold(args.id);
          return;
        }
        if (id === null) {
          console.error(`flux-hub: not a Flux job id: ${String(args.id)}`);
          return;
        }
        const existing = details.find(w => w.content.jobId === id);
        if (existing) {
          shell.activateById(existing.id);
          return;
        }
        const content = new JobDetail({
          model,
          id,
          openFolder: path =>
            void commands.execute('filebrowser:go-to-path', { path })
        });
        const widget = new MainAreaWidget({ content });
        widget.id = `flux-hub-job-${id}`;
        widget.title.icon = fluxIcon;
        // The tab's label follows the job's name once it is known.
        content.title.changed.connect(() => {
          widget.title.label = content.title.label;
        });
        widget.title.label = content.title.label;
        void details.add(widget);
        shell.add(widget, 'main');
        shell.activateById(widget.id);
      }
    });

    /** A held job in the main area, once (its tab again if open). */
    function openHold(holdId: string): void {
      const widgetId = `flux-hub-hold-${holdId}`;
      if (Array.from(shell.widgets('main')).some(w => w.id === widgetId)) {
        shell.activateById(widgetId);
        return;
      }
      const content = new HoldDetail({
        model,
        id: holdId,
        openJob: id => void commands.execute(CommandIDs.openJob, { id })
      });
      const widget = new MainAreaWidget({ content });
      widget.id = widgetId;
      widget.title.icon = fluxIcon;
      content.title.changed.connect(() => {
        widget.title.label = content.title.label;
      });
      widget.title.label = content.title.label;
      shell.add(widget, 'main');
      shell.activateById(widget.id);
    }

    if (palette) {
      for (const command of [
        CommandIDs.open,
        CommandIDs.submit,
        CommandIDs.refresh,
        CommandIDs.openTable
      ]) {
        palette.addItem({ command, category: 'Flux' });
      }
    }
    // A "Flux job" card in the Launcher opens the submit form.
    launcher?.add({
      command: CommandIDs.submit,
      category: 'Other',
      rank: 1,
      args: { fromLauncher: true }
    });

    // A held job whose condition can no longer hold: said once, with why.
    model.holdNeverRun.connect((_, hold) => {
      if (notify) {
        Notification.error(
          `Held Flux job ${hold.name || hold.hold} will not run: ${hold.reason || 'its condition can no longer hold'}.`,
          { autoClose: 8000 }
        );
      }
    });

    model.jobFinished.connect((_, job: IJob) => {
      if (!notify) {
        return;
      }
      const status = statusOf(job);
      const type =
        status === 'COMPLETED'
          ? 'success'
          : status === 'CANCELED'
            ? 'warning'
            : 'error';
      const verb =
        status === 'COMPLETED'
          ? 'completed'
          : status === 'CANCELED'
            ? 'was canceled'
            : status === 'TIMEOUT'
              ? 'ran out of time'
              : 'failed';
      Notification.emit(
        `Flux job ${job.name || ''} (${formatF58(job.id)}) ${verb}.`,
        type,
        {
          autoClose: 8000,
          actions: [
            {
              label: 'Show job',
              callback: () =>
                void commands.execute(CommandIDs.openJob, { id: job.id })
            }
          ]
        }
      );
    });

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(
        settings => {
          const apply = () => {
            model.interval = settings.get('refreshInterval')
              .composite as number;
            notify = settings.get('notifications').composite as boolean;
            model.watchWhileHidden = notify;
            const columns = settings.get('columns').composite as ColumnId[];
            sidebar.columns = columns?.length ? columns : ALL_COLUMN_IDS;
          };
          apply();
          settings.changed.connect(apply);
        },
        reason =>
          console.error('flux-hub: could not load its settings.', reason)
      );
    }
  }
};

export default plugin;
