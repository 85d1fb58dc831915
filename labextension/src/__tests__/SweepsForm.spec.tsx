import * as React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';

import { FluxHubAPI, ISubmitRequest, ISweepBody, ISweepProgress } from '../api';
import { EMPTY_VALUES, SubmitForm } from '../components/SubmitForm';
import { ISweepActions, sweepBody } from '../components/SweepParameters';
import { EMPTY_SWEEP, sweepInputs } from '../sweeps';
import { failure, flush, json, settingsWith } from './fakes';
import { REQUEST_FIELDS } from './requestFields';

function fill(label: string | RegExp, value: string, index = 0) {
  fireEvent.change(screen.getAllByLabelText(label)[index], {
    target: { value }
  });
}

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
      await act(() => flush(20));
    }
  }
}

/** The count a server gives for typed values (in these specs: words and {1..N}). */
function fakeCount(words: string | undefined): number {
  return (words ?? 'one-line')
    .split(/\s+/)
    .filter(Boolean)
    .reduce(
      (n, word) => n + Number(/^\{1\.\.(\d+)\}$/.exec(word)?.[1] ?? 1),
      0
    );
}

/**
 * The form with a server that previews a sweep as POST sweeps' dry run does
 * (`answer`: the dry run's 200, or a 400's line) and takes it (202).
 */
async function setup(
  answer: (body: ISweepBody) => { count: number } | string = body => ({
    count: fakeCount((body.inputs as { words: string }[])[0].words)
  })
) {
  const previews: ISweepBody[] = [];
  const posted: ISweepBody[] = [];
  const jobs: ISubmitRequest[] = [];
  const started: ISweepProgress[] = [];
  const api = new FluxHubAPI(
    settingsWith(async request => {
      const body = await request.json();
      if (body.dry_run) {
        previews.push(body);
        const said = answer(body);
        if (typeof said === 'string') {
          return json(400, { message: said, reasons: [] });
        }
        const commands = Array.from(
          { length: Math.min(5, said.count) },
          (_, i) => ({
            name: `sweep [${i + 1}/${said.count}]`,
            command: `echo ${i + 1}`
          })
        );
        return json(200, {
          count: said.count,
          group: 'sweep',
          preview: commands
        });
      }
      posted.push(body);
      return json(202, {
        sweep: 'abc',
        group: body.group ?? 'echo',
        count: 20,
        total: 20,
        submitted: 0,
        failed: 0,
        errors: [],
        done: false
      });
    })
  );
  const sweeps: ISweepActions = {
    preview: body => api.sweepPreview(body),
    submit: body => api.submitSweep({ ...body, origin: { kind: 'panel' } }),
    onSubmitted: progress => started.push(progress)
  };
  render(
    <SubmitForm
      initial={{ ...EMPTY_VALUES, workdir: '/home/alice/project' }}
      requestFields={Promise.resolve(REQUEST_FIELDS)}
      submit={async request => {
        jobs.push(request);
        return '5';
      }}
      onSubmitted={() => undefined}
      sweeps={sweeps}
    />
  );
  await screen.findByRole('button', { name: 'Submit' });
  const parameters = () => screen.getByRole('button', { name: /Parameters/ });
  return { previews, posted, jobs, started, parameters };
}

const preview = () =>
  document.querySelector('.jp-FluxHub-sweepPreview')?.textContent ?? '';

