import * as fs from 'fs';
import * as path from 'path';

import { isActive, isCancellable, PENDING_STATES, statusOf } from '../jobs';
import { job } from './fakes';

/** A tuple of state names in flux_hub/jobstates.py, the Python side's one list. */
function pythonStates(name: string): string[] {
  const source = fs.readFileSync(
    path.join(__dirname, '..', '..', '..', 'flux_hub', 'jobstates.py'),
    'utf8'
  );
  const line = new RegExp(`^${name} = \\(([^)]*)\\)`, 'm').exec(source);
  if (!line) {
    throw new Error(`no ${name} in flux_hub/jobstates.py`);
  }
  return Array.from(line[1].matchAll(/"([A-Z]+)"/g), match => match[1]);
}

describe("the panel's job states agree with flux_hub/jobstates.py", () => {
  const pending = pythonStates('PENDING');
  const running = pythonStates('RUNNING');
  const active = [...pending, ...running];

  it('reads the Python lists', () => {
    expect(pending).toEqual(['NEW', 'DEPEND', 'PRIORITY', 'SCHED']);
    expect(running).toEqual(['RUN', 'CLEANUP']);
  });

  it('pending: the same states, each shown as PENDING', () => {
    expect(Array.from(PENDING_STATES)).toEqual(pending);
    for (const state of pending) {
      expect([state, statusOf(job({ state, result: '' }))]).toEqual([
        state,
        'PENDING'
      ]);
    }
    for (const state of running) {
      expect(statusOf(job({ state, result: '' }))).toBe(state);
    }
  });

  it('what the panel cancels is what `flux-hub cancel --all` cancels: every active state, CLEANUP too', () => {
    for (const state of [...active, 'INACTIVE']) {
      const one = job({
        state,
        result: state === 'INACTIVE' ? 'COMPLETED' : ''
      });
      expect([state, isActive(one), isCancellable(one)]).toEqual([
        state,
        active.includes(state),
        active.includes(state)
      ]);
    }
  });
});
