import * as React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';

import { FluxHubAPI, IClusterInfo, IJob } from '../api';
import { cancelJobs, rangeOf, summarize } from '../bulkcancel';
import { JobsView } from '../components/JobsView';
import { ALL_COLUMN_IDS } from '../jobs';
import { JobsModel } from '../model';
import { BIG, flush, job, json, settingsWith } from './fakes';

const CLUSTER: IClusterInfo = {
  account: 'alice',
  url: 'http://127.0.0.1:5000',
  nodes: ['node-0', 'node-1'],
  reachable: true,
  error: null
};

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

/**
 * A server of alice's jobs whose cancel ends a job as the cluster does, or
 * refuses it: `refuse` maps an id to the 400 flux-restful gives (then, if
 * `endOnRefusal`, the job is found ended); at most `inFlight` cancels at once
 * are seen.
 */
function setup(jobs: IJob[]) {
  const state = {
    jobs,
    version: 0,
    cancelled: [] as string[],
    refuse: new Map<string, string>(),
    endBeforeCancel: new Set<string>(),
    inFlight: 0,
    maxInFlight: 0
  };
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const path = new URL(request.url).pathname;
      if (path.endsWith('/cluster')) {
        return json(200, CLUSTER);
      }
      const cancel = path.match(/\/jobs\/([0-9]+)\/cancel$/);
      if (cancel) {
        const id = cancel[1];
        state.inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
        await flush(5);
        state.inFlight--;
        const index = state.jobs.findIndex(j => j.id === id);
        if (state.endBeforeCancel.has(id)) {
          state.jobs[index] = {
            ...state.jobs[index],
            state: 'INACTIVE',
            result: 'COMPLETED'
          };
          return json(400, {
            message: 'Job cannot be cancelled: [Errno 2] job is inactive.',
            reasons: []
          });
        }
        if (state.refuse.has(id)) {
          return json(403, { message: state.refuse.get(id), reasons: [] });
        }
        state.cancelled.push(id);
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
  render(
    <JobsView
      model={model}
      columns={ALL_COLUMN_IDS}
      onOpen={id => opened.push(id)}
    />
  );
  const refresh = () => act(() => model.refresh());
  return { state, model, api, opened, refresh };
}

const row = (id: string) =>
  document.querySelector<HTMLTableRowElement>(`tr[data-job-id="${id}"]`)!;
const selectedIds = () =>
  Array.from(document.querySelectorAll('tr[aria-selected="true"]')).map(r =>
    r.getAttribute('data-job-id')
  );
const body = () =>
  screen.getByLabelText('Jobs: arrow keys select, Enter opens');
const dialogButton = (label: string) =>
  Array.from(
    document.querySelectorAll<HTMLButtonElement>('.jp-Dialog button')
  ).find(b => b.textContent === label);
const dialogText = () => document.querySelector('.jp-Dialog')?.textContent;

/** Newest first: 6, 5, 4, 3, 2, 1. */
const SIX = () => [
  job({ id: '1', name: 'done', result: 'COMPLETED' }),
  job({ id: '2', name: 'run-a', state: 'RUN', result: '' }),
  job({ id: '3', name: 'run-b', state: 'RUN', result: '' }),
  job({ id: '4', name: 'wait-a', state: 'SCHED', result: '' }),
  job({ id: '5', name: 'wait-b', state: 'SCHED', result: '' }),
  job({ id: '6', name: 'wait-c', state: 'DEPEND', result: '' })
];

describe('selecting several jobs', () => {
  afterEach(() => {
    document.querySelectorAll('.jp-Dialog').forEach(d => d.remove());
  });

  it('selects with Ctrl- and Shift-click; the checkboxes show only then', async () => {
    const { refresh, model, opened } = setup(SIX());
    await refresh();
    expect(document.querySelector('.jp-FluxHub-check')).toBeNull();
    // A plain click opens the job and selects nothing.
    fireEvent.click(row('5'));
    expect(opened).toEqual(['5']);
    expect(selectedIds()).toEqual([]);
    expect(row('5').getAttribute('aria-current')).toBe('true');

    fireEvent.click(row('3'), { ctrlKey: true });
    expect(selectedIds()).toEqual(['3']);
    expect(opened).toEqual(['5']); // not opened
    expect(screen.getByLabelText('Select all jobs shown')).toBeTruthy();
    expect(screen.getByText('1 selected')).toBeTruthy();

    // Shift: from the last one clicked to this one.
    fireEvent.click(row('6'), { shiftKey: true });
    expect(selectedIds()).toEqual(['6', '5', '4', '3']);
    // Cmd-click takes one away; its checkbox another.
    fireEvent.click(row('4'), { metaKey: true });
    fireEvent.click(screen.getByLabelText('Select wait-c'));
    expect(selectedIds()).toEqual(['5', '3']);
    expect(opened).toEqual(['5']);

    // The header's checkbox: all shown, then none (and the checkboxes go).
    fireEvent.click(screen.getByLabelText('Select all jobs shown'));
    expect(selectedIds()).toEqual(['6', '5', '4', '3', '2', '1']);
    fireEvent.click(screen.getByLabelText('Select all jobs shown'));
    expect(selectedIds()).toEqual([]);
    expect(document.querySelector('.jp-FluxHub-check')).toBeNull();
    model.dispose();
  });

  it('is keyboard accessible: Space, Shift+arrows, Ctrl+A (what is shown), Escape', async () => {
    const { refresh, model, opened } = setup(SIX());
    await refresh();
    fireEvent.focus(body()); // the first row is the current one
    fireEvent.keyDown(body(), { key: ' ' });
    expect(selectedIds()).toEqual(['6']);
    fireEvent.keyDown(body(), { key: ' ' });
    expect(selectedIds()).toEqual([]);

    fireEvent.keyDown(body(), { key: 'ArrowDown' }); // 5
    fireEvent.keyDown(body(), { key: 'ArrowDown', shiftKey: true });
    fireEvent.keyDown(body(), { key: 'ArrowDown', shiftKey: true });
    expect(selectedIds()).toEqual(['5', '4', '3']);
    fireEvent.keyDown(body(), { key: 'ArrowUp', shiftKey: true });
    expect(selectedIds()).toEqual(['5', '4']);
    // Away and Space: added to what was selected.
    fireEvent.keyDown(body(), { key: 'End' });
    fireEvent.keyDown(body(), { key: ' ' });
    expect(selectedIds()).toEqual(['5', '4', '1']);
    fireEvent.keyDown(body(), { key: 'Enter' });
    expect(opened).toEqual(['1']);

    fireEvent.keyDown(body(), { key: 'Escape' });
    expect(selectedIds()).toEqual([]);

    // Ctrl+A: every job the filter shows, and no other.
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'wait' }
    });
    fireEvent.keyDown(body(), { key: 'a', ctrlKey: true });
    expect(selectedIds()).toEqual(['6', '5', '4']);
    // A job the filter then hides is no longer selected.
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'wait-a' }
    });
    await until(() => expect(selectedIds()).toEqual(['4']));
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: '' }
    });
    await until(() => expect(screen.getByText('1 selected')).toBeTruthy());
    model.dispose();
  });

  it('cancels the selected jobs after one confirmation, and says what became of each', async () => {
    const { refresh, model, state } = setup(SIX());
    await refresh();
    const ended: string[] = [];
    model.jobFinished.connect((_, j) => {
      ended.push(j.id);
    });
    fireEvent.click(row('1'), { ctrlKey: true }); // ended: not asked about
    fireEvent.click(row('2'), { ctrlKey: true });
    fireEvent.click(row('4'), { ctrlKey: true });
    fireEvent.click(row('5'), { ctrlKey: true });
    state.endBeforeCancel.add('4'); // ends while the dialog is open
    state.refuse.set('5', 'Permission denied: not your job.');

    fireEvent.click(screen.getByRole('button', { name: 'Cancel selected' }));
    await until(() => expect(dialogButton('Cancel 3 jobs')).toBeTruthy());
    expect(dialogText()).toContain(
      'Cancel the 3 selected jobs? They will be stopped and cannot be resumed. 1 more selected job has already ended and is left as it is.'
    );
    dialogButton('Keep them')!.click();
    await until(() => expect(dialogText()).toBeUndefined());
    await act(() => flush(20)); // the dialog's answer reaches the panel
    expect(state.cancelled).toEqual([]);

    fireEvent.click(screen.getByRole('button', { name: 'Cancel selected' }));
    await until(() => expect(dialogButton('Cancel 3 jobs')).toBeTruthy());
    dialogButton('Cancel 3 jobs')!.click();
    const status = () =>
      document.querySelector('.jp-FluxHub-bulkStatus')?.textContent ?? '';
    await until(() =>
      expect(status()).toContain(
        'Selected jobs: 1 cancelled, 1 had already ended, 1 refused.'
      )
    );
    expect(state.cancelled).toEqual(['2']);
    const lines = Array.from(
      document.querySelectorAll('.jp-FluxHub-bulkStatus li')
    ).map(li => li.textContent);
    // In the table's order (newest first).
    expect(lines).toEqual([
      'wait-b ƒ6 refused: Permission denied: not your job.',
      'wait-a ƒ5 had already ended (COMPLETED)',
      'run-a ƒ3 cancelled'
    ]);
    // The selection is done with; the table shows what the cluster says now.
    await until(() => expect(selectedIds()).toEqual([]));
    await until(() => expect(row('2').textContent).toContain('CANCELED'));
    // The summary tells; no notification of each end (the one refused, 5,
    // would still be told when it ends).
    expect(ended).toEqual([]);
    state.jobs[1] = { ...state.jobs[1], state: 'INACTIVE', result: 'FAILED' };
    state.jobs[4] = { ...state.jobs[4], state: 'INACTIVE', result: 'FAILED' };
    await refresh();
    expect(ended).toEqual(['5']);
    model.dispose();
  });

  it('cancels all waiting, and all the filter shows, from the Cancel menu', async () => {
    const { refresh, model, state } = setup(SIX());
    await refresh();
    const menuButton = screen.getByRole('button', {
      name: 'Cancel several jobs'
    });
    const items = () =>
      Array.from(
        document.querySelectorAll('.jp-FluxHub-cancelMenu .lm-Menu-item')
      );
    const choose = (label: RegExp) => {
      const menu = document.querySelector<HTMLElement>(
        '.jp-FluxHub-cancelMenu'
      )!;
      const index = items().findIndex(i => label.test(i.textContent ?? ''));
      // The keyboard: the arrows go over the items that can be chosen.
      const presses = items()
        .slice(0, index + 1)
        .filter(i => i.getAttribute('aria-disabled') !== 'true').length;
      for (let i = 0; i < presses; i++) {
        fireEvent.keyDown(menu, { key: 'ArrowDown', keyCode: 40 });
      }
      fireEvent.keyDown(menu, { key: 'Enter', keyCode: 13 });
    };

    fireEvent.click(menuButton, { detail: 1 });
    expect(items().map(i => i.textContent)).toEqual([
      'Cancel selected (0)',
      'Cancel all waiting (3)',
      'Cancel all matching the filter (0)'
    ]);
    expect(
      items().map(i => i.getAttribute('aria-disabled') === 'true')
    ).toEqual([true, false, true]);
    choose(/waiting/);
    await until(() => expect(dialogButton('Cancel 3 jobs')).toBeTruthy());
    expect(dialogText()).toContain(
      'Cancel all 3 of your jobs waiting to start? They will not run.'
    );
    dialogButton('Cancel 3 jobs')!.click();
    await until(() =>
      expect(
        document.querySelector('.jp-FluxHub-bulkStatus')?.textContent
      ).toContain('Waiting jobs: 3 cancelled.')
    );
    expect(state.cancelled.sort()).toEqual(['4', '5', '6']);

    // The filter: "run-b" and Running. One job matches.
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'run-b' }
    });
    fireEvent.click(menuButton, { detail: 1 });
    expect(items()[2].textContent).toBe('Cancel all matching the filter (1)');
    choose(/matching/);
    await until(() => expect(dialogButton('Cancel 1 job')).toBeTruthy());
    expect(dialogText()).toContain(
      'Cancel the active job matching the filter (“run-b”)? It will be stopped'
    );
    dialogButton('Cancel 1 job')!.click();
    await until(() =>
      expect(
        document.querySelector('.jp-FluxHub-bulkStatus')?.textContent
      ).toContain('Jobs matching the filter: 1 cancelled.')
    );
    expect(state.cancelled.sort()).toEqual(['3', '4', '5', '6']);
    model.dispose();
  });
});

describe('cancelJobs', () => {
  it('sends a few at a time, not all at once, and keeps the order given', async () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      job({ id: String(100 + i), state: 'SCHED', result: '' })
    );
    const { state, api, model } = setup(many);
    const seen: number[] = [];
    const results = await cancelJobs(api, many, {
      concurrency: 4,
      onProgress: done => seen.push(done)
    });
    expect(state.maxInFlight).toBe(4);
    expect(results.map(r => r.id)).toEqual(many.map(j => j.id));
    expect(summarize(results)).toBe('30 cancelled');
    expect(seen[seen.length - 1]).toBe(30);
    model.dispose();
  });

  it('finds a range by ids, above 2^53 too', () => {
    const rows = [job({ id: BIG.a }), job({ id: BIG.b }), job({ id: BIG.c })];
    expect(rangeOf(rows, BIG.c, BIG.b)).toEqual([BIG.b, BIG.c]);
    expect(rangeOf(rows, BIG.a, '1')).toEqual([]);
  });
});
