import {
  ALL_COLUMN_IDS,
  COLUMN_WIDTHS,
  COLUMNS,
  columnsForWidth,
  formatDuration,
  formatTime,
  idUnderName,
  isCancellable,
  parseEnvironment,
  statusOf,
  visibleJobs
} from '../jobs';
import { BIG, job } from './fakes';

describe('job helpers', () => {
  it('tells what happened to a job the way Flux names it', () => {
    expect(statusOf(job({ state: 'INACTIVE', result: 'FAILED' }))).toBe(
      'FAILED'
    );
    expect(statusOf(job({ state: 'RUN', result: '' }))).toBe('RUN');
    expect(statusOf(job({ state: 'SCHED', result: '' }))).toBe('PENDING');
    expect(isCancellable(job({ state: 'RUN', result: '' }))).toBe(true);
    expect(isCancellable(job({ state: 'CLEANUP', result: '' }))).toBe(true);
    expect(isCancellable(job({ state: 'INACTIVE', result: 'COMPLETED' }))).toBe(
      false
    );
  });

  it('formats run times compactly', () => {
    expect(formatDuration(0.024)).toBe('0s');
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(187)).toBe('3:07');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(90000)).toBe('1d 01:00:00');
    expect(formatDuration(undefined)).toBe('');
  });

  it('reads NAME=value lines and points at the first bad one', () => {
    expect(parseEnvironment('A=1\n\n# note\nB_2 = x=y')).toEqual({
      envars: { A: '1', B_2: ' x=y' }
    });
    expect(parseEnvironment('A=1\n2BAD=3')).toEqual({
      error: 'Line 2 is not NAME=value with a valid variable name: "2BAD=3"'
    });
    expect('error' in parseEnvironment('just words')).toBe(true);
  });

  it('filters by text and state and sorts by any column', () => {
    const jobs = [
      job({ id: '1', name: 'train', state: 'RUN', result: '', runtime: 50 }),
      job({ id: '2', name: 'hostname', result: 'COMPLETED', runtime: 1 }),
      job({ id: '3', name: 'sleep', result: 'FAILED', runtime: 7 }),
      job({ id: '4', name: 'Train-big', result: 'CANCELED', runtime: 20 })
    ];
    const ids = (list: typeof jobs) => list.map(j => j.id);
    const byId = { column: 'id' as const, ascending: true };
    expect(ids(visibleJobs(jobs, 'train', 'all', byId))).toEqual(['1', '4']);
    expect(ids(visibleJobs(jobs, '', 'active', byId))).toEqual(['1']);
    expect(ids(visibleJobs(jobs, '', 'FAILED', byId))).toEqual(['3']);
    expect(ids(visibleJobs(jobs, 'canceled', 'all', byId))).toEqual(['4']);
    expect(
      ids(visibleJobs(jobs, '', 'all', { column: 'runtime', ascending: false }))
    ).toEqual(['1', '4', '3', '2']);
    expect(
      ids(visibleJobs(jobs, '', 'all', { column: 'name', ascending: true }))
    ).toEqual(['2', '3', '1', '4']);
  });
});

describe('job ids in the table', () => {
  const ids = (list: ReturnType<typeof visibleJobs>) => list.map(j => j.id);

  it('shows the F58 id with the exact decimal as its tooltip', () => {
    const column = COLUMNS.find(c => c.id === 'id')!;
    const big = job({ id: BIG.d });
    expect(column.text(big)).toBe('ƒ6ra9Ab2w9q');
    expect(column.title!(big)).toBe('43486559021826048');
    expect(column.text(job({ id: '0' }))).toBe('ƒ1');
  });

  it('sorts by id as numbers, across lengths and beyond 2^53', () => {
    const jobs = [
      job({ id: BIG.c }),
      job({ id: '9' }),
      job({ id: BIG.a }),
      job({ id: '10' }),
      job({ id: BIG.b }),
      job({ id: '9007199254740992' }),
      job({ id: '18446744073709551615' }),
      job({ id: '100' })
    ];
    const ascending = [
      '9',
      '10',
      '100',
      '9007199254740992',
      BIG.a,
      BIG.b,
      BIG.c,
      '18446744073709551615'
    ];
    expect(
      ids(visibleJobs(jobs, '', 'all', { column: 'id', ascending: true }))
    ).toEqual(ascending);
    expect(
      ids(visibleJobs(jobs, '', 'all', { column: 'id', ascending: false }))
    ).toEqual(ascending.slice().reverse());
  });

  it('breaks ties by id, newest (largest) first, also beyond 2^53', () => {
    const jobs = [BIG.b, '7', BIG.c, BIG.a].map(id =>
      job({ id, name: 'same', t_submit: 1 })
    );
    expect(
      ids(visibleJobs(jobs, '', 'all', { column: 'name', ascending: true }))
    ).toEqual([BIG.c, BIG.b, BIG.a, '7']);
  });

  it('filters by the id in F58 (ƒ, f or no prefix) or in decimal', () => {
    const jobs = [
      job({ id: BIG.b, name: 'alpha' }), // ƒ3gDmDv6tnx8
      job({ id: BIG.c, name: 'beta' }), // ƒ3gDmDv6tnx9
      job({ id: BIG.d, name: 'gamma' }) // ƒ6ra9Ab2w9q
    ];
    const byId = { column: 'id' as const, ascending: true };
    const shown = (text: string) => ids(visibleJobs(jobs, text, 'all', byId));
    expect(shown('ƒ3gDmDv6tnx8')).toEqual([BIG.b]);
    expect(shown('f3gDmDv6tnx8')).toEqual([BIG.b]);
    expect(shown('3gDmDv6tnx8')).toEqual([BIG.b]);
    expect(shown(' ƒ6ra9Ab2w9q ')).toEqual([BIG.d]);
    expect(shown('ƒ3gDm')).toEqual([BIG.b, BIG.c]);
    expect(shown('f6ra9')).toEqual([BIG.d]);
    // F58 tells upper from lower case.
    expect(shown('ƒ3GDMDV6TNX8')).toEqual([]);
    expect(shown(BIG.c)).toEqual([BIG.c]);
    expect(shown('115292150460685932')).toEqual([BIG.b, BIG.c]);
    expect(shown('43486559021826048')).toEqual([BIG.d]);
    // The rounded number of BIG.b is not its id.
    expect(shown('1152921504606859264')).toEqual([]);
  });
});

