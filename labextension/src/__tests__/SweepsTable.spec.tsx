import * as React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';

import { FluxHubAPI, IClusterInfo, IJob, ISweepProgress } from '../api';
import { JobsView } from '../components/JobsView';
import { ALL_COLUMN_IDS } from '../jobs';
import { JobsModel } from '../model';
import { groupRows, stateCounts } from '../sweeps';
import { flush, job, json, settingsWith } from './fakes';

const CLUSTER: IClusterInfo = {
  account: 'alice',
  url: 'http://127.0.0.1:5000',
  nodes: ['node-0'],
  reachable: true,
  error: null
};

// Slow machines: the preview's debounce and the dialogs take their time.
jest.setTimeout(20000);

async function until(check: () => void, ms = 8000): Promise<void> {
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

const SWEEP = 'a1b2c3';

/**
 * A 20-job sweep "grid": jobs 1-2 completed, 3-14 running, 15-20 waiting,
 * and two jobs of no sweep, 100 (older) and 200 (newer).
 */
function sweepJobs(): IJob[] {
  const jobs: IJob[] = [job({ id: '100', name: 'alone-old' })];
  for (let i = 1; i <= 20; i++) {
    const state = i <= 2 ? 'INACTIVE' : i <= 14 ? 'RUN' : 'SCHED';
    jobs.push(
      job({
        id: String(i + 100),
        name: `grid [${i}/20]`,
        state,
        result: i <= 2 ? 'COMPLETED' : '',
        returncode: i <= 2 ? 0 : '',
        sweep: { id: SWEEP, group: 'grid', index: i, total: 20 }
      })
    );
  }
  jobs.push(job({ id: '200', name: 'alone-new', state: 'RUN', result: '' }));
  return jobs;
}

/** A server of alice's jobs and sweeps; every request is noted. */
function setup(jobs: IJob[], unfinished: ISweepProgress[] = []) {
  const state = {
    jobs,
    version: 0,
    cancelled: [] as string[],
    unfinished,
    reruns: [] as unknown[],
    rerunRefusal: null as string | null,
    requests: [] as string[]
  };
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const url = new URL(request.url);
      const path = url.pathname;
      state.requests.push(`${request.method} ${path}${url.search}`);
      if (path.endsWith('/cluster')) {
        return json(200, CLUSTER);
      }
      if (path.endsWith('/sweeps') && request.method === 'GET') {
        return json(200, { sweeps: state.unfinished });
      }
      const rerun = path.match(/\/sweeps\/([0-9a-f]+)\/rerun$/);
      if (rerun) {
        state.reruns.push(await request.json());
        if (state.rerunRefusal) {
          return json(400, { message: state.rerunRefusal, reasons: [] });
        }
        return json(202, {
          sweep: 'ffee',
          group: 'grid',
          count: 20,
          total: 20,
          submitted: 0,
          failed: 0,
          errors: [],
          done: false
        });
      }
      const cancel = path.match(/\/jobs\/([0-9]+)\/cancel$/);
      if (cancel) {
        const index = state.jobs.findIndex(j => j.id === cancel[1]);
        state.cancelled.push(cancel[1]);
        state.jobs[index] = {
          ...state.jobs[index],
          state: 'INACTIVE',
          result: 'CANCELED'
        };
        return json(200, { message: 'Job is requested to cancel.' });
      }
      const one = path.match(/\/jobs\/([0-9]+)$/);
      if (one) {
        return json(
          200,
          state.jobs.find(j => j.id === one[1])
        );
      }
      return json(200, {
        version: String(++state.version),
        complete: true,
        jobs: state.jobs,
        names: {}
      });
    })
  );
  const model = new JobsModel(api, { auto: false, interval: 60 });
  model.visible = true;
  const opened: string[] = [];
  const view = render(
    <JobsView
      model={model}
      columns={ALL_COLUMN_IDS}
      onOpen={id => opened.push(id)}
    />
  );
  const refresh = () => act(() => model.refresh());
  return { state, model, api, opened, refresh, view };
}

const groupRow = () =>
  document.querySelector<HTMLTableRowElement>(
    `tr.jp-FluxHub-groupRow[data-sweep="${SWEEP}"]`
  );
const toggle = () => screen.getByRole('button', { name: 'grid' });
const shownIds = () =>
  Array.from(
    document.querySelectorAll<HTMLTableRowElement>(
      'tbody tr[data-job-id], tbody tr[data-sweep]'
    )
  ).map(r => r.getAttribute('data-job-id') ?? `sweep:${r.dataset.sweep}`);
const body = () =>
  screen.getByLabelText('Jobs: arrow keys select, Enter opens');
