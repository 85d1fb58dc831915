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
import * as React from 'react';

import { FluxHubAPI, IJob } from './api';
import { JobDetail } from './components/JobDetail';
import { JobsView } from './components/JobsView';
import { EMPTY_VALUES, ISubmitValues } from './components/SubmitForm';
import { browserShared, filesOf, IFilesInfo, scriptRefusal } from './files';
import { fluxIcon } from './icons';
import { formatF58, JobId, parseJobId } from './jobid';
import { ALL_COLUMN_IDS, ColumnId, statusOf } from './jobs';
import { JobsModel } from './model';
import { JobsSidebar } from './sidebar';
import { SubmitPanel } from './submit';

const PLUGIN_ID = 'flux-hub:plugin';

namespace CommandIDs {
  export const open = 'flux-hub:open';
  export const refresh = 'flux-hub:refresh';
  export const submit = 'flux-hub:submit';
  export const submitFile = 'flux-hub:submit-file';
  export const openJob = 'flux-hub:open-job';
  export const openTable = 'flux-hub:open-table';
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

    let table: MainAreaWidget<ReactWidget> | null = null;
    const sidebar = new JobsSidebar({
      model,
      commands,
      toolbar: [
        { id: CommandIDs.submit, icon: addIcon },
        { id: CommandIDs.refresh, icon: refreshIcon },
        { id: CommandIDs.openTable, icon: launchIcon }
      ],
      onOpen: id => void commands.execute(CommandIDs.openJob, { id })
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

    let submitPanel: MainAreaWidget<SubmitPanel> | null = null;
    const openSubmitForm = (
      initial: ISubmitValues,
      files: IFilesInfo | null
    ) => {
      submitPanel?.dispose();
      const content = new SubmitPanel({
        initial,
        files,
        submit: request => api.submit(request),
        // Asked once, kept by the API (the form's help is the description's).
        requestFields: api.requestFields(),
        onSubmitted: id => {
          model.watch(id);
          Notification.success(`Submitted Flux job ${formatF58(id)}.`, {
            autoClose: 5000,
            actions: [
              {
                label: 'Show job',
                callback: () =>
                  void commands.execute(CommandIDs.openJob, { id })
              }
            ]
          });
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
      execute: async args => {
        const files = await sharedFiles();
        openSubmitForm(
          {
            ...EMPTY_VALUES,
            command: (args.command as string) ?? '',
            name: (args.name as string) ?? '',
            workdir:
              (args.workdir as string) ??
              defaultWorkdir(browser?.model.path ?? '', files)
          },
          files
        );
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
          files
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
