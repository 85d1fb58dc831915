import { Widget } from '@lumino/widgets';

import { FluxHubAPI, IJob } from '../api';
import { JobDetail } from '../components/JobDetail';
import { JobsModel } from '../model';
import { BIG, controlledStream, flush, job, json, settingsWith } from './fakes';

/** Wait until `check` passes (React renders and requests settle asynchronously). */
async function until(check: () => void, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > end) {
        throw error;
      }
      await flush(10);
    }
  }
}

function setup(
  initial: IJob,
  output: string[] = [],
  openFolder?: (path: string) => void
) {
  const state = {
    job: initial,
    output,
    cancelled: [] as string[],
    requests: [] as string[]
  };
  const stream = controlledStream();
  let streamSignal: AbortSignal | null = null;
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const path = new URL(request.url).pathname.replace(
        '/user/alice/flux-hub/api/',
        ''
      );
      state.requests.push(`${request.method} ${path}`);
      if (path.endsWith('/output/stream')) {
        streamSignal = request.signal;
        return stream.response;
      }
      if (path.endsWith('/output')) {
        return json(200, { output: state.output });
      }
      if (path.endsWith('/cancel')) {
        // The id the request names, as the server would read it.
        state.cancelled.push(path.split('/')[1]);
        return json(200, { message: 'Job is requested to cancel.' });
      }
      return json(200, state.job);
    })
  );
  const model = new JobsModel(api, { auto: false });
  const widget = new JobDetail({ model, id: initial.id, openFolder });
  Widget.attach(widget, document.body);
  const text = () => widget.node.textContent ?? '';
  const outputText = () => widget.node.querySelector('pre')?.textContent ?? '';
  return {
    state,
    stream,
    widget,
    model,
    text,
    outputText,
    signal: () => streamSignal
  };
}

