import * as React from 'react';
import {
  act,
  fireEvent,
  render,
  screen,
  waitFor
} from '@testing-library/react';

import { FluxHubAPI, IClusterInfo, IJob } from '../api';
import { cancelJobs } from '../bulkcancel';
import { JobsView } from '../components/JobsView';
import { dependencyOf, fullAfter, parseAfterIds, shortAfter } from '../holds';
import { formatF58 } from '../jobid';
import { ALL_COLUMN_IDS } from '../jobs';
import { HOLDS_INTERVAL, HOLDS_RETRY, JobsModel } from '../model';
import { BIG, job, json, settingsWith } from './fakes';

const CLUSTER: IClusterInfo = {
  account: 'alice',
  url: 'http://127.0.0.1:5000',
  nodes: ['node-0'],
  reachable: true,
  error: null
};

const A = '1001';
const FA = formatF58(A);

/** A hold as the hub's API gives it (flux_hub/holds/store.py's public()). */
function hold(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hold: 'h0123456789abcdef',
    request: { command: ['python3', 'step2.py'], num_tasks: 1 },
    after: [{ kind: 'afterok', id: A }],
    name: 'step2',
    state: 'DEPEND',
    job: null,
    reason: null,
    created: 1700000100,
    updated: 1700000100,
    ...fields
  };
}

/** The server extension: cluster, the whole job list, holds; every request noted. */
function server(jobs: IJob[], holds: Record<string, unknown>[]) {
  const state = {
    jobs,
    holds,
    holdsStatus: 200,
    requests: [] as string[],
    deleted: [] as string[],
    /** Jobs a lookup (GET jobs/<id>) finds that the listing does not show. */
    unlisted: [] as IJob[]
  };
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const path = new URL(request.url).pathname.replace(
        '/user/alice/flux-hub/api/',
        ''
      );
      state.requests.push(`${request.method} ${path}`);
      if (path === 'cluster') {
        return json(200, CLUSTER);
      }
      if (path === 'jobs') {
        return json(200, {
          version: 'v',
          complete: true,
          jobs: state.jobs,
          names: {}
        });
      }
      if (path === 'holds') {
        return state.holdsStatus === 200
          ? json(200, { holds: state.holds })
          : json(state.holdsStatus, {
              message:
                'This server was given no hub to hold jobs (FLUX_HUB_HOLDS_URL): a job with a dependency cannot be held.',
              reasons: []
            });
      }
      const one = /^holds\/(h[0-9a-f]+)$/.exec(path);
      if (one) {
        const found = state.holds.find(h => h.hold === one[1]);
        if (!found) {
          return json(404, { message: 'There is no hold of yours.' });
        }
        if (request.method === 'DELETE') {
          state.deleted.push(one[1]);
          if (found.state === 'DEPEND') {
            found.state = 'CANCELED';
            found.reason = 'canceled by you';
          }
        }
        return json(200, found);
      }
      const lookup = /^jobs\/([0-9]+)$/.exec(path);
      if (lookup) {
        const found = [...state.jobs, ...state.unlisted].find(
          j => j.id === lookup[1]
        );
        return found
          ? json(200, found)
          : json(404, { message: 'No such job.', reasons: [] });
      }
      return json(404, { message: `no ${path}`, reasons: [] });
    })
  );
  const model = new JobsModel(api, { auto: false, interval: 60 });
  model.visible = true;
  return { state, api, model };
}

const holdsAsked = (requests: string[]) =>
  requests.filter(r => r === 'GET holds').length;

describe('how a held job is worded', () => {
  it('says what it waits for, short and in full', () => {
    const one = [{ kind: 'afterok', id: A }];
    expect(shortAfter(one)).toBe(`after ${FA} ok`);
    expect(fullAfter(one)).toBe(`Runs when ${FA} completes successfully`);
    const two = [
      { kind: 'afterany', id: A },
      { kind: 'afterany', id: '1002' }
    ];
    expect(shortAfter(two)).toBe(`after ${FA}, ${formatF58('1002')} ends`);
    expect(fullAfter(two)).toBe(
      `Runs when ${FA} and ${formatF58('1002')} end, however they end`
    );
    const mixed = [
      { kind: 'afterok', id: A },
      { kind: 'afternotok', id: '1002' }
    ];
    expect(shortAfter(mixed)).toBe(
      `after ${FA} ok, ${formatF58('1002')} fails`
    );
  });

  it('reads the ids a person types, in any form, and names a bad one', () => {
    expect(parseAfterIds(`${FA}, 1002  f${formatF58(BIG.b).slice(1)}`)).toEqual(
      { ids: [A, '1002', BIG.b] }
    );
    expect(parseAfterIds('   ')).toEqual({ ids: [] });
    expect(parseAfterIds(`${FA} train`)).toEqual({
      error:
        '“train” is not a job id: write it as flux jobs shows it (ƒ…) or in decimal.'
    });
    expect(dependencyOf('afterok', [A, BIG.b])).toBe(`afterok:${A},${BIG.b}`);
  });
});

