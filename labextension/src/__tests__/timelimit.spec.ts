import {
  durationText,
  EMPTY_VALUES,
  validate,
  valuesFromRequest
} from '../components/SubmitForm';
import { sweepBody } from '../components/SweepParameters';
import { EMPTY_ROW, EMPTY_SWEEP } from '../sweeps';

/**
 * The panel sends a time limit as typed: the server reads it with the one
 * description of a job request (flux_hub/jobrequest.py), which rounds a
 * sub-second limit up to 1 s, reads `.5h` as 1800 s and `0`/`inf` as no
 * limit, as `flux-hub submit` and `%%flux` do. The panel had its own reading
 * once, which made `0.4s` "no limit" and refused `.5h`; it must not come
 * back. (SubmitForm.spec posts these through the form's Submit too.)
 */
const LIMITS = [
  '0.4s',
  '.5h',
  '500ms',
  '0.5',
  '1.5',
  '2d',
  '1h30m',
  '0',
  'inf'
];

describe('time limits go to the server as typed', () => {
  it.each(LIMITS)('%s: sent unchanged, not refused by the form', limit => {
    const { request, errors } = validate({
      ...EMPTY_VALUES,
      command: 'hostname',
      timeLimit: ` ${limit} `
    });
    expect(errors).toEqual({});
    expect(request).toEqual({ command: 'hostname', runtime: limit });
  });

  it('a sweep sends the same limit for each of its jobs', () => {
    for (const limit of ['0.4s', '.5h']) {
      const { request } = validate({
        ...EMPTY_VALUES,
        command: 'echo {}',
        timeLimit: limit
      });
      const body = sweepBody(request!, {
        ...EMPTY_SWEEP,
        open: true,
        rows: [{ ...EMPTY_ROW, words: 'a b' }]
      });
      expect(body).toEqual({
        request: { command: 'echo {}', runtime: limit },
        inputs: [{ words: 'a b' }]
      });
    }
  });

  it('a kept request with a sub-second limit opens with that limit, not "no limit"', () => {
    for (const seconds of [0.4, 0.5, 1.5]) {
      const values = valuesFromRequest({
        command: 'hostname',
        runtime: seconds
      });
      expect(values.timeLimit).toBe(String(seconds));
      expect(validate(values).request!.runtime).toBe(String(seconds));
    }
    // Only no limit reads as empty
    expect(durationText(0)).toBe('');
    expect(valuesFromRequest({ command: 'x', runtime: '.5h' }).timeLimit).toBe(
      '.5h'
    );
  });
});