describe('JobDetail', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it('shows every field of a finished job and its output', async () => {
    const done = job({
      id: '11',
      name: 'echo',
      command: ['echo', 'hello'],
      returncode: 0,
      nodelist: 'node-0',
      urgency: 16
    });
    const { widget, text, outputText } = setup(done, ['hello\n']);
    await until(() => expect(outputText()).toBe('hello\n'));
    expect(text()).toContain('COMPLETED');
    expect(text()).toContain('echo hello');
    expect(text()).toContain('urgency');
    expect(text()).not.toContain('Cancel job');
    expect(widget.following).toBe(false);
    widget.dispose();
  });

  /** The summary's row for a label: its value cell. */
  function summaryCell(widget: Widget, label: string): HTMLElement | null {
    const rows = widget.node.querySelectorAll<HTMLTableRowElement>(
      '[aria-label="Job summary"] tr'
    );
    const row = Array.from(rows).find(r => r.cells[0].textContent === label);
    return row ? row.cells[1] : null;
  }

  it('says which sweep a job is of, and its place in it', async () => {
    const done = job({
      id: '31',
      name: 'grid [3/20]',
      command: ['echo', '3'],
      sweep: { id: 'abc', group: 'grid', index: 3, total: 20 }
    });
    const { widget } = setup(done, []);
    await until(() => expect(summaryCell(widget, 'Sweep')).not.toBeNull());
    expect(summaryCell(widget, 'Sweep')!.textContent).toBe('grid (3 of 20)');
    widget.dispose();
  });

  it("shows the working directory as the lab's path, its link opening the folder", async () => {
    const opened: string[] = [];
    const done = job({
      id: '21',
      name: 'run.py',
      command: ['python3', 'run.py'],
      cwd: '/shared/home/alice/analysis',
      lab_workdir: '/home/jovyan/analysis',
      browser_path: 'analysis'
    });
    const { widget } = setup(done, [], path => opened.push(path));
    await until(() =>
      expect(summaryCell(widget, 'Working directory')).not.toBeNull()
    );
    const cell = summaryCell(widget, 'Working directory')!;
    const link = cell.querySelector('a')!;
    expect(link.textContent).toBe('/home/jovyan/analysis');
    expect(link.getAttribute('title')).toBe(
      'Show this folder in the file browser'
    );
    // A real link too (a new tab opens the folder), under the lab's base URL
    expect(link.getAttribute('href')).toMatch(/\/lab\/tree\/analysis$/);
    // Where the cluster ran it, in the cluster's own words
    expect(cell.textContent).toBe(
      '/home/jovyan/analysis (on the cluster: /shared/home/alice/analysis)'
    );
    link.click();
    expect(opened).toEqual(['analysis']);
    widget.dispose();
  });

  it('shows the lab path alone on one machine, and the raw one when the lab cannot see it', async () => {
    const same = job({
      id: '22',
      cwd: '/home/alice/analysis',
      lab_workdir: '/home/alice/analysis',
      browser_path: 'analysis'
    });
    let { widget } = setup(same, [], () => undefined);
    await until(() =>
      expect(summaryCell(widget, 'Working directory')).not.toBeNull()
    );
    expect(summaryCell(widget, 'Working directory')!.textContent).toBe(
      '/home/alice/analysis'
    );
    widget.dispose();
    document.body.innerHTML = '';

    // A folder of the cluster's that no lab folder maps to: no link, its raw path
    const elsewhere = job({
      id: '23',
      cwd: '/scratch/run7',
      lab_workdir: null,
      browser_path: null
    });
    ({ widget } = setup(elsewhere, [], () => undefined));
    await until(() =>
      expect(summaryCell(widget, 'Working directory')).not.toBeNull()
    );
    let cell = summaryCell(widget, 'Working directory')!;
    expect(cell.textContent).toBe('/scratch/run7');
    expect(cell.querySelector('a')).toBeNull();
    widget.dispose();
    document.body.innerHTML = '';

    // A lab folder outside the Jupyter server's root: the lab path, no link
    const outside = job({
      id: '24',
      cwd: '/shared/home/alice/other',
      lab_workdir: '/home/jovyan/other',
      browser_path: null
    });
    ({ widget } = setup(outside, [], () => undefined));
    await until(() =>
      expect(summaryCell(widget, 'Working directory')).not.toBeNull()
    );
    cell = summaryCell(widget, 'Working directory')!;
    expect(cell.querySelector('a')).toBeNull();
    expect(cell.textContent).toBe(
      '/home/jovyan/other (on the cluster: /shared/home/alice/other)'
    );
    widget.dispose();
  });

  it('says at the top why a job failed to start, with a hint for shell syntax', async () => {
    const failed = job({
      id: '12',
      name: 'for',
      result: 'FAILED',
      returncode: 127,
      exception: {
        occurred: true,
        type: 'exec',
        note: 'task 0 (host vm0): start failed: for: No such file or directory'
      }
    });
    const { widget } = setup(failed);
    await until(() =>
      expect(widget.node.querySelector('.jp-FluxHub-startFailure')).toBeTruthy()
    );
    const banner = widget.node.querySelector('.jp-FluxHub-startFailure')!;
    expect(banner.textContent).toContain('The job failed to start.');
    expect(banner.textContent).toContain('start failed: for: No such file');
    expect(banner.textContent).toContain('Submit it again as a shell script');
    widget.dispose();
  });

  it("follows a running job's output live, then shows the final state", async () => {
    const running = job({ id: '12', name: 'count', state: 'RUN', result: '' });
    const { state, stream, widget, text, outputText } = setup(running, []);
    await until(() => expect(widget.following).toBe(true));
    expect(text()).toContain('(following live)');
    stream.push('1\n');
    await until(() => expect(outputText()).toBe('1\n'));
    stream.push('2\n');
    await until(() => expect(outputText()).toBe('1\n2\n'));

    state.job = {
      ...running,
      state: 'INACTIVE',
      result: 'COMPLETED',
      returncode: 0
    };
    state.output = ['1\n', '2\n'];
    stream.end();
    await until(() => expect(text()).toContain('COMPLETED'));
    expect(widget.following).toBe(false);
    expect(text()).not.toContain('(following live)');
    expect(outputText()).toBe('1\n2\n');
    widget.dispose();
  });

  it('stops following when closed', async () => {
    const running = job({ id: '13', state: 'RUN', result: '' });
    const { widget, signal } = setup(running);
    await until(() => expect(signal()).not.toBeNull());
    expect(signal()!.aborted).toBe(false);
    widget.dispose();
    expect(signal()!.aborted).toBe(true);
  });

  it('cancels a running job only after confirmation', async () => {
    // Above 2^53: as a number it would be 1152921504606859264, another job.
    const running = job({ id: BIG.b, name: 'sleep', state: 'RUN', result: '' });
    const { state, widget, text } = setup(running);
    await until(() => expect(text()).toContain('Cancel job'));

    const button = () =>
      Array.from(widget.node.querySelectorAll('button')).find(
        b => b.textContent === 'Cancel job'
      )!;
    const dialogButton = (label: string) =>
      Array.from(
        document.querySelectorAll<HTMLButtonElement>('.jp-Dialog button')
      ).find(b => b.textContent === label)!;

    button().click();
    await until(() => expect(dialogButton('Keep running')).toBeTruthy());
    expect(document.querySelector('.jp-Dialog')!.textContent).toContain(
      'Cancel job ƒ3gDmDv6tnx8 (sleep)?'
    );
    dialogButton('Keep running').click();
    await until(() => expect(document.querySelector('.jp-Dialog')).toBeNull());
    expect(state.cancelled).toEqual([]);

    button().click();
    await until(() => expect(dialogButton('Cancel job')).toBeTruthy());
    state.job = { ...running, state: 'INACTIVE', result: 'CANCELED' };
    dialogButton('Cancel job').click();
    await until(() => expect(text()).toContain('Job is requested to cancel.'));
    expect(state.cancelled).toEqual([BIG.b]);
    expect(state.requests).toContain(`POST jobs/${BIG.b}/cancel`);
    await until(() => expect(text()).toContain('CANCELED'));
    expect(text()).not.toContain('Cancel job');
    widget.dispose();
  });

  it('shows the id as F58 and as its exact decimal, and asks for that id', async () => {
    const running = job({ id: BIG.d, name: 'count', state: 'RUN', result: '' });
    const { state, stream, widget } = setup(running, ['1\n']);
    await until(() => expect(widget.following).toBe(true));
    const header = widget.node.querySelector('.jp-FluxHub-jobId')!;
    expect(header.textContent).toBe('ƒ6ra9Ab2w9q');
    expect(header.getAttribute('title')).toBe(BIG.d);
    const f58 = widget.node.querySelector('[aria-label="Job ID (F58)"]')!;
    const decimal = widget.node.querySelector(
      '[aria-label="Job ID (decimal)"]'
    )!;
    expect(f58.textContent).toBe('ƒ6ra9Ab2w9q');
    expect(decimal.textContent).toBe('43486559021826048');
    expect(widget.title.label).toBe('count ƒ6ra9Ab2w9q');
    expect(widget.jobId).toBe(BIG.d);
    expect(widget.job?.id).toBe(BIG.d);

    state.job = { ...running, state: 'INACTIVE', result: 'COMPLETED' };
    stream.end();
    await until(() => expect(widget.following).toBe(false));
    await until(() =>
      expect(state.requests).toContain(`GET jobs/${BIG.d}/output`)
    );
    expect(state.requests).toEqual([
      `GET jobs/${BIG.d}`,
      `GET jobs/${BIG.d}/output/stream`,
      `GET jobs/${BIG.d}`,
      `GET jobs/${BIG.d}/output`
    ]);
    widget.dispose();
  });
});

