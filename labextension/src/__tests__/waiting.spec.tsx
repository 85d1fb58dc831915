import * as React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';

import { FluxHubAPI, IClusterInfo, IJob, IResources } from '../api';
import { ClusterStrip, JobsView } from '../components/JobsView';
import { ALL_COLUMN_IDS } from '../jobs';
import { JobsModel } from '../model';
import {
  positionWords,
  shortWaiting,
  startWords,
  untilWords,
  waitingTooltip
} from '../waiting';
import { job, json, settingsWith } from './fakes';

const clock = new Intl.DateTimeFormat(undefined, {
  hour: 'numeric',
  minute: '2-digit'
});

/** Today at 14:05 local time, and twelve minutes before it. */
const START = new Date();
START.setHours(14, 5, 0, 0);
const T_START = START.getTime() / 1000;
const NOW = new Date(START.getTime() - 12 * 60 * 1000);
const AT = clock.format(START);

const RESOURCES: IResources = {
  nodes: { total: 3, up: 2, down: 1, busy: 1, free: 1 },
  cores: { total: 24, up: 16, down: 8, busy: 4, free: 12 },
  gpus: { total: 0, up: 0, down: 0, busy: 0, free: 0 },
  hosts_up: ['node-0', 'node-1']
};

const DIRECT: IClusterInfo = {
  account: 'alice',
  url: 'http://127.0.0.1:5000',
  nodes: ['node-0', 'node-1'],
  reachable: true,
  error: null,
  resources: null,
  queue: null,
  as_of: null,
  reader: false
};

const READER: IClusterInfo = {
  ...DIRECT,
  resources: RESOURCES,
  queue: { running: 3, waiting: 5 },
  as_of: Date.now() / 1000,
  reader: true
};

/** A job waiting behind two others, with the scheduler's estimate. */
function waitingJob(fields: Partial<IJob> = {}): IJob {
  return job({
    id: '77',
    name: 'big-run',
    state: 'SCHED',
    result: '',
    ncores: 32,
    waiting: {
      reason:
        'Waiting for resources behind 2 jobs: it asks for 32 cores, 12 free now.',
      position: 3,
      ahead: 2,
      t_estimate: T_START
    },
    ...fields
  });
}

