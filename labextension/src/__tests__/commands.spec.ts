/**
 * The plugin's "Submit Flux Job…" and "Submit as Flux Job…" commands on the
 * three kinds of server (FLUX_HUB_PATHS unset, "", a mapping): which working
 * directory the form opens with, and which scripts are refused in one line
 * before any form, as GET cluster's `files` says. And the History view's
 * commands: Edit and run (the form filled with a recorded request), Run
 * again (POST history/rerun, the form when it cannot run as it was), Open
 * the origin (the notebook at its %%flux cell, or the file).
 */
import { Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { IFilesInfo } from '../files';
import plugin from '../index';
import { SubmitPanel } from '../submit';
import { BIG, json, settingsWith } from './fakes';

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

/** What the fake server was sent: method, path and JSON body. */
interface ISent {
  method: string;
  path: string;
  body: any;
}

function activate(
  files: IFilesInfo | undefined | 'down',
  answer: (sent: ISent) => Response | null = () => null
) {
  PageConfig.setOption('serverRoot', '/home/jovyan');
  const asked: string[] = [];
  const sent: ISent[] = [];
  const settings = settingsWith(async request => {
    const path = new URL(request.url).pathname;
    asked.push(path);
    const text = request.method === 'GET' ? '' : await request.text();
    const one = {
      method: request.method,
      path: path.replace(/^.*\/flux-hub\/api\//, ''),
      body: text ? JSON.parse(text) : null
    };
    sent.push(one);
    const answered = answer(one);
    if (answered) {
      return answered;
    }
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
  // JupyterLab's docmanager:open, answering with what `documents` holds
  const documents: Record<string, unknown> = {};
  const openedPaths: string[] = [];
  commands.addCommand('docmanager:open', {
    execute: async args => {
      const path = args.path as string;
      openedPaths.push(path);
      if (!(path in documents)) {
        throw new Error(`No such file: ${path}`);
      }
      return documents[path];
    }
  });
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
  /** The options of the submit form opened last, or null. */
  const lastForm = () => {
    const panel = opened.length ? opened[opened.length - 1] : null;
    return panel ? ((panel as any).content as SubmitPanel).options : null;
  };
  return {
    browser,
    run,
    asked,
    sent,
    commands,
    documents,
    openedPaths,
    lastForm
  };
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

describe('Edit and run (a recorded request in the form)', () => {
  it('opens the form filled with the request, its message above it', async () => {
    const { run } = activate(ONE_MACHINE);
    const request = {
      command: 'python sweep.py --seed 3',
      name: 'sweep',
      num_tasks: 4,
      runtime: 5400,
      workdir: '/home/jovyan/project',
      envars: { OMP_NUM_THREADS: '' }
    };
    const form = (await run('flux-hub:submit', {
      request,
      message: "Job ƒ2's environment values were not kept (OMP_NUM_THREADS)."
    })) as any;
    // SubmitPanel's `request` and `message` options (the form fills itself from them)
    expect(form.request).toEqual(request);
    expect(form.message).toBe(
      "Job ƒ2's environment values were not kept (OMP_NUM_THREADS)."
    );
    // Without them, the form as before: no request, no message
    const plain = (await run('flux-hub:submit')) as any;
    expect(plain.request).toBeNull();
    expect(plain.message).toBeNull();
    expect(plain.initial.command).toBe('');
  });
});

describe('Submit as Flux Job… records where the job came from', () => {
  it('sends the script’s path as the origin; the form sends none', async () => {
    const { browser, run, sent } = activate(ONE_MACHINE, one =>
      one.method === 'POST' && one.path === 'jobs'
        ? json(201, { id: 77 })
        : null
    );
    browser.selected = 'analysis/run.py';
    const form = await run('flux-hub:submit-file');
    expect(await form!.submit({ command: 'python3 run.py' })).toBe('77');
    const plain = await run('flux-hub:submit');
    await plain!.submit({ command: 'hostname' });
    const posts = sent.filter(s => s.method === 'POST' && s.path === 'jobs');
    expect(posts.map(p => p.body)).toEqual([
      {
        command: 'python3 run.py',
        origin: { kind: 'file', path: 'analysis/run.py' }
      },
      { command: 'hostname' }
    ]);
  });
});

describe('Run again', () => {
  let success: jest.SpyInstance;
  beforeEach(() => {
    success = jest.spyOn(Notification, 'success').mockReturnValue('');
  });
  afterEach(() => success.mockRestore());

  const RECORDED = { command: 'python sweep.py', name: 'sweep' };

  it('sends the recorded job’s id exactly and announces the new job', async () => {
    const { commands, sent } = activate(ONE_MACHINE, one =>
      one.path === 'history/rerun' ? json(201, { id: BIG.c }) : null
    );
    const id = await commands.execute('flux-hub:rerun', {
      id: BIG.b,
      cluster: 'http://127.0.0.1:5000',
      request: RECORDED
    });
    expect(id).toBe(BIG.c);
    expect(sent.find(s => s.path === 'history/rerun')).toEqual({
      method: 'POST',
      path: 'history/rerun',
      body: { id: BIG.b, cluster: 'http://127.0.0.1:5000' }
    });
    expect(success.mock.calls[0][0]).toBe(
      'Submitted Flux job ƒ3gDmDv6tnx9. It runs ƒ3gDmDv6tnx8 again.'
    );
  });

  it('opens the form with the server’s sentence when it cannot run as it was', async () => {
    const why =
      "Job ƒ3gDmDv6tnx8's environment values were not kept (TOKEN): give them (--env TOKEN=…) or use Edit and run.";
    const { commands, lastForm } = activate(ONE_MACHINE, one =>
      one.path === 'history/rerun' ? json(409, { message: why }) : null
    );
    const id = await commands.execute('flux-hub:rerun', {
      id: BIG.b,
      request: RECORDED
    });
    expect(id).toBeNull();
    const form = lastForm() as any;
    expect(form.request).toEqual(RECORDED);
    expect(form.message).toBe(why);
    expect(success).not.toHaveBeenCalled();
  });

  it('passes on any other refusal in the server’s words', async () => {
    const { commands } = activate(ONE_MACHINE, one =>
      one.path === 'history/rerun'
        ? json(404, { message: 'Job ƒ3gDmDv6tnx8 is not in your history.' })
        : null
    );
    await expect(
      commands.execute('flux-hub:rerun', { id: BIG.b, request: RECORDED })
    ).rejects.toThrow('Job ƒ3gDmDv6tnx8 is not in your history.');
  });
});

describe('Open the origin', () => {
  let info: jest.SpyInstance;
  let warning: jest.SpyInstance;
  beforeEach(() => {
    info = jest.spyOn(Notification, 'info').mockReturnValue('');
    warning = jest.spyOn(Notification, 'warning').mockReturnValue('');
  });
  afterEach(() => {
    info.mockRestore();
    warning.mockRestore();
  });

  /** A notebook panel as docmanager:open gives it: code cells with their execution counts. */
  function notebook(counts: (number | null)[]) {
    const cells = counts.map(count => ({
      model: { type: 'code', executionCount: count }
    }));
    const content = {
      widgets: cells,
      activeCellIndex: 0,
      scrolledTo: null as unknown,
      scrollToCell: async (cell: unknown) => {
        content.scrolledTo = cell;
      }
    };
    return { context: { ready: Promise.resolve() }, content };
  }

  it('opens the notebook at the %%flux cell that submitted the job', async () => {
    const { commands, documents, openedPaths } = activate(ONE_MACHINE);
    const panel = notebook([1, null, 3, 4]);
    documents['project/analysis.ipynb'] = panel;
    await commands.execute('flux-hub:open-origin', {
      path: 'project/analysis.ipynb',
      cell: 3
    });
    expect(openedPaths).toEqual(['project/analysis.ipynb']);
    expect(panel.content.activeCellIndex).toBe(2);
    expect(panel.content.scrolledTo).toBe(panel.content.widgets[2]);
    expect(info).not.toHaveBeenCalled();
  });

  it('says so when the cell is gone, and when the file is', async () => {
    const { commands, documents } = activate(ONE_MACHINE);
    const panel = notebook([5, 6]);
    documents['analysis.ipynb'] = panel;
    await commands.execute('flux-hub:open-origin', {
      path: 'analysis.ipynb',
      cell: 3
    });
    expect(panel.content.activeCellIndex).toBe(0);
    expect(info.mock.calls[0][0]).toBe(
      'Cell [3] is no longer in analysis.ipynb: it was run again or its outputs cleared.'
    );
    await commands.execute('flux-hub:open-origin', { path: 'gone/run.py' });
    expect(warning.mock.calls[0][0]).toBe(
      'gone/run.py cannot be opened: it was moved or deleted.'
    );
  });

  it('opens a file as it is', async () => {
    const { commands, documents, openedPaths } = activate(ONE_MACHINE);
    documents['scripts/run.sh'] = { context: { ready: Promise.resolve() } };
    await commands.execute('flux-hub:open-origin', { path: 'scripts/run.sh' });
    expect(openedPaths).toEqual(['scripts/run.sh']);
    expect(info).not.toHaveBeenCalled();
    expect(warning).not.toHaveBeenCalled();
  });
});
