/**
 * Run after in the submit form (components/RunAfter.tsx): a job held by the
 * hub until others end, the form's side of POST jobs' `dependency`; and a
 * held job's detail (components/HoldDetail.tsx).
 */
import * as React from 'react';
import { act, fireEvent, render, screen, within } from '@testing-library/react';

import { IJob, ISubmitRequest } from '../api';
import { HoldDetailView } from '../components/HoldDetail';
import {
  heldMessage,
  RunAfter,
  RUN_AFTER_INPUT_ID
} from '../components/RunAfter';
import { EMPTY_VALUES, SubmitForm } from '../components/SubmitForm';
import { holdFrom, IHeldAnswer } from '../holds';
import { formatF58 } from '../jobid';
import { FluxHubError } from '../request';
import { job } from './fakes';
import { REQUEST_FIELDS } from './requestFields';

const A = '1001';
const B = '1002';
const FA = formatF58(A);
const FB = formatF58(B);

function fill(label: string | RegExp, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

function refusal(
  status: number,
  message: string,
  reasons: string[] = [],
  field: string | null = null
) {
  return new FluxHubError(
    new Response('', { status }),
    message,
    reasons,
    field
  );
}

async function setup(
  holdAnswer: (request: ISubmitRequest) => Promise<IHeldAnswer>,
  jobs: IJob[] = []
) {
  const sent: ISubmitRequest[] = [];
  const held: ISubmitRequest[] = [];
  const answers: IHeldAnswer[] = [];
  render(
    <SubmitForm
      initial={{ ...EMPTY_VALUES }}
      requestFields={Promise.resolve(REQUEST_FIELDS)}
      submit={async request => {
        sent.push(request);
        return '5';
      }}
      onSubmitted={() => undefined}
      holds={{
        submit: request => {
          held.push(request);
          return holdAnswer(request);
        },
        onHeld: answer => answers.push(answer),
        jobs: () => jobs
      }}
    />
  );
  await screen.findByRole('button', { name: 'Submit' });
  const press = () =>
    act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    });
  return { sent, held, answers, press };
}

const answerFor = async (request: ISubmitRequest): Promise<IHeldAnswer> => ({
  hold: 'h0123456789abcdef',
  state: 'DEPEND',
  after: request
    .dependency!.split(':')[1]
    .split(',')
    .map(id => ({ kind: request.dependency!.split(':')[0], id })),
  name: request.name ?? null
});

describe('Run after', () => {
  it('submits now when no job is given, as before', async () => {
    const { sent, held, press } = await setup(answerFor);
    fill('Command', 'python3 step2.py');
    expect(screen.getByText('Empty: the job is submitted now.')).toBeTruthy();
    await press();
    expect(held).toEqual([]);
    expect(sent).toEqual([{ command: 'python3 step2.py' }]);
    expect(sent[0]).not.toHaveProperty('dependency');
  });

  it('holds the job until the jobs typed end as chosen, ids in any form', async () => {
    const { sent, held, answers, press } = await setup(answerFor);
    fill('Command', 'python3 step2.py');
    fill('Name (optional)', 'step2');
    fill('Run after (optional)', `${FA}, ${B}`);
    fireEvent.change(screen.getByLabelText('Run after the jobs'), {
      target: { value: 'afterany' }
    });
    // Several jobs: the kinds say "they".
    const kinds = screen.getByLabelText(
      'Run after the jobs'
    ) as HTMLSelectElement;
    expect(Array.from(kinds.options).map(o => o.textContent)).toEqual([
      'when they succeed',
      'when they end',
      'when they fail'
    ]);
    expect(
      screen.getByText(
        `Runs when ${FA} and ${FB} end, however they end. flux-hub holds it until then and submits it even if your server is stopped.`
      )
    ).toBeTruthy();
    await press();
    expect(sent).toEqual([]);
    expect(held).toEqual([
      {
        command: 'python3 step2.py',
        name: 'step2',
        dependency: `afterany:${A},${B}`
      }
    ]);
    expect(answers.map(a => a.hold)).toEqual(['h0123456789abcdef']);
    expect(heldMessage(answers[0])).toBe(
      `Held “step2” until ${FA} and ${FB} end, however they end: flux-hub submits it then, even if your server is stopped.`
    );
  });

  it('says at the field which word is not a job id, and sends nothing', async () => {
    const { sent, held, press } = await setup(answerFor);
    fill('Command', 'python3 step2.py');
    fill('Run after (optional)', `${FA} train`);
    await press();
    expect(sent).toEqual([]);
    expect(held).toEqual([]);
    const input = screen.getByLabelText('Run after (optional)');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(input);
    expect(
      document.getElementById(`${RUN_AFTER_INPUT_ID}-error`)!.textContent
    ).toBe(
      '“train” is not a job id: write it as flux jobs shows it (ƒ…) or in decimal.'
    );
    // Typing again clears it.
    fill('Run after (optional)', FA);
    expect(input.getAttribute('aria-invalid')).toBeNull();
  });

  it('shows the server’s one line at the field when it refuses the dependency', async () => {
    let answer: Error = refusal(
      400,
      'The job was not held: its dependency is not valid.',
      ["'afterok:ƒ1' is not a dependency: 'ƒ1' is not a job id"],
      'dependency'
    );
    const { press } = await setup(async () => {
      throw answer;
    });
    fill('Command', 'python3 step2.py');
    fill('Run after (optional)', FA);
    await press();
    const error = () =>
      document.getElementById(`${RUN_AFTER_INPUT_ID}-error`)?.textContent;
    expect(error()).toBe(
      "'afterok:ƒ1' is not a dependency: 'ƒ1' is not a job id"
    );
    expect(screen.getByRole('alert').textContent).toBe(
      'The job was not held. See Run after above.'
    );
    // A job that is not the person's: the hub's sentence, at the field too.
    answer = refusal(400, `There is no job ${FA} of yours to wait for.`);
    await press();
    expect(error()).toBe(`There is no job ${FA} of yours to wait for.`);
    // Anything else is the form's banner, as for any submit.
    answer = refusal(
      503,
      'This server was given no hub to hold jobs (FLUX_HUB_HOLDS_URL): a job with a dependency cannot be held.'
    );
    await press();
    expect(error()).toBeUndefined();
    expect(screen.getByRole('alert').textContent).toMatch(
      /^The job was not submitted\..*no hub to hold jobs/
    );
  });

  it('offers the person’s jobs, active first, keeping the ids typed before', async () => {
    const jobs = [
      job({ id: A, name: 'prepare', t_submit: 1700000010 }),
      job({
        id: B,
        name: 'train',
        state: 'RUN',
        result: '',
        t_submit: 1700000001
      }),
      // A held job's row is no job to wait for.
      job({ id: 'h00000000000000aa', hold: 'h00000000000000aa', name: 'held' })
    ];
    await setup(answerFor, jobs);
    const list = document.getElementById(`${RUN_AFTER_INPUT_ID}-jobs`)!;
    const options = () =>
      Array.from(list.querySelectorAll('option')).map(o => [
        o.getAttribute('value'),
        o.textContent
      ]);
    expect(
      screen.getByLabelText('Run after (optional)').getAttribute('list')
    ).toBe(`${RUN_AFTER_INPUT_ID}-jobs`);
    expect(options()).toEqual([
      [FB, `${FB} — train`],
      [FA, `${FA} — prepare`]
    ]);
    fill('Run after (optional)', `${FB}, `);
    expect(options()[1]).toEqual([`${FB}, ${FA}`, `${FA} — prepare`]);
  });

  it('is off, saying why, while the form makes a sweep', () => {
    render(
      <RunAfter
        value={{ kind: 'afterok', ids: '' }}
        onChange={() => undefined}
        disabledBecause="Not for sweeps yet: the jobs of a sweep are submitted now."
      />
    );
    expect(
      (screen.getByLabelText('Run after (optional)') as HTMLInputElement)
        .disabled
    ).toBe(true);
    expect(
      (screen.getByLabelText('Run after the jobs') as HTMLSelectElement)
        .disabled
    ).toBe(true);
    expect(
      screen.getByText(
        'Not for sweeps yet: the jobs of a sweep are submitted now.'
      )
    ).toBeTruthy();
  });
});