function setup(cluster: IClusterInfo, jobs: IJob[]) {
  const state = { cluster: { ...cluster }, jobs, version: 0 };
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const path = new URL(request.url).pathname;
      if (path.endsWith('/cluster')) {
        return json(200, state.cluster);
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
  render(<JobsView model={model} columns={ALL_COLUMN_IDS} onOpen={() => {}} />);
  const refresh = () => act(() => model.refresh());
  return { state, model, refresh };
}

const strip = () => screen.getByRole('group', { name: 'The cluster now' });
const stat = (key: string) =>
  strip().querySelector(`.jp-FluxHub-stat-${key}`) as HTMLElement | null;
const row = (id: string) =>
  document.querySelector(`tr[data-job-id="${id}"]`) as HTMLElement;

/** The sidebar `px` wide (250: its default, see JobsView.spec.tsx, where rows have two lines). */
function atSidebarWidth(px = 250): () => void {
  const original = Element.prototype.getBoundingClientRect;
  const observer = (globalThis as any).ResizeObserver;
  Element.prototype.getBoundingClientRect = function (this: Element) {
    const width = this.classList.contains('jp-FluxHub-ruler')
      ? 827
      : this.classList.contains('jp-FluxHub-jobs')
        ? px
        : 0;
    return {
      width,
      height: 0,
      top: 0,
      left: 0,
      right: width,
      bottom: 0
    } as DOMRect;
  };
  (globalThis as any).ResizeObserver = class {
    observe() {}
    disconnect() {}
  };
  return () => {
    Element.prototype.getBoundingClientRect = original;
    (globalThis as any).ResizeObserver = observer;
  };
}

describe('The cluster strip', () => {
  it('shows cores free of all, running and waiting, and the nodes up, each explained', async () => {
    const { refresh, model } = setup(READER, []);
    await refresh();
    const texts = Array.from(strip().querySelectorAll('.jp-FluxHub-stat')).map(
      s => s.textContent
    );
    expect(texts).toEqual([
      'Cores 12 free / 24',
      '2 nodes up, 1 down',
      'Running 3',
      'Waiting 5'
    ]);
    // Resources together, the queue together: each wraps as one where it must.
    expect(
      Array.from(strip().querySelectorAll('.jp-FluxHub-stripGroup')).map(
        g => g.children.length
      )
    ).toEqual([2, 2]);
    expect(
      stat('nodes')!.querySelector('.jp-FluxHub-statWarn')!.textContent
    ).toBe(', 1 down');
    // No GPUs on this cluster: nothing said of them.
    expect(stat('gpus')).toBeNull();
    expect(stat('cores')!.title).toBe(
      "12 of the cluster's 24 cores free now: 4 busy, 8 on nodes that are down."
    );
    expect(stat('running')!.title).toBe(
      "3 jobs running on the cluster now, everyone's."
    );
    expect(stat('waiting')!.title).toBe("5 jobs waiting to start, everyone's.");
    expect(stat('nodes')!.title).toBe(
      "2 of the cluster's 3 nodes up, 1 down: node-0, node-1"
    );
    // The number the browser tests read stays where it was.
    expect(strip().querySelector('.jp-FluxHub-nodes')!.textContent).toBe('2');
    expect(strip().title).toMatch(/^The cluster as read at /);
    model.dispose();
  });

  it('updates with each refresh, and shows GPUs once the cluster has some', async () => {
    const { refresh, state, model } = setup(READER, []);
    await refresh();
    state.cluster = {
      ...READER,
      resources: {
        ...RESOURCES,
        nodes: { total: 3, up: 3, down: 0, busy: 3, free: 0 },
        cores: { total: 24, up: 24, down: 0, busy: 24, free: 0 },
        gpus: { total: 4, up: 4, down: 0, busy: 1, free: 3 },
        hosts_up: ['node-0', 'node-1', 'node-2']
      },
      queue: { running: 1, waiting: 0 }
    };
    await refresh();
    expect(stat('cores')!.textContent).toBe('Cores 0 free / 24');
    expect(stat('gpus')!.textContent).toBe('GPUs 3 free / 4');
    expect(stat('gpus')!.title).toBe(
      "3 of the cluster's 4 GPUs free now: 1 busy."
    );
    expect(stat('running')!.textContent).toBe('Running 1');
    expect(stat('running')!.title).toBe(
      "1 job running on the cluster now, everyone's."
    );
    expect(stat('waiting')!.textContent).toBe('Waiting 0');
    expect(stat('nodes')!.textContent).toBe('3 nodes up');
    expect(stat('nodes')!.querySelector('.jp-FluxHub-statWarn')).toBeNull();
    model.dispose();
  });

  it('shows only the nodes up when the server asks the cluster directly', async () => {
    const { refresh, model } = setup(DIRECT, []);
    await refresh();
    expect(strip().textContent).toBe('2 nodes up');
    expect(stat('nodes')!.title).toBe(
      '2 nodes of the cluster up: node-0, node-1'
    );
    expect(stat('cores')).toBeNull();
    expect(stat('running')).toBeNull();
    expect(strip().title).toBe('');
    model.dispose();
  });

  it('reads an older server, which sends none of the reader fields', () => {
    const { resources, queue, as_of, reader, ...older } = DIRECT;
    void [resources, queue, as_of, reader];
    render(<ClusterStrip cluster={older as IClusterInfo} />);
    expect(strip().textContent).toBe('2 nodes up');
  });

  it('says how old the numbers are once they are a minute old', () => {
    const now = new Date(START.getTime());
    const { rerender } = render(
      <ClusterStrip cluster={{ ...READER, as_of: T_START - 30 }} now={now} />
    );
    expect(stat('asOf')).toBeNull();
    rerender(
      <ClusterStrip cluster={{ ...READER, as_of: T_START - 300 }} now={now} />
    );
    expect(stat('asOf')!.textContent).toMatch(/^as of /);
  });
});

describe('A waiting job in the table', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  it('shows its estimated start under PENDING and why in the tooltip, at the default width', async () => {
    restore = atSidebarWidth();
    const { refresh, model } = setup(READER, [
      waitingJob(),
      job({ id: '76', name: 'done', t_submit: 1 })
    ]);
    await refresh();
    const cell = row('77').querySelector('td.jp-FluxHub-col-status')!;
    expect(cell.querySelector('.jp-FluxHub-statusLine')!.textContent).toBe(
      'PENDING'
    );
    const short = cell.querySelector('.jp-FluxHub-waitingShort')!.textContent;
    expect(short).toBe(`~${AT}`);
    const tooltip = row('77').title;
    expect(tooltip.split('\n')[0]).toBe(
      'Why it waits: Waiting for resources behind 2 jobs: it asks for 32 cores, 12 free now.'
    );
    expect(tooltip.split('\n')[1]).toBe('Position: 3 (2 ahead)');
    expect(tooltip.split('\n')[2]).toMatch(/^Should start: about /);
    expect(cell.getAttribute('title')).toBe(tooltip);
    // The name keeps its own tooltip; a job that does not wait has no reason.
    expect(
      row('77').querySelector('.jp-FluxHub-col-name')!.getAttribute('title')
    ).toBe('big-run');
    expect(row('76').title).toBe('');
    expect(row('76').querySelector('.jp-FluxHub-waitingShort')).toBeNull();
    model.dispose();
  });

  it('drops the reason once the job runs', async () => {
    restore = atSidebarWidth();
    const { refresh, state, model } = setup(READER, [waitingJob()]);
    await refresh();
    expect(row('77').title).not.toBe('');
    state.jobs = [
      { ...state.jobs[0], state: 'RUN', waiting: null, t_run: T_START }
    ];
    await refresh();
    expect(row('77').title).toBe('');
    expect(row('77').textContent).toContain('RUN');
    expect(row('77').querySelector('.jp-FluxHub-waitingShort')).toBeNull();
    model.dispose();
  });

  it('shows its place instead of PENDING in a one-line status column', async () => {
    restore = atSidebarWidth(420);
    const { refresh, model } = setup(READER, [waitingJob()]);
    await refresh();
    expect(row('77').querySelector('td.jp-FluxHub-col-id')).not.toBeNull();
    const cell = row('77').querySelector('td.jp-FluxHub-col-status')!;
    expect(cell.textContent).toBe('#3 in queue');
    expect(cell.getAttribute('title')).toBe(row('77').title);
    model.dispose();
  });

  it('shows it in the Result column where state and result are apart', async () => {
    const { refresh, model } = setup(READER, [
      waitingJob({
        waiting: {
          reason: 'Held (urgency 0): it starts only once released.',
          position: 4,
          ahead: 3,
          t_estimate: null
        }
      })
    ]);
    await refresh();
    expect(
      row('77').querySelector('td.jp-FluxHub-col-state')!.textContent
    ).toBe('SCHED');
    expect(
      row('77').querySelector('td.jp-FluxHub-col-result')!.textContent
    ).toBe('#4 in queue');
    expect(row('77').title).toBe(
      'Why it waits: Held (urgency 0): it starts only once released.\nPosition: 4 (3 ahead)'
    );
    // Filtering by state still finds it as pending
    fireEvent.change(screen.getByLabelText('Show jobs in state'), {
      target: { value: 'PENDING' }
    });
    expect(row('77')).toBeTruthy();
    model.dispose();
  });
});