const dialogButton = (label: string) =>
  Array.from(
    document.querySelectorAll<HTMLButtonElement>('.jp-Dialog button')
  ).find(b => b.textContent === label);
const dialogText = () => document.querySelector('.jp-Dialog')?.textContent;
const menuItems = () =>
  Array.from(document.querySelectorAll('.jp-FluxHub-groupMenu .lm-Menu-item'));
/** Choose a menu item with the keyboard, as a person would. */
function choose(label: RegExp) {
  const menu = document.querySelector<HTMLElement>('.jp-FluxHub-groupMenu')!;
  const index = menuItems().findIndex(i => label.test(i.textContent ?? ''));
  const presses = menuItems()
    .slice(0, index + 1)
    .filter(
      i =>
        i.getAttribute('aria-disabled') !== 'true' &&
        i.getAttribute('data-type') !== 'separator'
    ).length;
  for (let i = 0; i < presses; i++) {
    fireEvent.keyDown(menu, { key: 'ArrowDown', keyCode: 40 });
  }
  fireEvent.keyDown(menu, { key: 'Enter', keyCode: 13 });
}

describe('a sweep in the jobs table', () => {
  afterEach(() => {
    document.querySelectorAll('.jp-Dialog').forEach(d => d.remove());
  });

  it('shows its 20 jobs as one row, in place of the first of them, with counts by state', async () => {
    const { refresh, model } = setup(sweepJobs());
    await refresh();
    // Newest first: the group where its newest job (120) is.
    expect(shownIds()).toEqual(['200', `sweep:${SWEEP}`, '100']);
    const row = groupRow()!;
    expect(row.textContent).toContain('grid');
    expect(row.textContent).toContain('20 jobs');
    expect(row.textContent).toContain('12 running · 6 pending · 2 completed');
    expect(toggle().getAttribute('aria-expanded')).toBe('false');
    expect(screen.getByText('22 jobs')).toBeTruthy();

    // Opened: its jobs under it, indented; closed again: gone.
    fireEvent.click(toggle());
    expect(toggle().getAttribute('aria-expanded')).toBe('true');
    const inGroup = document.querySelectorAll('tr.jp-mod-inGroup');
    expect(inGroup.length).toBe(20);
    expect(shownIds().slice(0, 4)).toEqual([
      '200',
      `sweep:${SWEEP}`,
      '120',
      '119'
    ]);
    fireEvent.click(toggle());
    expect(document.querySelectorAll('tr.jp-mod-inGroup').length).toBe(0);
    model.dispose();
  });

  it('opens and closes with the keyboard, in the table’s own keyboard model', async () => {
    const { refresh, model, opened } = setup(sweepJobs());
    await refresh();
    fireEvent.focus(body()); // the first row (200) is the current one
    fireEvent.keyDown(body(), { key: 'ArrowDown' });
    expect(groupRow()!.getAttribute('aria-current')).toBe('true');
    fireEvent.keyDown(body(), { key: 'Enter' });
    expect(toggle().getAttribute('aria-expanded')).toBe('true');
    expect(opened).toEqual([]); // a group is opened, not a job
    fireEvent.keyDown(body(), { key: 'ArrowLeft' });
    expect(toggle().getAttribute('aria-expanded')).toBe('false');
    fireEvent.keyDown(body(), { key: 'ArrowRight' });
    expect(toggle().getAttribute('aria-expanded')).toBe('true');
    fireEvent.keyDown(body(), { key: ' ' });
    expect(toggle().getAttribute('aria-expanded')).toBe('false');
    fireEvent.keyDown(body(), { key: ' ' });

    // Into the group: its first job; Enter opens it; Left back to the group.
    fireEvent.keyDown(body(), { key: 'ArrowDown' });
    const first = document.querySelector('tr[data-job-id="120"]')!;
    expect(first.getAttribute('aria-current')).toBe('true');
    fireEvent.keyDown(body(), { key: 'Enter' });
    expect(opened).toEqual(['120']);
    fireEvent.keyDown(body(), { key: 'ArrowLeft' });
    expect(groupRow()!.getAttribute('aria-current')).toBe('true');
    // Past the group's 20 jobs to the last row.
    fireEvent.keyDown(body(), { key: 'End' });
    expect(
      document
        .querySelector('tr[data-job-id="100"]')!
        .getAttribute('aria-current')
    ).toBe('true');
    model.dispose();
  });

  it('shows the group with the jobs a filter matches', async () => {
    const { refresh, model } = setup(sweepJobs());
    await refresh();
    fireEvent.change(screen.getByLabelText('Show jobs in state'), {
      target: { value: 'PENDING' }
    });
    expect(shownIds()).toEqual([`sweep:${SWEEP}`]);
    expect(groupRow()!.textContent).toContain('6 of 20 jobs');
    expect(groupRow()!.textContent).toContain('6 pending');
    fireEvent.click(toggle());
    expect(document.querySelectorAll('tr.jp-mod-inGroup').length).toBe(6);
    // A text no job of it matches: no group.
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'alone' }
    });
    expect(groupRow()).toBeNull();
    model.dispose();
  });

  it('selects its jobs with Ctrl-click or its checkbox, and Shift over it', async () => {
    const { refresh, model } = setup(sweepJobs());
    await refresh();
    fireEvent.click(groupRow()!, { ctrlKey: true });
    expect(screen.getByText('20 selected')).toBeTruthy();
    expect(groupRow()!.getAttribute('aria-selected')).toBe('true');
    // Its checkbox: none of them again.
    fireEvent.click(screen.getByLabelText('Select the jobs of grid'));
    expect(groupRow()!.getAttribute('aria-selected')).toBe('false');
    // From the newest job to the oldest: the group's 20 between.
    fireEvent.click(document.querySelector('tr[data-job-id="200"]')!, {
      ctrlKey: true
    });
    fireEvent.click(document.querySelector('tr[data-job-id="100"]')!, {
      shiftKey: true
    });
    expect(screen.getByText('22 selected')).toBeTruthy();
    model.dispose();
  });

  it('cancels its waiting jobs, then all its active ones, each after one confirmation', async () => {
    const { refresh, model, state } = setup(sweepJobs());
    await refresh();
    const actions = screen.getByRole('button', { name: 'Actions for grid' });
    fireEvent.click(actions, { detail: 1 });
    expect(menuItems().map(i => i.textContent)).toEqual([
      'Cancel waiting (6)',
      'Cancel all (18)',
      '',
      'Run again: all',
      'Run again: unsuccessful (0)'
    ]);
    choose(/Cancel waiting/);
    await until(() => expect(dialogButton('Cancel 6 jobs')).toBeTruthy());
    expect(dialogText()).toContain(
      'Cancel the 6 jobs of “grid” waiting to start? They will not run.'
    );
    dialogButton('Cancel 6 jobs')!.click();
    const status = () =>
      document.querySelector('.jp-FluxHub-bulkStatus')?.textContent ?? '';
    await until(() =>
      expect(status()).toContain('Waiting jobs of “grid”: 6 cancelled.')
    );
    expect(state.cancelled.sort()).toEqual(
      ['115', '116', '117', '118', '119', '120'].sort()
    );
    expect(document.querySelectorAll('.jp-FluxHub-bulkStatus li').length).toBe(
      6
    );
    await until(() =>
      expect(groupRow()!.textContent).toContain(
        '12 running · 2 completed · 6 canceled'
      )
    );

    // All active: the 12 running (job 200 is not of the group).
    fireEvent.click(screen.getByRole('button', { name: 'Actions for grid' }), {
      detail: 1
    });
    choose(/Cancel all/);
    await until(() => expect(dialogButton('Cancel 12 jobs')).toBeTruthy());
    expect(dialogText()).toContain(
      'Cancel the 12 active jobs of “grid”? They will be stopped and cannot be resumed.'
    );
    dialogButton('Cancel 12 jobs')!.click();
    await until(() =>
      expect(status()).toContain('Jobs of “grid”: 12 cancelled.')
    );
    expect(state.cancelled).not.toContain('200');
    expect(state.cancelled.length).toBe(18);
    model.dispose();
  });

  it('runs it again, all or the unsuccessful jobs, and says why not in one line', async () => {
    const { refresh, model, state } = setup(sweepJobs());
    await refresh();
    fireEvent.click(screen.getByRole('button', { name: 'Actions for grid' }), {
      detail: 1
    });
    choose(/Run again: all/);
    await until(() => expect(dialogButton('Run again')).toBeTruthy());
    expect(dialogText()).toContain('Submit the 20 jobs of “grid” again');
    dialogButton('Run again')!.click();
    await until(() =>
      expect(document.querySelector('.jp-FluxHub-jobs')!.textContent).toContain(
        '“grid”: 20 jobs submitted again.'
      )
    );
    expect(state.reruns).toEqual([{ which: 'all' }]);
    // The new sweep's progress is asked for at once.
    expect(
      state.requests.filter(r => r.includes('/sweeps?unfinished=1')).length
    ).toBeGreaterThanOrEqual(2);

    await until(() => expect(dialogText()).toBeUndefined());
    state.rerunRefusal = 'Every job of grid completed.';
    fireEvent.click(screen.getByRole('button', { name: 'Actions for grid' }), {
      detail: 1
    });
    choose(/unsuccessful/);
    await until(() => expect(dialogButton('Run again')).toBeTruthy());
    dialogButton('Run again')!.click();
    await until(() =>
      expect(
        document.querySelector('.jp-FluxHub-bulkStatus[role="alert"]')
          ?.textContent
      ).toContain('“grid” was not run again: Every job of grid completed.')
    );
    expect(state.reruns[1]).toEqual({ which: 'unsuccessful' });
    model.dispose();
  });

  it('opens its menu from the keyboard (Shift+F10 on its row)', async () => {
    const { refresh, model } = setup(sweepJobs());
    await refresh();
    fireEvent.focus(body());
    fireEvent.keyDown(body(), { key: 'ArrowDown' });
    fireEvent.keyDown(body(), { key: 'F10', shiftKey: true });
    expect(menuItems().length).toBe(5);
    await until(() =>
      expect(
        document.querySelector('.jp-FluxHub-groupMenu .lm-mod-active')
          ?.textContent
      ).toBe('Cancel waiting (6)')
    );
    fireEvent.keyDown(
      document.querySelector<HTMLElement>('.jp-FluxHub-groupMenu')!,
      { key: 'Escape', keyCode: 27 }
    );
    model.dispose();
  });
});

