import * as React from 'react';
import { act, fireEvent, render, screen, within } from '@testing-library/react';

import { FluxHubAPI, IClusterInfo, IJob } from '../api';
import { TWO_LINE_ROW_HEIGHT } from '../components/JobTable';
import { JobsView } from '../components/JobsView';
import { ALL_COLUMN_IDS } from '../jobs';
import { JobsModel } from '../model';
import { BIG, job, json, settingsWith } from './fakes';

const CLUSTER: IClusterInfo = {
  account: 'alice',
  url: 'http://127.0.0.1:5000',
  nodes: ['node-0', 'node-1'],
  reachable: true,
  error: null
};

function setup(jobs: IJob[]) {
  const state = { cluster: { ...CLUSTER }, jobs, version: 0 };
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const path = new URL(request.url).pathname;
      if (path.endsWith('/cluster')) {
        return json(200, state.cluster);
      }
      if (!state.cluster.reachable) {
        return json(503, { message: 'down', reasons: [] });
      }
      // Always the whole list: the server may answer so to any `since`.
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
  return { state, model, opened, view, refresh };
}

const strip = () => screen.getByRole('group', { name: 'The cluster now' });

const rowIds = () =>
  screen
    .queryAllByRole('row')
    .map(row => row.getAttribute('data-job-id'))
    .filter((id): id is string => id !== null);

/**
 * JupyterLab's left sidebar at its default width, as the browser test
 * measures it: the panel 250px wide, 100ch of the table's font (DejaVu Sans
 * 13px) 827px. jsdom lays nothing out, so these are the sizes the panel reads.
 */
const DEFAULT_SIDEBAR_PX = 250;
const HUNDRED_CH_PX = 827;

function atDefaultSidebarWidth(): () => void {
  const original = Element.prototype.getBoundingClientRect;
  const observer = (globalThis as any).ResizeObserver;
  Element.prototype.getBoundingClientRect = function (this: Element) {
    const width = this.classList.contains('jp-FluxHub-ruler')
      ? HUNDRED_CH_PX
      : this.classList.contains('jp-FluxHub-jobs')
        ? DEFAULT_SIDEBAR_PX
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

describe('JobsView at the default sidebar width', () => {
  let restore: () => void;
  beforeEach(() => {
    restore = atDefaultSidebarWidth();
  });
  afterEach(() => restore());

  const WALKS = [
    job({ id: BIG.b, name: 'walk-steps', result: 'COMPLETED', t_submit: 1 }),
    job({ id: BIG.c, name: 'walk-sleeper', result: 'COMPLETED', t_submit: 2 }),
    job({ id: BIG.d, name: 'walk-bash', state: 'RUN', result: '', t_submit: 3 })
  ];

  it('shows each name first and whole, the ID smaller under it, and the status', async () => {
    const { refresh, model } = setup(WALKS);
    await refresh();
    const headers = screen.getAllByRole('columnheader');
    expect(headers.map(h => h.textContent)).toEqual(['Name', 'Status']);
    // The name column has no set width: it has all the status leaves, in the
    // table font's characters, and that holds each name whole.
    expect(headers[0].style.width).toBe('');
    const others = headers
      .slice(1)
      .reduce((sum, h) => sum + parseFloat(h.style.width), 0);
    const nameRoom = (DEFAULT_SIDEBAR_PX * 100) / HUNDRED_CH_PX - others;
    for (const walk of WALKS) {
      const row = document.querySelector(`tr[data-job-id="${walk.id}"]`)!;
      const cells = row.querySelectorAll('td');
      expect(cells).toHaveLength(2);
      const name = cells[0].querySelector('.jp-FluxHub-col-name')!;
      expect(name.textContent).toBe(walk.name);
      expect(nameRoom).toBeGreaterThanOrEqual(walk.name!.length);
      // the ID under the name, as `flux jobs` writes it, the decimal on hover
      const id = cells[0].querySelector('.jp-FluxHub-col-id')!;
      expect(id.textContent).toMatch(/^ƒ/);
      expect(id.getAttribute('title')).toBe(walk.id);
    }
    expect(
      document.querySelector(`tr[data-job-id="${BIG.c}"] .jp-FluxHub-col-id`)!
        .textContent
    ).toBe('ƒ3gDmDv6tnx9');
    expect(
      within(
        document.querySelector(`tr[data-job-id="${BIG.d}"]`) as HTMLElement
      ).getByText('RUN')
    ).toBeTruthy();
    model.dispose();
  });

  it('sorts by name, filters by id and opens from the keyboard with the ID under the name', async () => {
    const { refresh, model, opened } = setup(WALKS);
    await refresh();
    expect(rowIds()).toEqual([BIG.d, BIG.c, BIG.b]); // newest first
    fireEvent.click(screen.getByRole('button', { name: /^Name/ }));
    expect(rowIds()).toEqual([BIG.d, BIG.c, BIG.b]); // bash, sleeper, steps
    fireEvent.click(screen.getByRole('button', { name: /^Name/ }));
    expect(rowIds()).toEqual([BIG.b, BIG.c, BIG.d]);
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'ƒ3gDmDv6tnx8' }
    });
    expect(rowIds()).toEqual([BIG.b]);
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: '' }
    });
    const body = screen.getByLabelText('Jobs: arrow keys select, Enter opens');
    fireEvent.focus(body);
    fireEvent.keyDown(body, { key: 'ArrowDown' });
    fireEvent.keyDown(body, { key: 'Enter' });
    expect(opened).toEqual([BIG.c]);
    model.dispose();
  });

  it('keeps the scrollbar true with two-line rows for thousands of jobs', async () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      job({ id: String(i + 1), name: `walk-${i + 1}` })
    );
    const { refresh, model, view } = setup(many);
    await refresh();
    const scroller = view.container.querySelector('.jp-FluxHub-tableScroller')!;
    scroller.scrollTop = TWO_LINE_ROW_HEIGHT * 2500;
    fireEvent.scroll(scroller);
    const shown = rowIds();
    expect(shown).toContain('2500');
    expect(shown.length).toBeLessThan(100);
    // spacers and rows together are as tall as every row would be
    const heights = Array.from(
      view.container.querySelectorAll<HTMLElement>('tbody tr')
    ).map(tr => parseFloat(tr.style.height));
    expect(heights.reduce((a, b) => a + b, 0)).toBe(5000 * TWO_LINE_ROW_HEIGHT);
    model.dispose();
  });
});

