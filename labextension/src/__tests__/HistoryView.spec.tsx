/**
 * The sidebar's History view (components/HistoryView.tsx) over FluxHubAPI's
 * history() and a fake GET history that searches as the server does: what a
 * person sees in each row, searching, paging, the keyboard, the row's
 * actions; and the "Jobs | History" switch (sidebar.tsx).
 */
import * as React from 'react';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { Signal } from '@lumino/signaling';

import {
  FluxHubAPI,
  IClusterInfo,
  IHistoryRecord,
  IHistoryQuery
} from '../api';
import {
  HistoryView,
  originTarget,
  relativeTime,
  SEARCH_DELAY,
  sinceOf
} from '../components/HistoryView';
import { JobsView } from '../components/JobsView';
import { formatF58 } from '../jobid';
import { ALL_COLUMN_IDS } from '../jobs';
import { JobsModel } from '../model';
import { FluxHubError } from '../request';
import { SwitchedViews } from '../sidebar';
import { BIG, flush, job, json, settingsWith } from './fakes';

const NOW = Date.now() / 1000;
let next = 5000;

function record(fields: Partial<IHistoryRecord> = {}): IHistoryRecord {
  const n = next++;
  return {
    id: String(n),
    cluster: 'http://127.0.0.1:5000',
    account: 'alice',
    name: `job-${n}`,
    command: `echo ${n}`,
    origin: { kind: 'panel', path: null, cell: null, command: null },
    submitted: NOW - 120,
    status: 'COMPLETED',
    exit_code: 0,
    form: { command: `echo ${n}` },
    env_values_kept: true,
    rerun_of: null,
    ...fields
  };
}

/** GET history as the server answers it: newest first (the list's order), searched and paged. */
function fakeServer(records: IHistoryRecord[]) {
  const asked: URLSearchParams[] = [];
  const state = {
    records,
    failure: null as null | { status: number; message: string }
  };
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const url = new URL(request.url);
      if (!url.pathname.endsWith('/history')) {
        return json(404, { message: 'not here' });
      }
      asked.push(url.searchParams);
      if (state.failure) {
        return json(state.failure.status, {
          message: state.failure.message,
          reasons: []
        });
      }
      const p = url.searchParams;
      const q = (p.get('q') ?? '').toLowerCase();
      const found = state.records.filter(
        r =>
          (!q ||
            (r.name ?? '').toLowerCase().includes(q) ||
            r.command.toLowerCase().includes(q)) &&
          (!p.get('state') || r.status === p.get('state')) &&
          (!p.get('origin') || r.origin.kind === p.get('origin')) &&
          (!p.get('since') || (r.submitted ?? 0) >= Number(p.get('since')))
      );
      const limit = Number(p.get('limit') ?? 50);
      const offset = Number(p.get('offset') ?? 0);
      return json(200, {
        records: found.slice(offset, offset + limit),
        more: found.length > offset + limit,
        limit,
        offset
      });
    })
  );
  return { api, asked, state };
}

function setup(records: IHistoryRecord[], serverRoot = '/home/alice') {
  const server = fakeServer(records);
  const actions = {
    runAgain: [] as IHistoryRecord[],
    edit: [] as IHistoryRecord[],
    open: [] as IHistoryRecord[]
  };
  const rerun = { answer: '7000' as string | null | Error };
  const changed = new Signal<object, void>({});
  const view = render(
    <HistoryView
      history={(query: IHistoryQuery) => server.api.history(query)}
      onRunAgain={async r => {
        actions.runAgain.push(r);
        if (rerun.answer instanceof Error) {
          throw rerun.answer;
        }
        return rerun.answer;
      }}
      onEditAndRun={r => actions.edit.push(r)}
      onOpenOrigin={r => actions.open.push(r)}
      changed={changed}
      serverRoot={serverRoot}
    />
  );
  return { ...server, actions, rerun, changed, view };
}

const settle = () => act(() => flush());
const rows = () =>
  Array.from(document.querySelectorAll<HTMLElement>('.jp-FluxHub-historyRow'));