/** What GET cluster says where the server reads the cluster through the hub's reader. */
const CLUSTER = {
  account: 'alice',
  url: 'http://127.0.0.1:5000',
  nodes: ['node-0'],
  reachable: true,
  error: null,
  resources: null,
  queue: { running: 1, waiting: 3 },
  as_of: null,
  reader: true
};

const clock = new Intl.DateTimeFormat(undefined, {
  hour: 'numeric',
  minute: '2-digit'
});

/** A job waiting for the scheduler, with `waiting` as the server gives it. */
function waiting(fields: Partial<IJob>): IJob {
  return job({
    id: '77',
    name: 'big-run',
    state: 'SCHED',
    result: '',
    ncores: 32,
    ...fields
  });
}

describe('A waiting job in its detail', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  function detail(own: IJob, listed: IJob[]) {
    const state = { own, listed };
    const stream = controlledStream();
    const api = new FluxHubAPI(
      settingsWith(async request => {
        const path = new URL(request.url).pathname;
        if (path.endsWith('/cluster')) {
          return json(200, CLUSTER);
        }
        if (path.endsWith('/output/stream')) {
          return stream.response;
        }
        if (path.endsWith('/output')) {
          return json(200, { output: [] });
        }
        if (path.endsWith('/jobs')) {
          return json(200, {
            version: '1',
            complete: true,
            jobs: state.listed,
            names: {}
          });
        }
        return json(200, state.own);
      })
    );
    const model = new JobsModel(api, { auto: false, interval: 60 });
    model.visible = true;
    const widget = new JobDetail({ model, id: own.id });
    Widget.attach(widget, document.body);
    const box = () =>
      widget.node.querySelector(
        '[aria-label="Why it waits"]'
      ) as HTMLElement | null;
    return { state, model, widget, box, stream };
  }

  it('says why it waits, its position and when it should start, in sentences', async () => {
    const estimate = Date.now() / 1000 + 12 * 60 + 20;
    const when = clock.format(new Date(estimate * 1000));
    const own = waiting({
      // The job's own record: the server knows no position without the reader.
      waiting: {
        reason: 'Waiting for resources: it asks for 32 cores, 12 free now.',
        position: null,
        ahead: null,
        t_estimate: estimate
      }
    });
    const listed = waiting({
      waiting: {
        reason:
          'Waiting for resources behind 2 jobs: it asks for 32 cores, 12 free now.',
        position: 3,
        ahead: 2,
        t_estimate: estimate
      }
    });
    const { model, box } = detail(own, [listed]);
    await until(() => expect(box()).not.toBeNull());
    await model.refresh();
    await until(() => expect(box()!.textContent).toContain('Position'));
    const lines = Array.from(box()!.children).map(c => c.textContent);
    expect(lines).toEqual([
      'Why it waits: Waiting for resources behind 2 jobs: it asks for 32 cores, 12 free now.',
      'Position: 3 (2 ahead)',
      `Should start: ${when} (in 12 min)`
    ]);
    model.dispose();
  });

  it('says only what the server knows, and nothing once the job runs', async () => {
    const own = waiting({
      waiting: {
        reason: 'Waiting for the scheduler.',
        position: null,
        ahead: null,
        t_estimate: null
      }
    });
    const { model, box, state } = detail(own, [own]);
    await until(() => expect(box()).not.toBeNull());
    await model.refresh();
    expect(Array.from(box()!.children).map(c => c.textContent)).toEqual([
      'Why it waits: Waiting for the scheduler.'
    ]);
    // It starts: the list's record has no `waiting` any more.
    const running = { ...own, state: 'RUN', t_run: Date.now() / 1000 };
    delete running.waiting;
    state.listed = [running];
    await model.refresh();
    await until(() => expect(box()).toBeNull());
    model.dispose();
  });
});