describe('held jobs in the model', () => {
  it('shows a waiting hold as a DEPEND row, and one that never ran as ended', async () => {
    const { model } = server(
      [job({ id: A, state: 'RUN', result: '' })],
      [
        hold(),
        hold({
          hold: 'h00000000000000aa',
          name: null,
          state: 'NEVER_RUN',
          reason: `job ${FA} did not succeed (failed): afterok cannot hold`
        }),
        hold({
          hold: 'h00000000000000bb',
          state: 'CANCELED',
          reason: 'canceled by you'
        })
      ]
    );
    await model.refresh();
    const rows = model.jobs;
    expect(rows.map(j => j.id)).toEqual([
      A,
      'h0123456789abcdef',
      'h00000000000000aa',
      'h00000000000000bb'
    ]);
    const waiting = model.getJob('h0123456789abcdef')!;
    expect(waiting).toMatchObject({
      hold: 'h0123456789abcdef',
      name: 'step2',
      state: 'DEPEND',
      command: 'python3 step2.py'
    });
    expect(waiting.waiting).toMatchObject({
      short: `after ${FA} ok`,
      reason: `Runs when ${FA} completes successfully`
    });
    const never = model.getJob('h00000000000000aa')!;
    // No name given: the command is what the row shows.
    expect(never).toMatchObject({
      name: 'python3 step2.py',
      state: 'INACTIVE',
      result: 'NEVER RUN'
    });
    expect(never.waiting!.title).toBe(
      `Never run: job ${FA} did not succeed (failed): afterok cannot hold. (Runs when ${FA} completes successfully.)`
    );
    expect(model.getJob('h00000000000000bb')).toMatchObject({
      state: 'INACTIVE',
      result: 'CANCELED'
    });
  });

  it('drops a released hold for its job, looked up while the listing lacks it', async () => {
    const { model, state } = server(
      [job({ id: A })],
      [hold({ state: 'SUBMITTED', job: '1005' })]
    );
    const released = job({
      id: '1005',
      name: 'python3',
      state: 'RUN',
      result: ''
    });
    // The hub submitted it: the listing does not show it yet, a lookup does.
    state.unlisted = [released];
    await model.refresh();
    expect(state.requests).toContain('GET jobs/1005');
    // Named as the hold was, in place of the hold's row.
    expect(model.jobs.map(j => [j.id, j.name, j.state])).toEqual([
      [A, 'hostname', 'INACTIVE'],
      ['1005', 'step2', 'RUN']
    ]);
    // It ends: looked up while it runs, then no more.
    released.state = 'INACTIVE';
    released.result = 'FAILED';
    await model.refresh();
    expect(model.getJob('1005')!.result).toBe('FAILED');
    const lookups = state.requests.filter(r => r === 'GET jobs/1005').length;
    await model.refresh();
    expect(state.requests.filter(r => r === 'GET jobs/1005').length).toBe(
      lookups
    );
    // Listed at last: the listing's record alone.
    state.jobs = [job({ id: A }), released];
    await model.refresh();
    expect(model.jobs.map(j => j.id)).toEqual([A, '1005']);
    expect(model.jobs[1]).toBe(model.getJob('1005'));
    expect(model.jobs[1].name).toBe('python3');
  });

  it('reads the holds at every refresh while one waits, else at most every 10 s', async () => {
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const { model, state } = server([job({ id: A })], [hold()]);
      await model.refresh();
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(2);

      // Released: nothing waits; the next read after HOLDS_INTERVAL.
      state.holds = [hold({ state: 'NEVER_RUN', reason: 'no' })];
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(3);
      now += HOLDS_INTERVAL - 1;
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(3);
      now += 1;
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(4);

      // Right after a job was held: at once.
      model.held({
        hold: 'h00000000000000cc',
        state: 'DEPEND',
        after: [{ kind: 'afterany', id: A }],
        name: 'next'
      });
      // Shown before the server is asked.
      expect(model.getJob('h00000000000000cc')).toMatchObject({
        state: 'DEPEND',
        name: 'next'
      });
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(5);
    } finally {
      clock.mockRestore();
    }
  });

  it('tells once when a hold seen waiting can no longer run', async () => {
    const { model, state } = server(
      [job({ id: A })],
      [hold(), hold({ hold: 'h00000000000000aa', state: 'NEVER_RUN' })]
    );
    const told: string[] = [];
    model.holdNeverRun.connect((_, h) => told.push(`${h.hold}: ${h.reason}`));
    await model.refresh();
    // One already never run when first read is not news.
    expect(told).toEqual([]);
    state.holds = [
      hold({ state: 'NEVER_RUN', reason: 'job ƒX did not succeed (failed)' }),
      hold({ hold: 'h00000000000000aa', state: 'NEVER_RUN' })
    ];
    await model.refresh();
    await model.refresh();
    expect(told).toEqual([
      'h0123456789abcdef: job ƒX did not succeed (failed)'
    ]);
  });

  it('shows the jobs when the holds cannot be read, and asks again later', async () => {
    let now = 5_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const { model, state } = server([job({ id: A })], [hold()]);
      state.holdsStatus = 503;
      await model.refresh();
      expect(model.error).toBeNull();
      expect(model.jobs.map(j => j.id)).toEqual([A]);
      expect(model.holdsError).toMatch(/no hub to hold jobs/);
      now += HOLDS_INTERVAL;
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(1);
      now += HOLDS_RETRY - HOLDS_INTERVAL;
      state.holdsStatus = 200;
      await model.refresh();
      expect(holdsAsked(state.requests)).toBe(2);
      expect(model.holdsError).toBeNull();
      expect(model.getJob('h0123456789abcdef')?.state).toBe('DEPEND');
    } finally {
      clock.mockRestore();
    }
  });
});