describe('a held job’s detail', () => {
  it('shows what it runs, what it waits for, and why it never ran', () => {
    const hold = holdFrom({
      hold: 'h00000000000000aa',
      request: {
        command: ['python3', 'step2.py'],
        num_tasks: 2,
        workdir: '/home/alice/project'
      },
      after: [
        { kind: 'afterok', id: Number(A) },
        { kind: 'afternotok', id: Number(B) }
      ],
      name: 'step2',
      state: 'NEVER_RUN',
      job: null,
      reason: `job ${FA} did not succeed (failed): afterok cannot hold`,
      created: 1700000100,
      updated: 1700000200
    });
    const opened: string[] = [];
    const cancelled: number[] = [];
    render(
      <HoldDetailView
        hold={hold}
        holdId={hold.hold}
        error={null}
        notice={null}
        jobOf={id =>
          id === A
            ? job({ id: A, name: 'prepare', result: 'FAILED' })
            : undefined
        }
        onCancel={() => cancelled.push(1)}
        onOpenJob={id => opened.push(id)}
      />
    );
    expect(screen.getByLabelText('Status NEVER RUN')).toBeTruthy();
    expect(screen.getByRole('note').textContent).toBe(
      `Never run: job ${FA} did not succeed (failed): afterok cannot hold.`
    );
    const waits = within(screen.getByRole('list', { name: 'Waits for' }));
    expect(waits.getAllByRole('listitem').map(li => li.textContent)).toEqual([
      `${FA} (prepare) to succeed afterok — now FAILED`,
      `${FB} to fail afternotok`
    ]);
    fireEvent.click(waits.getByRole('button', { name: FA }));
    expect(opened).toEqual([A]);
    expect(screen.getByLabelText('Command').textContent).toBe(
      'python3 step2.py'
    );
    const request = within(
      screen.getByRole('table', { name: 'The held request' })
    );
    expect(request.getByText('num_tasks').nextSibling!.textContent).toBe('2');
    // Never run: nothing to cancel.
    expect(
      screen.queryByRole('button', { name: 'Cancel held job' })
    ).toBeNull();
  });

  it('offers Cancel while it waits', () => {
    const hold = holdFrom({
      hold: 'h00000000000000bb',
      request: { command: 'hostname' },
      after: [{ kind: 'afterok', id: Number(A) }],
      name: null,
      state: 'DEPEND',
      job: null,
      reason: null,
      created: 1700000100,
      updated: 1700000100
    });
    const cancelled: number[] = [];
    render(
      <HoldDetailView
        hold={hold}
        holdId={hold.hold}
        error={null}
        notice={null}
        jobOf={() => undefined}
        onCancel={() => cancelled.push(1)}
      />
    );
    expect(screen.getByLabelText('Status DEPEND')).toBeTruthy();
    expect(
      screen.getByText(
        `Runs when ${FA} completes successfully. Held by flux-hub: it is submitted then, as you, even if your server is stopped.`
      )
    ).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel held job' }));
    expect(cancelled).toEqual([1]);
  });
});