describe('JobsView', () => {
  it('shows the account, the cluster and how many nodes are up', async () => {
    const { refresh, model } = setup([]);
    await refresh();
    expect(screen.getByText('alice')).toBeTruthy();
    expect(screen.getByText('127.0.0.1:5000')).toBeTruthy();
    expect(strip().textContent).toBe('2 nodes up');
    model.dispose();
  });

  it('warns in its header when the cluster cannot keep users apart, and only then', async () => {
    const { refresh, state, model } = setup([]);
    await refresh();
    expect(screen.queryByRole('note')).toBeNull();
    state.cluster = {
      ...CLUSTER,
      legacy: true,
      warning: 'any user can read and cancel any job'
    };
    await refresh();
    expect(screen.getByRole('note').textContent).toBe(
      'Not private. any user can read and cancel any job'
    );
    model.dispose();
  });

  it('shows a banner with the server message while the cluster is unreachable, and clears it', async () => {
    const { refresh, state, model } = setup([job({ id: '1' })]);
    await refresh();
    expect(screen.queryByRole('alert')).toBeNull();
    state.cluster = {
      ...CLUSTER,
      reachable: false,
      nodes: [],
      error: 'The Flux cluster at http://127.0.0.1:5000 does not answer.'
    };
    await refresh();
    const banner = screen.getByRole('alert');
    expect(banner.textContent).toContain('The Flux cluster is unreachable.');
    expect(banner.textContent).toContain(
      'The Flux cluster at http://127.0.0.1:5000 does not answer.'
    );
    expect(strip().textContent).toBe('0 nodes up');
    state.cluster = { ...CLUSTER };
    await refresh();
    expect(screen.queryByRole('alert')).toBeNull();
    model.dispose();
  });

  it('lists every column and updates rows in place, keeping the selection', async () => {
    const { refresh, state, model, opened } = setup([
      job({ id: '5', name: 'train', state: 'RUN', result: '', runtime: 3 }),
      job({ id: '4', name: 'hostname', result: 'COMPLETED' })
    ]);
    await refresh();
    const headers = screen.getAllByRole('columnheader').map(h => h.textContent);
    expect(headers).toEqual([
      'Name',
      'ID',
      'State',
      'Result',
      'Nodes',
      'Tasks',
      'Runtime',
      'Submitted▼'
    ]);
    const row = screen.getByText('train').closest('tr')!;
    fireEvent.click(row);
    expect(opened).toEqual(['5']);
    // The current row; a plain click selects nothing for an action.
    expect(row.getAttribute('aria-current')).toBe('true');
    expect(row.getAttribute('aria-selected')).toBe('false');

    state.jobs = [
      { ...state.jobs[0], state: 'INACTIVE', result: 'COMPLETED', runtime: 9 },
      state.jobs[1]
    ];
    await refresh();
    // Same DOM row, new content: updated in place, still the current one.
    const after = screen.getByText('train').closest('tr')!;
    expect(after).toBe(row);
    expect(after.getAttribute('aria-current')).toBe('true');
    expect(within(after).getByText('COMPLETED')).toBeTruthy();
    expect(within(after).getByText('9s')).toBeTruthy();
    model.dispose();
  });

  it('sorts by a column header and filters by text and state', async () => {
    const { refresh, model } = setup([
      job({ id: '1', name: 'alpha', result: 'COMPLETED' }),
      job({ id: '2', name: 'beta', result: 'FAILED' }),
      job({ id: '3', name: 'gamma', state: 'RUN', result: '' })
    ]);
    await refresh();
    expect(rowIds()).toEqual(['3', '2', '1']);
    fireEvent.click(screen.getByRole('button', { name: /Name/ }));
    expect(rowIds()).toEqual(['1', '2', '3']);
    expect(
      screen
        .getByRole('columnheader', { name: /Name/ })
        .getAttribute('aria-sort')
    ).toBe('ascending');
    fireEvent.click(screen.getByRole('button', { name: /Name/ }));
    expect(rowIds()).toEqual(['3', '2', '1']);

    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: 'ta' }
    });
    expect(rowIds()).toEqual(['2']);
    expect(screen.getByText('1 of 3 jobs shown')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Filter jobs'), {
      target: { value: '' }
    });
    fireEvent.change(screen.getByLabelText('Show jobs in state'), {
      target: { value: 'active' }
    });
    expect(rowIds()).toEqual(['3']);
    model.dispose();
  });

  it('is usable from the keyboard: arrows select, Enter opens', async () => {
    const { refresh, model, opened } = setup([
      job({ id: '1', name: 'alpha' }),
      job({ id: '2', name: 'beta' })
    ]);
    await refresh();
    const body = screen.getByLabelText('Jobs: arrow keys select, Enter opens');
    fireEvent.focus(body);
    fireEvent.keyDown(body, { key: 'ArrowDown' });
    fireEvent.keyDown(body, { key: 'Enter' });
    expect(opened).toEqual(['1']);
    model.dispose();
  });

  it('renders only the rows in view for thousands of jobs', async () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      job({ id: String(i + 1), name: `job-${i + 1}` })
    );
    const { refresh, model, view } = setup(many);
    await refresh();
    const rendered = rowIds();
    expect(rendered.length).toBeGreaterThan(10);
    expect(rendered.length).toBeLessThan(100);
    expect(rendered[0]).toBe('5000');
    expect(screen.getByText('5000 jobs')).toBeTruthy();

    const scroller = view.container.querySelector('.jp-FluxHub-tableScroller')!;
    scroller.scrollTop = 26 * 2500;
    fireEvent.scroll(scroller);
    const scrolled = rowIds();
    expect(scrolled).toContain('2500');
    expect(scrolled).not.toContain('5000');
    expect(scrolled.length).toBeLessThan(100);
    model.dispose();
  });

  it('shows ids above 2^53 as F58, with the exact decimal as tooltip, and opens that id', async () => {
    const { refresh, model, opened } = setup([
      job({ id: BIG.b, name: 'alpha', t_submit: 1 }),
      job({ id: BIG.c, name: 'beta', t_submit: 2 }),
      job({ id: '12', name: 'gamma', t_submit: 3 })
    ]);
    await refresh();
    // Two ids a number cannot tell apart: both rows, each its own.
    expect(rowIds()).toEqual(['12', BIG.c, BIG.b]);
    const cell = (id: string) =>
      document.querySelector(`tr[data-job-id="${id}"] .jp-FluxHub-col-id`)!;
    expect(cell(BIG.b).textContent).toBe('ƒ3gDmDv6tnx8');
    expect(cell(BIG.b).getAttribute('title')).toBe(BIG.b);
    expect(cell(BIG.c).textContent).toBe('ƒ3gDmDv6tnx9');
    expect(cell('12').textContent).toBe('ƒD');

    fireEvent.click(screen.getByRole('button', { name: /^ID/ }));
    expect(rowIds()).toEqual([BIG.c, BIG.b, '12']);
    fireEvent.click(screen.getByRole('button', { name: /^ID/ }));
    expect(rowIds()).toEqual(['12', BIG.b, BIG.c]);

    const filter = (value: string) =>
      fireEvent.change(screen.getByLabelText('Filter jobs'), {
        target: { value }
      });
    filter('ƒ3gDmDv6tnx9');
    expect(rowIds()).toEqual([BIG.c]);
    filter('f3gDmDv6tnx8');
    expect(rowIds()).toEqual([BIG.b]);
    filter(BIG.c);
    expect(rowIds()).toEqual([BIG.c]);

    fireEvent.click(cell(BIG.c).closest('tr')!);
    expect(opened).toEqual([BIG.c]);
    model.dispose();
  });
});