describe('Waiting words', () => {
  const w = (fields: Partial<IJob['waiting'] & object> = {}) => ({
    reason: 'Waiting for the scheduler.',
    position: null,
    ahead: null,
    t_estimate: null,
    ...fields
  });

  it('says the position with the jobs ahead', () => {
    expect(positionWords(w({ position: 3, ahead: 2 }))).toBe('3 (2 ahead)');
    expect(positionWords(w({ position: 1, ahead: 0 }))).toBe('1 (none ahead)');
    expect(positionWords(w({ position: 5 }))).toBe('5');
    expect(positionWords(w({ ahead: 4 }))).toBe('4 jobs ahead');
    expect(positionWords(w())).toBe('');
  });

  it('says when it should start and how long until then', () => {
    expect(startWords(w({ t_estimate: T_START }), NOW)).toBe(
      `${AT} (in 12 min)`
    );
    expect(startWords(w({ t_estimate: T_START }), NOW, false)).toBe(
      `about ${AT}`
    );
    expect(startWords(w(), NOW)).toBe('');
    const t = NOW.getTime() / 1000;
    expect(untilWords(t + 10, NOW)).toBe('any moment now');
    expect(untilWords(t - 100, NOW)).toBe('any moment now');
    expect(untilWords(t + 125 * 60, NOW)).toBe('in 2 h 5 min');
    expect(untilWords(t + 3 * 3600, NOW)).toBe('in 3 h');
    expect(untilWords(t + 3 * 86400, NOW)).toBe('in 3 days');
  });

  it('makes a short status of what is known', () => {
    const pending = (waiting: any, fields: Partial<IJob> = {}) =>
      job({ state: 'SCHED', result: '', waiting, ...fields });
    expect(
      shortWaiting(pending(w({ position: 3, t_estimate: T_START })), NOW)
    ).toBe(`~${AT}`);
    expect(shortWaiting(pending(w({ t_estimate: T_START })), NOW)).toBe(
      `~${AT}`
    );
    // Another day: the day, not the time.
    const tomorrow = new Date(START.getTime() + 86400 * 1000);
    const day = new Intl.DateTimeFormat(undefined, {
      month: 'short',
      day: 'numeric'
    }).format(tomorrow);
    expect(
      shortWaiting(pending(w({ t_estimate: tomorrow.getTime() / 1000 })), NOW)
    ).toBe(`~${day}`);
    expect(shortWaiting(pending(w({ position: 3 })), NOW)).toBe('#3 in queue');
    // Instead of PENDING (one-line rows): the place first, a bare time says less.
    expect(
      shortWaiting(pending(w({ position: 3, t_estimate: T_START })), NOW, false)
    ).toBe('#3 in queue');
    expect(shortWaiting(pending(w({ t_estimate: T_START })), NOW, false)).toBe(
      `~${AT}`
    );
    expect(shortWaiting(pending(w(), { urgency: 0 }), NOW)).toBe('held');
    expect(shortWaiting(pending(w()), NOW)).toBe('');
    // A job that does not wait (or a stale `waiting` on a running job): nothing.
    expect(
      shortWaiting(
        job({ state: 'RUN', result: '', waiting: w({ position: 1 }) }),
        NOW
      )
    ).toBe('');
    expect(waitingTooltip(job({ state: 'RUN', result: '' }), NOW)).toBe('');
    expect(waitingTooltip(pending(null), NOW)).toBe('');
  });
});