describe('cancelling a held job', () => {
  it('is DELETE holds/<id>, alone or among jobs cancelled together', async () => {
    const { model, state, api } = server(
      [job({ id: A, state: 'RUN', result: '' })],
      [hold(), hold({ hold: 'h00000000000000dd', state: 'SUBMITTED', job: A })]
    );
    await model.refresh();
    const rows = model.jobs.filter(j => j.id !== A);
    const results = await cancelJobs(api, [
      ...rows,
      // A row still shown as waiting whose hold was released meanwhile.
      {
        ...rows[0],
        id: 'h00000000000000dd',
        hold: 'h00000000000000dd'
      }
    ]);
    expect(state.deleted).toEqual(['h0123456789abcdef', 'h00000000000000dd']);
    expect(results.map(r => [r.id, r.outcome, r.detail])).toEqual([
      ['h0123456789abcdef', 'cancelled', ''],
      ['h00000000000000dd', 'ended', `SUBMITTED as ${FA}`]
    ]);
    expect(state.requests).not.toContain('POST jobs/h0123456789abcdef/cancel');
  });
});

describe('held jobs in the table', () => {
  it('shows DEPEND and what it waits for, the whole condition as its tooltip', async () => {
    const { model } = server(
      [job({ id: A, state: 'RUN', result: '' })],
      [
        hold(),
        hold({
          hold: 'h00000000000000aa',
          state: 'NEVER_RUN',
          reason: `job ${FA} did not succeed (failed): afterok cannot hold`
        })
      ]
    );
    const view = render(
      <JobsView
        model={model}
        columns={ALL_COLUMN_IDS}
        onOpen={() => undefined}
      />
    );
    await act(() => model.refresh());
    const row = view.container.querySelector(
      'tr[data-job-id="h0123456789abcdef"]'
    ) as HTMLElement;
    expect(row).not.toBeNull();
    const cell = (column: string) =>
      row.querySelector(`td.jp-FluxHub-col-${column}`)!;
    expect(cell('name').textContent).toBe('step2');
    expect(cell('state').textContent).toBe('DEPEND');
    expect(cell('result').textContent).toBe(`after ${FA} ok`);
    expect(row.title).toBe(
      `Runs when ${FA} completes successfully. Held by flux-hub: it is submitted then, even if your server is stopped.`
    );
    const never = view.container.querySelector(
      'tr[data-job-id="h00000000000000aa"]'
    ) as HTMLElement;
    expect(never.querySelector('td.jp-FluxHub-col-result')!.textContent).toBe(
      'NEVER RUN'
    );
    expect(never.title).toMatch(/^Never run: job .* did not succeed/);
    expect(screen.getByText('3 jobs')).toBeTruthy();
    view.unmount();
  });
});

describe('cancelling held jobs from the table', () => {
  afterEach(() => {
    document.querySelectorAll('.jp-Dialog').forEach(d => d.remove());
  });

  it('cancels a held row selected in the table: Cancel selected sends DELETE holds/<id>', async () => {
    const { model, state } = server(
      [job({ id: A, state: 'SCHED', result: '' })],
      [hold()]
    );
    render(
      <JobsView
        model={model}
        columns={ALL_COLUMN_IDS}
        onOpen={() => undefined}
      />
    );
    await act(() => model.refresh());
    const row = (id: string) =>
      document.querySelector<HTMLElement>(`tr[data-job-id="${id}"]`)!;
    fireEvent.click(row('h0123456789abcdef'), { ctrlKey: true });
    expect(row('h0123456789abcdef').getAttribute('aria-selected')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Cancel selected' }));
    const button = (label: string) =>
      Array.from(
        document.querySelectorAll<HTMLButtonElement>('.jp-Dialog button')
      ).find(b => b.textContent === label);
    await waitFor(() => expect(button('Cancel 1 job')).toBeTruthy());
    button('Cancel 1 job')!.click();
    await waitFor(() =>
      expect(
        document.querySelector('.jp-FluxHub-bulkStatus')?.textContent
      ).toContain('Selected jobs: 1 cancelled.')
    );
    expect(state.deleted).toEqual(['h0123456789abcdef']);
    // Read again at once: the row says it was cancelled.
    await waitFor(() =>
      expect(
        row('h0123456789abcdef').querySelector('td.jp-FluxHub-col-result')!
          .textContent
      ).toBe('CANCELED')
    );
    model.dispose();
  });
});
