import * as React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { Widget } from '@lumino/widgets';

import { FluxHubAPI, IJob } from '../api';
import { EMPTY_VALUES, SubmitForm } from '../components/SubmitForm';
import { JobDetail } from '../components/JobDetail';
import { JobsModel } from '../model';
import { looksLikeShell } from '../shell';
import { flush, job, json, settingsWith } from './fakes';
import { REQUEST_FIELDS } from './requestFields';

/**
 * Command lines and whether they are shell syntax (they run as a program:
 * the server splits them as a shell would, quotes kept, nothing expanded).
 * The form's hint and the job detail's hint both read this one rule
 * (src/shell.ts); before, each had its own list and the form missed
 * `. env.sh`, `[[ … ]]`, `{ …; }`, `( … )` and a bare `$VAR`.
 */
const CASES: [string, boolean][] = [
  ['hostname', false],
  ['python3 train.py --epochs 3', false],
  ['./run.sh --fast', false],
  ['/usr/bin/env python3 -V', false],
  ['echo 100%', false],
  ['python3 -c print(2*3)', false],
  ['printf "%s\\n" done', false],
  ["echo 'a;b|c & d > e'", false],
  ["grep -E '^(for|cd)$' words.txt", false],
  ["echo 'costs $5 or $HOME'", false],
  ['echo \\$HOME', false],
  ['for i in 1 2 3; do echo $i; done', true],
  ['while true; do date; sleep 1; done', true],
  ['if test -f x; then cat x; fi', true],
  ['cd /tmp', true],
  ['export SEED=7', true],
  ['source env.sh', true],
  ['. env.sh', true],
  ['[[ -f data.csv ]]', true],
  ['{ echo a; echo b; }', true],
  ['( cd /tmp && make )', true],
  ['(make)', true],
  ['SEED=7 python3 train.py', true],
  ['echo $HOME', true],
  ['ls $1', true],
  ['echo ${USER}', true],
  ['echo $(date)', true],
  ['echo "run on $HOSTNAME"', true],
  ['echo `date`', true],
  ['make > build.log', true],
  ['sort < words.txt', true],
  ['cat data | wc -l', true],
  ['sleep 60 &', true],
  ['make && make install', true],
  ['echo one\necho two', true]
];

/** The words the server makes of a command line without quotes (the job record's command). */
const words = (line: string) => line.trim().split(/\s+/);

/** A job that failed to start as Flux says it: the program it could not start. */
function failedJob(command: string | string[]): IJob {
  const program = Array.isArray(command) ? command[0] : words(command)[0];
  return job({
    id: '12',
    name: program,
    command,
    result: 'FAILED',
    returncode: 127,
    exception: {
      occurred: true,
      type: 'exec',
      note: `task 0 (host vm0): start failed: ${program}: No such file or directory`
    }
  } as Partial<IJob>);
}

/** Whether the job detail of `failed` hints that its command is shell syntax. */
async function detailHints(failed: IJob): Promise<boolean> {
  const api = new FluxHubAPI(
    settingsWith(async request =>
      new URL(request.url).pathname.endsWith('/output')
        ? json(200, { output: [] })
        : json(200, failed)
    )
  );
  const model = new JobsModel(api, { auto: false });
  const widget = new JobDetail({ model, id: failed.id });
  Widget.attach(widget, document.body);
  try {
    for (let i = 0; i < 200; i++) {
      const banner = widget.node.querySelector('.jp-FluxHub-startFailure');
      if (banner) {
        return banner.textContent!.includes('The command is shell syntax');
      }
      await flush(10);
    }
    throw new Error('no start failure shown');
  } finally {
    widget.dispose();
  }
}

describe('shell syntax: one rule for the form and the job detail', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it.each(CASES)('%j is shell syntax: %s', (command, shell) => {
    expect(looksLikeShell(command)).toBe(shell);
  });

  it('the form hints under Command for exactly these', async () => {
    render(
      <SubmitForm
        initial={EMPTY_VALUES}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    await screen.findByRole('button', { name: 'Submit' });
    // Command is one line (an input): a line break cannot be typed there
    const oneLine = CASES.filter(([command]) => !command.includes('\n'));
    const answers = oneLine.map(([command]) => {
      fireEvent.change(screen.getByLabelText('Command'), {
        target: { value: command }
      });
      const note = screen.queryByRole('note');
      return [
        command,
        !!note?.textContent?.includes('This looks like shell syntax')
      ];
    });
    expect(answers).toEqual(oneLine);
  });

  it('the job detail of a job that failed to start hints for exactly these', async () => {
    const answers: [string, boolean][] = [];
    for (const [command] of CASES) {
      answers.push([command, await detailHints(failedJob(command))]);
    }
    expect(answers).toEqual(CASES);
  });

  it("the job detail gives the same answer from the job's words (no quotes typed)", async () => {
    const unquoted = CASES.filter(([command]) => !/['"\\\n]/.test(command));
    expect(unquoted.length).toBeGreaterThan(20);
    const answers: [string, boolean][] = [];
    for (const [command] of unquoted) {
      answers.push([command, await detailHints(failedJob(words(command)))]);
    }
    expect(answers).toEqual(unquoted);
  });

  it('the job detail hints from the program alone when the record has no command', async () => {
    for (const program of ['for', '.', '[[', '{', 'SEED=7', 'cd']) {
      const failed = failedJob(program);
      delete failed.command;
      expect([program, await detailHints(failed)]).toEqual([program, true]);
    }
    const failed = failedJob('nosuchprogram');
    delete failed.command;
    expect(await detailHints(failed)).toBe(false);
  });
});
