/**
 * The plugin's "Submit Flux Job…" and "Submit as Flux Job…" commands on the
 * three kinds of server (FLUX_HUB_PATHS unset, "", a mapping): which working
 * directory the form opens with, and which scripts are refused in one line
 * before any form, as GET cluster's `files` says.
 */
import { Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { IFilesInfo } from '../files';
import plugin from '../index';
import { SubmitPanel } from '../submit';
import { json, settingsWith } from './fakes';

const ONE_MACHINE: IFilesInfo = {
  shared: true,
  same_filesystem: true,
  folders: null
};
const NOTHING_SHARED: IFilesInfo = {
  shared: false,
  same_filesystem: false,
  folders: []
};
// The file browser's root is /home/jovyan; only its "shared" folder, and
// /data (which the file browser does not show), are the cluster's.
const MAPPED: IFilesInfo = {
  shared: true,
  same_filesystem: false,
  folders: [
    {
      lab: '/home/jovyan/shared',
      cluster: '/shared/home/alice',
      browser: 'shared'
    },
    { lab: '/data', cluster: '/shared/data', browser: null }
  ]
};

function activate(files: IFilesInfo | undefined | 'down') {
  PageConfig.setOption('serverRoot', '/home/jovyan');
  const asked: string[] = [];
  const settings = settingsWith(async request => {
    const path = new URL(request.url).pathname;
    asked.push(path);
    if (path.endsWith('/cluster') && files !== 'down') {
      return json(200, {
        account: 'alice',
        url: 'http://127.0.0.1:5000',
        nodes: ['node-0'],
        reachable: true,
        error: null,
        ...(files ? { files } : {})
      });
    }
    return json(503, { message: 'down', reasons: [] });
  });
  const commands = new CommandRegistry();
  const opened: Widget[] = [];
  const app = {
    commands,
    shell: {
      add: (widget: Widget, area: string) => {
        if (area === 'main') {
          opened.push(widget);
        }
      },
      activateById: () => undefined
    },
    contextMenu: { addItem: () => undefined },
    serviceManager: { serverSettings: settings }
  };
  const browser = {
    model: { path: '' },
    selected: '',
    selectedItems() {
      return [{ path: this.selected, type: 'file' }][Symbol.iterator]();
    }
  };
  plugin.activate(app as any, null, null, null, browser as any, null);
  /** The submit form opened by `command`, or null when none opened. */
  const run = async (command: string, args = {}) => {
    const before = opened.length;
    await commands.execute(command, args);
    const panel = opened.length > before ? opened[opened.length - 1] : null;
    return panel ? ((panel as any).content as SubmitPanel).options : null;
  };
  return { browser, run, asked };
}

describe('Submit Flux Job… (the form from the panel)', () => {
  it('on one machine starts in the file browser’s folder, as before', async () => {
    const { browser, run } = activate(ONE_MACHINE);
    browser.model.path = 'analysis';
    const form = await run('flux-hub:submit');
    expect(form?.initial.workdir).toBe('/home/jovyan/analysis');
    expect(form?.files).toEqual(ONE_MACHINE);
  });

  it('with nothing shared starts with no working directory', async () => {
    const { browser, run } = activate(NOTHING_SHARED);
    browser.model.path = 'analysis';
    const form = await run('flux-hub:submit');
    // Not the lab's folder, which every submit would have been refused for.
    expect(form?.initial.workdir).toBe('');
    expect(form?.files).toEqual(NOTHING_SHARED);
    browser.model.path = '';
    expect((await run('flux-hub:submit'))?.initial.workdir).toBe('');
  });

  it('with a mapping starts in the folder only when the cluster sees it', async () => {
    const { browser, run } = activate(MAPPED);
    browser.model.path = 'shared/analysis';
    expect((await run('flux-hub:submit'))?.initial.workdir).toBe(
      '/home/jovyan/shared/analysis'
    );
    browser.model.path = 'notes';
    expect((await run('flux-hub:submit'))?.initial.workdir).toBe('');
    browser.model.path = 'sharedstuff'; // a name that only begins like it
    expect((await run('flux-hub:submit'))?.initial.workdir).toBe('');
  });

  it('asks the server once, and opens the form as before when it cannot tell', async () => {
    const { browser, run, asked } = activate('down');
    browser.model.path = 'analysis';
    expect((await run('flux-hub:submit'))?.initial.workdir).toBe(
      '/home/jovyan/analysis'
    );
    const old = activate(undefined); // a server extension without `files`
    old.browser.model.path = 'analysis';
    expect((await old.run('flux-hub:submit'))?.initial.workdir).toBe(
      '/home/jovyan/analysis'
    );
    const mapped = activate(MAPPED);
    await mapped.run('flux-hub:submit');
    await mapped.run('flux-hub:submit');
    expect(mapped.asked.filter(p => p.endsWith('/cluster'))).toHaveLength(1);
    expect(asked.length).toBeGreaterThan(0);
  });

  it('keeps a working directory it is given', async () => {
    const { run } = activate(NOTHING_SHARED);
    const form = await run('flux-hub:submit', { workdir: '/scratch/run1' });
    expect(form?.initial.workdir).toBe('/scratch/run1');
  });
});

describe('Submit as Flux Job… (a script in the file browser)', () => {
  let warning: jest.SpyInstance;
  beforeEach(() => {
    warning = jest.spyOn(Notification, 'warning').mockReturnValue('');
  });
  afterEach(() => warning.mockRestore());

  it('on one machine opens the form in the script’s folder', async () => {
    const { browser, run } = activate(ONE_MACHINE);
    browser.selected = 'analysis/run.py';
    const form = await run('flux-hub:submit-file');
    expect(form?.initial).toMatchObject({
      command: 'python3 run.py',
      name: 'run.py',
      workdir: '/home/jovyan/analysis'
    });
    expect(warning).not.toHaveBeenCalled();
  });

  it('with nothing shared says in one line why it cannot run, and where the docs are', async () => {
    const { browser, run } = activate(NOTHING_SHARED);
    browser.selected = 'analysis/run.py';
    expect(await run('flux-hub:submit-file')).toBeNull();
    expect(warning).toHaveBeenCalledTimes(1);
    const line = warning.mock.calls[0][0] as string;
    expect(line).toBe(
      'Scripts cannot run as Flux jobs here: the cluster cannot see your files ' +
        "(no shared storage; flux-hub docs: 'Your files on the cluster')."
    );
    // One line, all of it shown: JupyterLab's notification cuts a message at 140 characters.
    expect(line).not.toContain('\n');
    expect(line.length).toBeLessThanOrEqual(140);
  });

  it('with a mapping runs a shared script and refuses one outside in one line', async () => {
    const { browser, run } = activate(MAPPED);
    browser.selected = 'shared/analysis/run.py';
    const form = await run('flux-hub:submit-file');
    expect(form?.initial.workdir).toBe('/home/jovyan/shared/analysis');
    expect(warning).not.toHaveBeenCalled();

    browser.selected = 'scratch/run.py';
    expect(await run('flux-hub:submit-file')).toBeNull();
    expect(warning.mock.calls[0][0]).toBe(
      'run.py cannot run as a Flux job: the cluster sees only ' +
        '/home/jovyan/shared, /data. Move it there first.'
    );
  });
});