const rowOf = (id: string) =>
  document.querySelector<HTMLElement>(
    `.jp-FluxHub-historyRow[data-id="${id}"]`
  )!;
const footer = () => document.querySelector('.jp-FluxHub-footer')!.textContent;

describe('HistoryView rows', () => {
  it('shows each job: name whole, id, status, when, where from and command', async () => {
    const records = [
      record({
        id: BIG.b,
        name: 'walk-sleeper-with-a-long-name',
        command: 'bash -c "sleep 100; echo done with a long command line"',
        origin: {
          kind: 'magic',
          path: '/home/alice/project/analysis.ipynb',
          cell: '3',
          command: null
        },
        status: 'GONE',
        submitted: NOW - 3 * 3600
      }),
      record({
        name: 'run.py',
        origin: {
          kind: 'file',
          path: 'project/run.py',
          cell: null,
          command: null
        },
        status: 'FAILED',
        exit_code: 2
      }),
      record({
        name: null,
        command: '/usr/bin/hostname -s',
        origin: {
          kind: 'cli',
          path: null,
          cell: null,
          command: 'flux-hub submit hostname'
        },
        status: 'ACTIVE'
      }),
      record({ name: 'from-the-form' })
    ];
    setup(records);
    await settle();
    expect(rows().map(r => r.dataset.id)).toEqual(records.map(r => r.id));
    // The id read exactly (above 2^53), shown as flux jobs shows it
    const first = within(rowOf(BIG.b));
    expect(first.getByText('walk-sleeper-with-a-long-name')).toBeTruthy();
    expect(first.getByText('ƒ3gDmDv6tnx8').getAttribute('title')).toBe(
      `Job ID ${BIG.b}`
    );
    const state = rowOf(BIG.b).querySelector('.jp-FluxHub-historyState')!;
    expect(state.textContent).toBe('cluster gone');
    expect(
      rowOf(BIG.b).querySelector('.jp-FluxHub-historyOrigin')!.textContent
    ).toBe('analysis.ipynb [3]');
    expect(first.getByText('3 h ago')).toBeTruthy();
    const command = rowOf(BIG.b).querySelector('.jp-FluxHub-historyCommand')!;
    expect(command.getAttribute('title')).toBe(records[0].command);

    const file = rowOf(records[1].id);
    expect(file.querySelector('.jp-FluxHub-historyOrigin')!.textContent).toBe(
      'run.py'
    );
    expect(file.querySelector('.jp-FluxHub-historyState')!.textContent).toBe(
      'FAILED'
    );
    expect(
      file.querySelector('.jp-FluxHub-historyState')!.getAttribute('title')
    ).toBe('FAILED, exit code 2');
    // No name given: what Flux shows, the command's program
    const cli = within(rowOf(records[2].id));
    expect(cli.getByText('hostname')).toBeTruthy();
    expect(cli.getByText('terminal').getAttribute('title')).toBe(
      'From a terminal: flux-hub submit hostname'
    );
    expect(cli.getByText('ACTIVE')).toBeTruthy();
    expect(within(rowOf(records[3].id)).getByText('panel')).toBeTruthy();
    expect(footer()).toBe('4 jobs');
  });

  it('says when nothing is recorded, and when nothing matches', async () => {
    const { state } = setup([]);
    await settle();
    expect(footer()).toBe('No jobs recorded yet.');
    state.records = [record({ status: 'COMPLETED' })];
    fireEvent.change(screen.getByLabelText('Show recorded jobs in state'), {
      target: { value: 'TIMEOUT' }
    });
    await settle();
    expect(rows()).toHaveLength(0);
    expect(footer()).toBe('No recorded job matches.');
  });

  it('shows the server’s sentence when the history cannot be read', async () => {
    const server = setup([record()]);
    await settle();
    server.state.failure = {
      status: 400,
      message: 'The history cannot be searched: the query is not valid.'
    };
    fireEvent.change(screen.getByLabelText('Show recorded jobs from'), {
      target: { value: 'magic' }
    });
    await settle();
    expect(screen.getByRole('alert').textContent).toBe(
      'The history cannot be shown. The history cannot be searched: the query is not valid.'
    );
  });
});