describe('formatTime', () => {
  it('gives the clock time for today and the date otherwise', () => {
    const now = new Date(2025, 10, 28, 15, 0, 0);
    const today = new Date(2025, 10, 28, 9, 5, 7).getTime() / 1000;
    const earlier = new Date(2025, 10, 20, 9, 5, 7).getTime() / 1000;
    expect(formatTime(today, now)).toMatch(/09:05:07/);
    expect(formatTime(earlier, now)).toMatch(/20/);
    expect(formatTime(earlier, now)).not.toMatch(/:07/);
    expect(formatTime(undefined, now)).toBe('');
  });
});

describe('columnsForWidth', () => {
  const all = ALL_COLUMN_IDS;

  it('puts the name first in the default order', () => {
    expect(all).toEqual([
      'name',
      'id',
      'state',
      'result',
      'nodes',
      'tasks',
      'runtime',
      'submitted'
    ]);
  });

  it('shows every column where they all fit', () => {
    expect(columnsForWidth(all, 200)).toEqual(all);
    expect(columnsForWidth(all, Infinity)).toEqual(all);
    expect(idUnderName(all, all)).toBe(false);
  });

  it('keeps the name and the status at the default sidebar width, the ID under the name', () => {
    // JupyterLab's default left sidebar (250px) holds about 28 characters of the
    // table's font (DejaVu Sans 13px: 100ch = 827px, as the browser test measures).
    const shown = columnsForWidth(all, 28);
    expect(shown).toEqual(['name', 'status']);
    expect(idUnderName(all, shown)).toBe(true);
    // The name keeps all the room the status leaves: enough for `walk-sleeper`.
    expect(28 - COLUMN_WIDTHS.status).toBeGreaterThanOrEqual(
      'walk-sleeper'.length
    );
  });

  it('gives the ID its own column next, then Runtime, Nodes, Tasks and Submitted as room allows, in the settings order', () => {
    // Room for Runtime but not yet for the ID: the ID comes first.
    expect(columnsForWidth(all, 37)).toEqual(['name', 'status']);
    expect(columnsForWidth(all, 38)).toEqual(['name', 'id', 'status']);
    expect(idUnderName(all, columnsForWidth(all, 38))).toBe(false);
    expect(columnsForWidth(all, 46)).toEqual([
      'name',
      'id',
      'status',
      'runtime'
    ]);
    expect(columnsForWidth(all, 60)).toEqual([
      'name',
      'id',
      'status',
      'nodes',
      'tasks',
      'runtime'
    ]);
    expect(columnsForWidth(all, 73)).toEqual([
      'name',
      'id',
      'status',
      'nodes',
      'tasks',
      'runtime',
      'submitted'
    ]);
    expect(columnsForWidth(all, 83)).toEqual(all);
  });

  it('never drops the name or the status, however narrow', () => {
    expect(columnsForWidth(all, 10)).toEqual(['name', 'status']);
    expect(idUnderName(all, columnsForWidth(all, 10))).toBe(true);
  });

  it('keeps to the columns the settings ask for', () => {
    expect(columnsForWidth(['name', 'result', 'id'], 39)).toEqual([
      'name',
      'result',
      'id'
    ]);
    expect(columnsForWidth(['name', 'result', 'id'], 30)).toEqual([
      'name',
      'result'
    ]);
    // ID before Name, as a person may order them
    expect(columnsForWidth(['id', 'name', 'state'], 40)).toEqual([
      'id',
      'name',
      'state'
    ]);
    // Without a name column the ID is what tells jobs apart: always shown.
    const noName = columnsForWidth(['id', 'state', 'runtime'], 25);
    expect(noName).toEqual(['id', 'state']);
    expect(idUnderName(['id', 'state', 'runtime'], noName)).toBe(false);
    // Without an ID wanted, none under the name.
    expect(idUnderName(['name', 'state'], ['name', 'state'])).toBe(false);
  });
});