describe('a sweep still submitting', () => {
  const progress = (submitted: number, done = false): ISweepProgress => ({
    sweep: 'beef',
    group: 'big',
    total: 1000,
    submitted,
    failed: 3,
    errors: [{ index: 7, message: 'Permission denied.' }],
    created: 1700000000,
    done
  });

  it('shows its progress while it is submitted, again in a panel opened anew, and not once done', async () => {
    const { refresh, model, state, view } = setup([], [progress(340)]);
    await refresh();
    await until(() => expect(screen.getByRole('progressbar')).toBeTruthy());
    const bar = screen.getByRole('progressbar') as HTMLProgressElement;
    expect(bar.value).toBe(340);
    expect(bar.max).toBe(1000);
    expect(
      document.querySelector('.jp-FluxHub-sweepProgress')!.textContent
    ).toContain('Submitting big: 340 of 1,000');
    expect(screen.getByRole('progressbar', { name: /Submitting big/ })).toBe(
      bar
    );
    const failed = screen.getByText('3 not submitted');
    expect(failed.getAttribute('title')).toBe('Job 8: Permission denied.');

    // Each refresh of the jobs reads it again while it is unfinished.
    state.unfinished = [progress(700)];
    await refresh();
    await until(() =>
      expect(
        (screen.getByRole('progressbar') as HTMLProgressElement).value
      ).toBe(700)
    );

    // The panel closed and opened anew (a page loaded again): read from the server.
    view.unmount();
    model.dispose();
    const again = setup([], [progress(800)]);
    await again.refresh();
    await until(() =>
      expect(
        (screen.getByRole('progressbar') as HTMLProgressElement).value
      ).toBe(800)
    );
    again.state.unfinished = [progress(1000, true)];
    // Done: it goes.
    await again.refresh();
    await until(() => expect(screen.queryByRole('progressbar')).toBeNull());
    again.model.dispose();
  });

  it('asks nothing more once none is unfinished', async () => {
    const { refresh, model, state } = setup([]);
    await refresh();
    await refresh();
    await refresh();
    const asked = state.requests.filter(r =>
      r.includes('/sweeps?unfinished=1')
    );
    expect(asked.length).toBe(1); // when the panel opened
    model.dispose();
  });
});

describe('groupRows and stateCounts', () => {
  it('puts a group where its first job is, its jobs under it when open', () => {
    const jobs = sweepJobs().reverse();
    const closed = groupRows(jobs, new Set());
    expect(closed.map(i => i.kind)).toEqual(['job', 'group', 'job']);
    const open = groupRows(jobs, new Set([SWEEP]));
    expect(open.length).toBe(23);
    expect(open.filter(i => i.kind === 'job' && i.indent).length).toBe(20);
  });

  it('counts in the table’s words, what runs first', () => {
    expect(
      stateCounts([
        job({ result: 'FAILED' }),
        job({ state: 'RUN', result: '' }),
        job({ state: 'DEPEND', result: '' }),
        job({ result: 'TIMEOUT' }),
        job({ state: 'RUN', result: '' })
      ])
    ).toBe('2 running · 1 pending · 1 failed · 1 timed out');
  });
});