describe('HistoryView sweep groups', () => {
  it('shows a sweep job’s group and place beside its name, and finds it by the group', async () => {
    jest.useFakeTimers();
    try {
      const sweep = { id: 's1', group: 'lr-scan', index: 3, total: 20 };
      // Named by the sweep ("GROUP [i/n]"): the group says it, once.
      const third = record({ name: 'lr-scan [3/20]', sweep });
      // Named by the person: the name beside the group.
      const fourth = record({
        name: 'train-0.01',
        sweep: { ...sweep, index: 4 }
      });
      const plain = record({ name: 'plain-job' });
      const { asked } = setup([plain, fourth, third]);
      await act(() => jest.advanceTimersByTimeAsync(0));
      const name = (id: string) =>
        rowOf(id).querySelector('.jp-FluxHub-historyName')!;
      const group = (id: string) =>
        rowOf(id).querySelector('.jp-FluxHub-historyGroup');
      expect(group(third.id)!.textContent).toBe('lr-scan 3/20');
      expect(name(third.id).textContent).toBe('lr-scan 3/20');
      expect(group(third.id)!.getAttribute('title')).toBe(
        'Job 3 of the 20 of the sweep “lr-scan”'
      );
      expect(name(fourth.id).textContent).toBe('lr-scan 4/20 train-0.01');
      expect(group(plain.id)).toBeNull();
      expect(name(plain.id).textContent).toBe('plain-job');
      expect(rowOf(fourth.id).getAttribute('aria-label')).toMatch(
        /^train-0\.01, group lr-scan 4\/20, /
      );

      // The search asks the server, which finds the group in the names.
      const box = document.querySelector('.jp-FluxHub-historySearch')!;
      fireEvent.change(box, { target: { value: 'lr-scan' } });
      await act(() => jest.advanceTimersByTimeAsync(SEARCH_DELAY + 10));
      expect(asked[asked.length - 1].get('q')).toBe('lr-scan');
      expect(rows().map(r => r.dataset.id)).toEqual([third.id]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('HistoryView search and pages', () => {
  it('finds the jobs submitted since a time back from now, or since a day', async () => {
    const now = Date.now() / 1000;
    const recent = record({ name: 'recent', submitted: now - 600 });
    const older = record({ name: 'older', submitted: now - 3 * 86400 });
    const oldest = record({ name: 'oldest', submitted: now - 60 * 86400 });
    const { asked } = setup([recent, older, oldest]);
    await settle();
    expect(rows()).toHaveLength(3);
    const when = screen.getByLabelText('Show recorded jobs submitted');
    expect(
      Array.from(when.querySelectorAll('option')).map(o => o.textContent)
    ).toEqual([
      'Any time',
      'Last hour',
      'Today',
      'Last 7 days',
      'Last 30 days',
      'Since a day…'
    ]);
    fireEvent.change(when, { target: { value: 'hour' } });
    await settle();
    expect(rows().map(r => r.dataset.id)).toEqual([recent.id]);
    fireEvent.change(when, { target: { value: 'week' } });
    await settle();
    expect(rows().map(r => r.dataset.id)).toEqual([recent.id, older.id]);
    fireEvent.change(when, { target: { value: 'day' } });
    const day = new Date((now - 40 * 86400) * 1000);
    const text = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`;
    fireEvent.change(screen.getByLabelText('Submitted on or after the day'), {
      target: { value: text }
    });
    await settle();
    expect(rows().map(r => r.dataset.id)).toEqual([recent.id, older.id]);
    const since = Number(asked[asked.length - 1].get('since'));
    expect(new Date(since * 1000).getHours()).toBe(0); // the day's start, local time
  });

  it('reads the day and the spans as local time', () => {
    const now = new Date(2026, 11, 7, 9, 30);
    expect(sinceOf('today', '', now)).toBe(
      new Date(2026, 11, 7).getTime() / 1000
    );
    expect(sinceOf('hour', '', now)).toBe(now.getTime() / 1000 - 3600);
    expect(sinceOf('day', '2026-12-01', now)).toBe(
      new Date(2026, 11, 1).getTime() / 1000
    );
    expect(sinceOf('day', '', now)).toBeUndefined();
    expect(sinceOf('', '', now)).toBeUndefined();
  });

  it('searches as typing pauses, by state and by origin', async () => {
    jest.useFakeTimers();
    try {
      const a = record({
        name: 'sweep-1',
        origin: { kind: 'magic', path: 'a.ipynb', cell: '1', command: null }
      });
      const b = record({ name: 'train-1', status: 'FAILED' });
      const c = record({ name: 'sweep-2', status: 'FAILED' });
      const { asked } = setup([c, b, a]);
      await act(() => jest.advanceTimersByTimeAsync(0));
      expect(asked).toHaveLength(1);
      expect(asked[0].get('limit')).toBe('50');
      expect(asked[0].get('offset')).toBe('0');
      const box = document.querySelector('.jp-FluxHub-historySearch')!;
      fireEvent.change(box, { target: { value: 'sw' } });
      fireEvent.change(box, { target: { value: 'swe' } });
      fireEvent.change(box, { target: { value: 'sweep' } });
      await act(() => jest.advanceTimersByTimeAsync(SEARCH_DELAY - 50));
      expect(asked).toHaveLength(1); // still typing
      await act(() => jest.advanceTimersByTimeAsync(100));
      expect(asked).toHaveLength(2);
      expect(asked[1].get('q')).toBe('sweep');
      expect(rows().map(r => r.dataset.id)).toEqual([c.id, a.id]);

      fireEvent.change(screen.getByLabelText('Show recorded jobs in state'), {
        target: { value: 'FAILED' }
      });
      await act(() => jest.advanceTimersByTimeAsync(0));
      expect(asked[2].get('state')).toBe('FAILED');
      expect(rows().map(r => r.dataset.id)).toEqual([c.id]);

      fireEvent.change(screen.getByLabelText('Show recorded jobs in state'), {
        target: { value: '' }
      });
      fireEvent.change(screen.getByLabelText('Show recorded jobs from'), {
        target: { value: 'magic' }
      });
      await act(() => jest.advanceTimersByTimeAsync(0));
      const last = asked[asked.length - 1];
      expect(last.get('origin')).toBe('magic');
      expect(last.get('state')).toBeNull();
      expect(rows().map(r => r.dataset.id)).toEqual([a.id]);
      // The labels a person reads in the selects
      expect(
        Array.from(
          screen
            .getByLabelText('Show recorded jobs in state')
            .querySelectorAll('option')
        ).map(o => o.textContent)
      ).toEqual([
        'All states',
        'Active',
        'Completed',
        'Failed',
        'Canceled',
        'Timeout',
        'Cluster gone'
      ]);
      expect(
        Array.from(
          screen
            .getByLabelText('Show recorded jobs from')
            .querySelectorAll('option')
        ).map(o => o.textContent)
      ).toEqual([
        'All origins',
        'Panel',
        'File',
        'Notebook',
        '%%flux',
        'Terminal'
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('reads 50 at a time: More appends the next page', async () => {
    const many = Array.from({ length: 120 }, () => record());
    const { asked } = setup(many);
    await settle();
    expect(rows()).toHaveLength(50);
    expect(footer()).toBe('50 jobs shown; more below');
    fireEvent.click(screen.getByRole('button', { name: 'More' }));
    await settle();
    expect(asked[1].get('offset')).toBe('50');
    expect(rows()).toHaveLength(100);
    fireEvent.click(screen.getByRole('button', { name: 'More' }));
    await settle();
    expect(rows().map(r => r.dataset.id)).toEqual(many.map(r => r.id));
    expect(screen.queryByRole('button', { name: 'More' })).toBeNull();
    expect(footer()).toBe('120 jobs');
  });

  it('reads the rows shown again when the history changes', async () => {
    const first = record({ status: 'ACTIVE' });
    const { state, changed, asked } = setup([first]);
    await settle();
    expect(rowOf(first.id).textContent).toContain('ACTIVE');
    const newer = record({ name: 'newer' });
    state.records = [newer, { ...first, status: 'COMPLETED' }];
    act(() => changed.emit());
    await settle();
    expect(rows().map(r => r.dataset.id)).toEqual([newer.id, first.id]);
    expect(rowOf(first.id).textContent).toContain('COMPLETED');
    expect(asked).toHaveLength(2);
  });
});

describe('HistoryView actions', () => {
  it('opens a row’s actions from the keyboard, and moves with the arrows', async () => {
    const records = [record(), record(), record()];
    setup(records);
    await settle();
    // One row in the Tab order: the first
    expect(rows().map(r => r.tabIndex)).toEqual([0, -1, -1]);
    act(() => rows()[0].focus());
    fireEvent.keyDown(rows()[0], { key: 'ArrowDown' });
    expect(document.activeElement).toBe(rows()[1]);
    expect(rows().map(r => r.tabIndex)).toEqual([-1, 0, -1]);
    expect(screen.queryByRole('button', { name: 'Run again' })).toBeNull();
    fireEvent.keyDown(rows()[1], { key: 'Enter' });
    const group = screen.getByRole('group', {
      name: `Actions for ${records[1].name}`
    });
    expect(rows()[1].contains(group)).toBe(true);
    expect(rows()[1].getAttribute('aria-label')).toBe(
      `${records[1].name}, ${formatF58(records[1].id)}, COMPLETED, panel, actions shown`
    );
    expect(
      within(group)
        .getAllByRole('button')
        .map(b => b.textContent)
    ).toEqual(['Run again', 'Edit and run', 'Open the origin']);
    // A key on a button is the button's, not the row's
    fireEvent.keyDown(within(group).getByText('Run again'), {
      key: 'ArrowDown'
    });
    expect(document.activeElement).toBe(rows()[1]);
    fireEvent.keyDown(rows()[1], { key: 'Escape' });
    expect(screen.queryByRole('group')).toBeNull();
    fireEvent.keyDown(rows()[1], { key: 'End' });
    expect(document.activeElement).toBe(rows()[2]);
  });

  it('runs a job again, says so, and shows why when it cannot', async () => {
    const r = record({ name: 'sweep' });
    const { actions, rerun } = setup([r]);
    await settle();
    fireEvent.click(rowOf(r.id));
    fireEvent.click(screen.getByRole('button', { name: 'Run again' }));
    await settle();
    expect(actions.runAgain).toEqual([r]);
    expect(footer()).toContain(
      `Submitted sweep again as ${formatF58('7000')}.`
    );
    // The selection stays: a click on a button is not a click on the row
    expect(screen.getByRole('button', { name: 'Run again' })).toBeTruthy();

    rerun.answer = new FluxHubError(
      new Response('', { status: 404 }),
      'Job ƒ2 is not in your history.'
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run again' }));
    await settle();
    expect(screen.getByRole('alert').textContent).toContain(
      'Job ƒ2 is not in your history.'
    );
    // null: it could not run as it was, and the form opened instead
    rerun.answer = null;
    fireEvent.click(screen.getByRole('button', { name: 'Run again' }));
    await settle();
    expect(footer()).toBe('1 job');
  });

  it('edits and runs, and opens the origin, from the row', async () => {
    const nb = record({
      origin: {
        kind: 'magic',
        path: '/home/alice/project/analysis.ipynb',
        cell: '3',
        command: null
      }
    });
    const { actions } = setup([nb]);
    await settle();
    fireEvent.click(rowOf(nb.id));
    fireEvent.click(screen.getByRole('button', { name: 'Edit and run' }));
    const open = screen.getByRole('button', { name: 'Open the origin' });
    expect((open as HTMLButtonElement).disabled).toBe(false);
    expect(open.getAttribute('title')).toBe('Open project/analysis.ipynb');
    fireEvent.click(open);
    expect(actions.edit).toEqual([nb]);
    expect(actions.open).toEqual([nb]);
  });

  it('cannot run a job again without its request, nor open a panel’s or terminal’s origin', async () => {
    const imported = record({
      id: '10001',
      form: null,
      origin: { kind: 'unknown', path: null, cell: null, command: null },
      imported_from: 'jobnames.json'
    });
    const panel = record();
    const cli = record({
      origin: {
        kind: 'cli',
        path: null,
        cell: null,
        command: 'flux-hub submit x'
      }
    });
    setup([imported, panel, cli]);
    await settle();
    const button = (name: string) =>
      screen.getByRole('button', { name }) as HTMLButtonElement;

    fireEvent.click(rowOf(imported.id));
    expect(within(rowOf(imported.id)).getByText('imported')).toBeTruthy();
    for (const name of ['Run again', 'Edit and run']) {
      expect(button(name).disabled).toBe(true);
      expect(button(name).title).toBe(
        `Job ${formatF58('10001')} was recorded before flux-hub kept requests: submit it anew.`
      );
    }
    expect(button('Open the origin').title).toBe(
      'Where this job came from was not recorded.'
    );

    fireEvent.click(rowOf(panel.id));
    expect(button('Run again').disabled).toBe(false);
    expect(button('Open the origin').disabled).toBe(true);
    expect(button('Open the origin').title).toBe(
      "It was submitted from the panel's form: there is no file to open."
    );
    fireEvent.click(rowOf(cli.id));
    expect(button('Open the origin').disabled).toBe(true);
    expect(button('Open the origin').title).toBe(
      'It was submitted from a terminal: there is no file to open.'
    );
  });

  it('shows the selected job’s whole command and how it ended', async () => {
    const r = record({
      command: 'python analysis/sweep.py --seed 1',
      submitted: NOW - 60,
      ended: NOW - 30,
      runtime: 30,
      exit_code: 0,
      lab_workdir: '/home/alice/project',
      rerun_of: BIG.d
    });
    setup([r]);
    await settle();
    fireEvent.click(rowOf(r.id));
    const details = rowOf(r.id).querySelector('.jp-FluxHub-historyDetails')!;
    expect(details.textContent).toContain('Ended');
    expect(details.textContent).toContain('ran 30s, exit code 0');
    expect(details.textContent).toContain('Folder /home/alice/project');
    expect(details.textContent).toContain('Runs again ƒ6ra9Ab2w9q');
  });
});

describe('originTarget and relativeTime', () => {
  const at = (kind: any, path: string | null, cell: string | null = null) =>
    record({ origin: { kind, path, cell, command: null } });

  it('opens a notebook by its path in the lab, at its %%flux cell', () => {
    expect(
      originTarget(at('magic', '/home/alice/a/b.ipynb', '12'), '/home/alice')
    ).toEqual({
      path: 'a/b.ipynb',
      cell: 12
    });
    expect(originTarget(at('notebook', 'a/b.ipynb'), '/home/alice')).toEqual({
      path: 'a/b.ipynb',
      cell: null
    });
    expect(originTarget(at('file', 'scripts/run.sh'), '/home/alice')).toEqual({
      path: 'scripts/run.sh',
      cell: null
    });
    expect(
      originTarget(at('notebook', '/data/b.ipynb'), '/home/alice')
    ).toEqual({
      reason:
        'The notebook /data/b.ipynb is outside the folders JupyterLab shows.'
    });
    // a folder that only begins like the root is not in it
    expect(
      originTarget(at('file', '/home/alice2/x.sh'), '/home/alice')
    ).toEqual({
      reason:
        'The file /home/alice2/x.sh is outside the folders JupyterLab shows.'
    });
    // The server's browser_path where it gives one (its root may be written otherwise)
    const told = at('notebook', '/srv/lab/alice/b.ipynb');
    told.origin.browser_path = 'b.ipynb';
    expect(originTarget(told, '/home/alice')).toEqual({
      path: 'b.ipynb',
      cell: null
    });
    // a relative path recorded before the server made them absolute
    const older = at('file', 'scripts/run.sh');
    older.origin.browser_path = null;
    expect(originTarget(older, '/home/alice')).toEqual({
      path: 'scripts/run.sh',
      cell: null
    });
    expect(originTarget(at('magic', null, '3'), '/home/alice')).toEqual({
      reason: "The notebook's path was not recorded."
    });
  });

  it('says how long ago, then the date', () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const s = now / 1000;
    expect(relativeTime(s - 5, now)).toBe('just now');
    expect(relativeTime(s - 125, now)).toBe('2 min ago');
    expect(relativeTime(s - 5 * 3600, now)).toBe('5 h ago');
    expect(relativeTime(s - 3 * 86400, now)).toBe('3 d ago');
    expect(relativeTime(s - 30 * 86400, now)).toMatch(/2026/);
    expect(relativeTime(null, now)).toBe('');
  });
});

describe('Jobs | History', () => {
  const CLUSTER: IClusterInfo = {
    account: 'alice',
    url: 'http://127.0.0.1:5000',
    nodes: ['node-0'],
    reachable: true,
    error: null
  };

  it('shows the jobs first, as before, and History when chosen, keeping each view’s filters', async () => {
    const api = new FluxHubAPI(
      settingsWith(async request => {
        const path = new URL(request.url).pathname;
        if (path.endsWith('/cluster')) {
          return json(200, CLUSTER);
        }
        if (path.endsWith('/history')) {
          return json(200, {
            records: [record({ id: '42', name: 'recorded' })],
            more: false,
            limit: 50,
            offset: 0
          });
        }
        return json(200, {
          version: '1',
          complete: true,
          jobs: [job({ id: '41', name: 'listed' })],
          names: {}
        });
      })
    );
    const model = new JobsModel(api, { auto: false, interval: 60 });
    model.visible = true;
    const history = jest.fn((query: IHistoryQuery) => api.history(query));
    render(
      <SwitchedViews
        jobs={
          <JobsView model={model} columns={ALL_COLUMN_IDS} onOpen={() => {}} />
        }
        history={{
          history,
          onRunAgain: async () => null,
          onEditAndRun: () => {},
          onOpenOrigin: () => {}
        }}
      />
    );
    await act(() => model.refresh());
    const tabs = screen.getAllByRole('tab');
    expect(tabs.map(t => t.textContent)).toEqual(['Jobs', 'History']);
    expect(tabs.map(t => t.getAttribute('aria-selected'))).toEqual([
      'true',
      'false'
    ]);
    expect(document.querySelector('tr[data-job-id="41"]')).toBeTruthy();
    // History is not asked for until it is chosen
    expect(history).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'list' }
    });

    fireEvent.click(screen.getByRole('tab', { name: 'History' }));
    await settle();
    expect(history).toHaveBeenCalledTimes(1);
    const panels = screen.getAllByRole('tabpanel', { hidden: true });
    expect(panels.map(p => p.hidden)).toEqual([true, false]);
    expect(rowOf('42').textContent).toContain('recorded');

    // Arrow keys move between the tabs, as in any tab bar
    fireEvent.keyDown(screen.getByRole('tab', { name: 'History' }), {
      key: 'ArrowLeft'
    });
    expect(document.activeElement?.textContent).toBe('Jobs');
    expect(panels.map(p => p.hidden)).toEqual([false, true]);
    expect(
      (screen.getByLabelText('Filter jobs') as HTMLInputElement).value
    ).toBe('list');
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Jobs' }), {
      key: 'ArrowRight'
    });
    expect(panels.map(p => p.hidden)).toEqual([true, false]);
    expect(history).toHaveBeenCalledTimes(1); // kept, not made again
    model.dispose();
  });
});