describe('the form’s Parameters (a sweep)', () => {
  it('is closed at first, and the form submits one job as before', async () => {
    const { parameters, jobs, posted } = await setup();
    expect(parameters().getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByLabelText('Values')).toBeNull();
    fill('Command', 'hostname');
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    });
    expect(jobs.map(j => j.command)).toEqual(['hostname']);
    expect(posted).toEqual([]);
  });

  it('says what {}, {name} and {seq} do, and previews the jobs once the typing stops', async () => {
    const { parameters, previews } = await setup();
    fill('Command', 'echo {}');
    fireEvent.click(parameters());
    expect(parameters().getAttribute('aria-expanded')).toBe('true');
    const help = screen.getByRole('group', { name: 'Parameters' }).textContent;
    expect(help).toContain('{}');
    expect(help).toContain('{name}');
    expect(help).toContain('{seq}');
    expect(help).toContain('flux bulksubmit');
    // Typed quickly: one preview, of what was typed last.
    fill('Values', '1');
    fill('Values', '1 2');
    fill('Values', '{1..20}');
    expect(preview()).toContain('Counting the jobs…');
    await until(() => expect(preview()).toContain('20 jobs'));
    expect(previews.length).toBe(1);
    expect(previews[0].inputs).toEqual([{ words: '{1..20}' }]);
    expect(previews[0].request.command).toBe('echo {}');
    const commands = Array.from(
      document.querySelectorAll('.jp-FluxHub-sweepCommands li')
    ).map(li => li.textContent);
    expect(commands[0]).toBe('sweep [1/20] echo 1');
    expect(commands.length).toBe(5);
    expect(preview()).toContain('… and 15 more');
    expect(
      screen.getByRole('button', { name: 'Submit 20 jobs' })
    ).not.toHaveProperty('disabled', true);
  });

  it('posts the sweep: the form’s request, its inputs, group and origin', async () => {
    const { parameters, posted, started, jobs } = await setup(() => ({
      count: 20
    }));
    fill('Command', 'python3 train.py --lr {lr} --seed {}');
    fill('Name (optional)', 'train');
    fill('Nodes', '2');
    fireEvent.click(parameters());
    fill('Input name', 'lr');
    fill('Values', '0.1 0.01');
    fireEvent.click(screen.getByRole('button', { name: 'Add values' }));
    fill('Input name', 'seed', 1);
    fill('Values', '{1..10}', 1);
    fill('Group', 'lr-grid');
    await until(() => expect(preview()).toContain('20 jobs'));
    await until(() =>
      expect(
        screen.getByRole('button', { name: 'Submit 20 jobs' })
      ).toBeTruthy()
    );
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit 20 jobs' }));
    });
    await until(() => expect(started.length).toBe(1));
    expect(jobs).toEqual([]);
    expect(posted).toEqual([
      {
        request: {
          command: 'python3 train.py --lr {lr} --seed {}',
          name: 'train',
          num_nodes: '2',
          workdir: '/home/alice/project'
        },
        inputs: {
          lr: { words: '0.1 0.01' },
          seed: { words: '{1..10}' }
        },
        group: 'lr-grid',
        origin: { kind: 'panel' }
      }
    ]);
  });

  it('takes the lines of a file, and removes a row', async () => {
    const { parameters, previews } = await setup(() => ({ count: 3 }));
    fill('Command', 'wc -l {}');
    fireEvent.click(parameters());
    fill('Values', 'a b');
    fireEvent.click(screen.getByRole('button', { name: 'Add values' }));
    fireEvent.change(screen.getAllByLabelText('From')[1], {
      target: { value: 'file' }
    });
    fill('File of values', 'data/inputs.txt');
    await until(() => expect(preview()).toContain('3 jobs'));
    expect(previews[previews.length - 1].inputs).toEqual([
      { words: 'a b' },
      { file: 'data/inputs.txt' }
    ]);
    fireEvent.click(screen.getByRole('button', { name: 'Remove values 1' }));
    await until(() =>
      expect(previews[previews.length - 1].inputs).toEqual([
        { file: 'data/inputs.txt' }
      ])
    );
  });

  it('shows the server’s one line against a bad sweep, and cannot submit it', async () => {
    const { parameters, posted } = await setup(
      () =>
        "The sweep was not submitted: the command: no input named 'x' (named inputs: none (the inputs are by position))."
    );
    fill('Command', 'echo {x}');
    fireEvent.click(parameters());
    fill('Values', 'a b c');
    await until(() =>
      expect(preview()).toBe(
        "The command: no input named 'x' (named inputs: none (the inputs are by position))."
      )
    );
    const submit = screen.getByRole('button', { name: 'Submit jobs' });
    expect((submit as HTMLButtonElement).disabled).toBe(true);
    expect(posted).toEqual([]);
  });

  it('says in one line when some rows are named and others not', async () => {
    const { parameters, previews } = await setup();
    fill('Command', 'echo {a} {}');
    fireEvent.click(parameters());
    fill('Input name', 'a');
    fill('Values', '1 2');
    fireEvent.click(screen.getByRole('button', { name: 'Add values' }));
    fill('Values', 'x y', 1);
    await until(() =>
      expect(preview()).toBe(
        'Name every row of values, or none (then {} takes them in order).'
      )
    );
    expect(previews).toEqual([]);
  });

  it('asks for the command before it previews, and Clear closes the Parameters', async () => {
    const { parameters, previews } = await setup();
    fireEvent.click(parameters());
    fill('Values', 'a b');
    expect(preview()).toBe('Fill in the command to see the jobs.');
    expect(
      (screen.getByRole('button', { name: 'Submit jobs' }) as HTMLButtonElement)
        .disabled
    ).toBe(false);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit jobs' }));
    });
    expect(screen.getByText('A command is required.')).toBeTruthy();
    expect(previews).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Clear' }));
    expect(parameters().getAttribute('aria-expanded')).toBe('false');
    expect(screen.getByRole('button', { name: 'Submit' })).toBeTruthy();
  });
});

describe('sweep inputs', () => {
  it('sends the values as typed: the server reads them as the terminal does', () => {
    const row = { name: '', source: 'words' as const, words: '', path: '' };
    expect(sweepInputs([{ ...row, words: " a 'b c' {1..3} " }])).toEqual({
      inputs: [{ words: "a 'b c' {1..3}" }]
    });
  });

  it('gives a list by position, or a dict by name', () => {
    const row = { name: '', source: 'words' as const, words: '', path: '' };
    expect(
      sweepInputs([
        { ...row, words: 'a b' },
        { ...row, words: '' },
        { ...row, source: 'file', path: 'in.txt' }
      ])
    ).toEqual({ inputs: [{ words: 'a b' }, { file: 'in.txt' }] });
    expect(
      sweepInputs([
        { ...row, name: 'x', words: '1' },
        { ...row, name: 'x', words: '2' }
      ])
    ).toEqual({ error: 'Two rows are named “x”.' });
    expect(sweepInputs([{ ...row, name: 'a b', words: '1' }])).toEqual({
      error: "An input's name is a word (letters, digits, _), not “a b”."
    });
  });

  it('sends keep_env beside the request, as POST jobs takes it', () => {
    const params = {
      ...EMPTY_SWEEP,
      open: true,
      rows: [{ ...EMPTY_SWEEP.rows[0], words: 'a b' }],
      group: ' g '
    };
    expect(
      sweepBody(
        { command: 'echo {}', envars: { SEED: '7' }, keep_env: true },
        params
      )
    ).toEqual({
      request: { command: 'echo {}', envars: { SEED: '7' } },
      inputs: [{ words: 'a b' }],
      group: 'g',
      keep_env: true
    });
  });

  it('reports a preview the server cannot make as a FluxHubError', async () => {
    const api = new FluxHubAPI(
      settingsWith(async () =>
        json(400, { message: 'The sweep was not submitted: bad.', reasons: [] })
      )
    );
    const error = await failure(
      api.sweepPreview({ request: { command: 'x' }, inputs: [['1']] })
    );
    expect(error.status).toBe(400);
  });
});
