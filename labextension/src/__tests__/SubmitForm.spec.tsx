import * as React from 'react';
import {
  act,
  fireEvent,
  render,
  screen,
  waitFor
} from '@testing-library/react';

import { FluxHubAPI, ISubmitRequest } from '../api';
import {
  durationText,
  EMPTY_VALUES,
  SubmitForm,
  validate,
  valuesFromRequest
} from '../components/SubmitForm';
import { IFilesInfo, NO_STORAGE, NO_STORAGE_HINT } from '../files';
import { FluxHubError } from '../request';
import { TemplatesAPI } from '../templates';
import { json, settingsWith } from './fakes';
import { REQUEST_FIELDS } from './requestFields';

function fill(label: string | RegExp, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

/** The form shows its fields once it has the description of a request. */
async function shown() {
  await screen.findByRole('button', { name: 'Submit' });
}

async function setup(submit: (request: ISubmitRequest) => Promise<string>) {
  const sent: ISubmitRequest[] = [];
  const submitted: string[] = [];
  render(
    <SubmitForm
      initial={{ ...EMPTY_VALUES, workdir: '/home/alice/project' }}
      requestFields={Promise.resolve(REQUEST_FIELDS)}
      submit={request => {
        sent.push(request);
        return submit(request);
      }}
      onSubmitted={id => submitted.push(id)}
    />
  );
  await shown();
  const press = () =>
    act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    });
  return { sent, submitted, press };
}

describe('SubmitForm', () => {
  it('runs a shell script with bash, and says what it will run', async () => {
    const { sent, press } = await setup(async () => '5');
    fill('Command', 'for i in 1 2 3; do echo step $i; sleep 1; done');
    // shell syntax as a command: the form says so and offers the script instead
    expect(screen.getByRole('note').textContent).toContain(
      'This looks like shell syntax'
    );
    fireEvent.click(
      screen.getByRole('button', { name: 'run it as a shell script' })
    );
    const script = screen.getByLabelText(
      'Script (run with bash)'
    ) as HTMLTextAreaElement;
    expect(script.value).toBe('for i in 1 2 3; do echo step $i; sleep 1; done');
    fill('Script (run with bash)', 'for i in 1 2 3; do\n  echo step $i\ndone');
    expect(screen.getByLabelText('Runs').textContent).toBe(
      'Runs: bash -c <your script, 3 lines>'
    );
    await press();
    expect(sent[0].command).toEqual([
      'bash',
      '-c',
      'for i in 1 2 3; do\n  echo step $i\ndone'
    ]);
  });

  it('asks for a script when the script is empty', async () => {
    const { sent, press } = await setup(async () => '5');
    fireEvent.click(screen.getByLabelText('A shell script (bash)'));
    await press();
    expect(sent).toEqual([]);
    expect(screen.getByText('A script is required.')).toBeTruthy();
  });

  it('sends every field the way the server extension takes them', async () => {
    const { sent, submitted, press } = await setup(
      async () => '1152921504606859321'
    );
    expect(
      (screen.getByLabelText('Working directory') as HTMLInputElement).value
    ).toBe('/home/alice/project');
    fill('Command', 'python3 train.py --epochs 3');
    fill('Name (optional)', 'training');
    fill('Nodes', '2');
    fill('Tasks', '4');
    fill('Cores per task', '2');
    fill('GPUs per task', '0'); // none: the server leaves it out
    fill('Time limit', '1h30m');
    fill(/Environment/, 'SEED=7\nMODE=fast');
    fireEvent.click(screen.getByLabelText(/Exclusive/));
    await press();
    expect(sent).toEqual([
      {
        command: 'python3 train.py --epochs 3',
        name: 'training',
        // As typed: the server reads them as flux-hub submit and %%flux do
        num_nodes: '2',
        num_tasks: '4',
        cores_per_task: '2',
        gpus_per_task: '0',
        runtime: '1h30m',
        workdir: '/home/alice/project',
        envars: { SEED: '7', MODE: 'fast' },
        exclusive: true
      }
    ]);
    expect(submitted).toEqual(['1152921504606859321']);
  });

  it('offers to keep the environment values in the history once there are some, and says so in the request', async () => {
    const { sent, press } = await setup(async () => '7');
    fill('Command', 'env');
    expect(
      screen.queryByLabelText('Keep the values in my job history')
    ).toBeNull();
    fill(/Environment/, 'SEED=7');
    const keep = screen.getByLabelText('Keep the values in my job history');
    expect((keep as HTMLInputElement).checked).toBe(false);
    await press();
    fireEvent.click(keep);
    await press();
    expect(sent.map(request => request.keep_env)).toEqual([undefined, true]);
    expect(sent[1].envars).toEqual({ SEED: '7' });
  });

  it('checks the fields before sending and says what is wrong with each', async () => {
    const { sent, press } = await setup(async () => '1');
    fill(/Environment/, 'not a variable');
    await press();
    expect(sent).toEqual([]);
    expect(screen.getByText('A command is required.')).toBeTruthy();
    expect(screen.getByText(/Line 1 is not NAME=value/)).toBeTruthy();
    const command = screen.getByLabelText('Command');
    expect(command.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(command);
  });

  it("shows the server's reasons when it refuses, and keeps what was typed", async () => {
    const response = json(400, {});
    const { submitted, press } = await setup(async () => {
      throw new FluxHubError(response, 'The cluster refused the job.', [
        'The server only has 2 nodes, you requested 5'
      ]);
    });
    fill('Command', 'hostname');
    fill('Nodes', '5');
    fill('Tasks', '5');
    await press();
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('The job was not submitted.');
    expect(alert.textContent).toContain('The cluster refused the job.');
    expect(alert.textContent).toContain(
      'The server only has 2 nodes, you requested 5'
    );
    expect(submitted).toEqual([]);
    expect((screen.getByLabelText('Command') as HTMLInputElement).value).toBe(
      'hostname'
    );
  });

  it("shows the server's line for a folder the cluster cannot see at the Working directory, keeping everything typed", async () => {
    const line =
      '/tmp/scratch is not in a folder the Flux cluster can see: only /home/jovyan (there: /shared/home/alice).';
    let refuse = true;
    const { sent, submitted, press } = await setup(async () => {
      if (refuse) {
        throw new FluxHubError(json(400, {}), line, [], 'workdir');
      }
      return '77';
    });
    fireEvent.click(screen.getByLabelText('A shell script (bash)'));
    fill('Script (run with bash)', 'python3 run.py\nls');
    fill('Name (optional)', 'analysis');
    fill('Nodes', '1');
    fill('Tasks', '2');
    fill('Cores per task', '2');
    fill('Time limit', '10m');
    fill('Working directory', '/tmp/scratch');
    fill(/Environment/, 'SEED=7');
    fireEvent.click(screen.getByLabelText(/Exclusive/));
    await press();

    // The line itself, next to the field it is about, and the person taken there
    const workdir = screen.getByLabelText(
      'Working directory'
    ) as HTMLInputElement;
    expect(workdir.getAttribute('aria-invalid')).toBe('true');
    const described = document.getElementById(
      workdir.getAttribute('aria-describedby')!
    )!;
    expect(described.textContent).toBe(line);
    expect(document.activeElement).toBe(workdir);
    expect(screen.getByRole('alert').textContent).toBe(
      'The job was not submitted. See Working directory above.'
    );
    expect(submitted).toEqual([]);
    // Nothing typed is lost
    const value = (label: string | RegExp) =>
      (screen.getByLabelText(label) as HTMLInputElement).value;
    expect(value('Script (run with bash)')).toBe('python3 run.py\nls');
    expect(value('Name (optional)')).toBe('analysis');
    expect(value('Nodes')).toBe('1');
    expect(value('Tasks')).toBe('2');
    expect(value('Cores per task')).toBe('2');
    expect(value('Time limit')).toBe('10m');
    expect(value('Working directory')).toBe('/tmp/scratch');
    expect(value(/Environment/)).toBe('SEED=7');
    expect(
      (screen.getByLabelText(/Exclusive/) as HTMLInputElement).checked
    ).toBe(true);

    // Fixed, it goes through with everything else as it was
    refuse = false;
    fill('Working directory', '/home/jovyan/analysis');
    await press();
    expect(submitted).toEqual(['77']);
    expect(sent[1]).toEqual({
      ...sent[0],
      workdir: '/home/jovyan/analysis'
    });
    expect(sent[1].command).toEqual(['bash', '-c', 'python3 run.py\nls']);
    expect(workdir.getAttribute('aria-invalid')).toBeNull();
  });

  it('puts a refusal at the field the server names, as the server extension answers it', async () => {
    const requests: string[] = [];
    const api = new FluxHubAPI(
      settingsWith(async request => {
        requests.push(await request.text());
        return json(400, {
          message:
            'The Flux cluster cannot see your files: no shared storage is configured.',
          reasons: [],
          field: 'workdir'
        });
      })
    );
    const { press } = await setup(request => api.submit(request));
    fill('Command', 'python3 run.py');
    await press();
    expect(JSON.parse(requests[0]).workdir).toBe('/home/alice/project');
    const workdir = screen.getByLabelText('Working directory');
    expect(workdir.getAttribute('aria-invalid')).toBe('true');
    expect(
      document.getElementById(workdir.getAttribute('aria-describedby')!)!
        .textContent
    ).toBe(
      'The Flux cluster cannot see your files: no shared storage is configured.'
    );
    expect((screen.getByLabelText('Command') as HTMLInputElement).value).toBe(
      'python3 run.py'
    );
  });

  it('leaves out what was not filled in', () => {
    const { request, errors } = validate({
      ...EMPTY_VALUES,
      command: ' hostname '
    });
    expect(errors).toEqual({});
    expect(request).toEqual({ command: 'hostname' });
    expect(
      validate({ ...EMPTY_VALUES, command: 'nvidia-smi', gpusPerTask: '1' })
        .request
    ).toEqual({ command: 'nvidia-smi', gpus_per_task: '1' });
  });
});

/**
 * The server extension answering POST jobs as it does (its words from
 * flux_hub/jobrequest.py, the one description flux-hub submit and %%flux
 * use), and GET request-fields with that description.
 */
const DURATION_HELP =
  'a Flux duration: seconds (90) or a number with a unit ms, s, m, h or d (30s, 5m, 1.5h, 2d, 1h30m); 0 or inf: no limit';
const DESCRIPTION = REQUEST_FIELDS;

describe('SubmitForm and the one description of a job request', () => {
  async function server(refuse: (body: any) => string[]) {
    const posted: any[] = [];
    const asked: string[] = [];
    const api = new FluxHubAPI(
      settingsWith(async request => {
        asked.push(`${request.method} ${new URL(request.url).pathname}`);
        if (new URL(request.url).pathname.endsWith('/request-fields')) {
          return json(200, DESCRIPTION);
        }
        const body = JSON.parse(await request.text());
        posted.push(body);
        const reasons = refuse(body);
        return reasons.length
          ? json(400, {
              message:
                'The job was not submitted: its description is not valid.',
              reasons
            })
          : json(201, { id: String(posted.length) });
      })
    );
    const submitted: string[] = [];
    render(
      <SubmitForm
        initial={EMPTY_VALUES}
        submit={request => api.submit(request)}
        requestFields={api.requestFields()}
        onSubmitted={id => submitted.push(id)}
      />
    );
    await shown();
    const press = () =>
      act(async () => {
        fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
      });
    return { api, asked, posted, submitted, press };
  }

  const value = (label: string | RegExp) =>
    (screen.getByLabelText(label) as HTMLInputElement).value;

  const shownAt = (label: string) => {
    const input = screen.getByLabelText(label);
    return {
      invalid: input.getAttribute('aria-invalid'),
      text: document.getElementById(input.getAttribute('aria-describedby')!)
        ?.textContent
    };
  };

  it('sends 0.4s and .5h as typed, for the server to read as 1 s and 1800 s (never "no limit", never refused)', async () => {
    const { posted, submitted, press } = await server(() => []);
    fill('Command', 'hostname');
    fill('Time limit', '0.4s');
    await press();
    fill('Time limit', '.5h');
    await press();
    fill('Time limit', ' 1h30m ');
    await press();
    expect(posted.map(body => body.runtime)).toEqual(['0.4s', '.5h', '1h30m']);
    expect(submitted).toEqual(['1', '2', '3']);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows the help of the description under the time limit, asking for it once', async () => {
    const { api, asked } = await server(() => []);
    await waitFor(() =>
      expect(shownAt('Time limit').text).toBe(
        'A Flux duration: seconds (90) or a number with a unit ms, s, m, h or d (30s, 5m, 1.5h, 2d, 1h30m); 0 or inf: no limit.'
      )
    );
    expect(screen.getByLabelText('Nodes').getAttribute('title')).toBe(
      'Number of nodes.'
    );
    await api.requestFields();
    expect(asked).toEqual(['GET /user/alice/flux-hub/api/request-fields']);
  });

  it("shows the server's words for a bad time limit and bad counts at their fields, losing nothing typed", async () => {
    const runtime = `'runtime': 'soon' is not a time limit: use ${DURATION_HELP}`;
    const nodes = "'num_nodes' must be a whole number of at least 1, not 'two'";
    let refuse = true;
    const { posted, submitted, press } = await server(body =>
      refuse ? [nodes, runtime] : []
    );
    fill('Command', 'python3 run.py');
    fill('Name (optional)', 'analysis');
    fill('Nodes', 'two');
    fill('Tasks', '4');
    fill('Time limit', 'soon');
    fill(/Environment/, 'SEED=7');
    await press();
    expect(posted[0]).toEqual({
      command: 'python3 run.py',
      name: 'analysis',
      num_nodes: 'two',
      num_tasks: '4',
      runtime: 'soon',
      envars: { SEED: '7' }
    });
    expect(shownAt('Time limit')).toEqual({ invalid: 'true', text: runtime });
    expect(shownAt('Nodes')).toEqual({ invalid: 'true', text: nodes });
    expect(shownAt('Tasks').invalid).toBeNull();
    // The person is taken to the first field to fix; each line shows once
    expect(document.activeElement).toBe(screen.getByLabelText('Nodes'));
    expect(screen.getByRole('alert').textContent).toBe(
      'The job was not submitted. See Nodes, Time limit above.'
    );
    expect(submitted).toEqual([]);
    expect(value('Command')).toBe('python3 run.py');
    expect(value('Name (optional)')).toBe('analysis');
    expect(value('Nodes')).toBe('two');
    expect(value('Tasks')).toBe('4');
    expect(value('Time limit')).toBe('soon');
    expect(value(/Environment/)).toBe('SEED=7');

    refuse = false;
    fill('Nodes', '2');
    fill('Time limit', '.5h');
    await press();
    expect(submitted).toEqual(['2']);
    expect(posted[1]).toEqual({
      ...posted[0],
      num_nodes: '2',
      runtime: '.5h'
    });
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it("shows the server's rule of tasks and nodes at Tasks", async () => {
    const line =
      "'num_tasks' must be at least 'num_nodes' (each node needs a task): 2 tasks on 3 nodes";
    const { press } = await server(() => [line]);
    fill('Command', 'hostname');
    fill('Nodes', '3');
    fill('Tasks', '2');
    await press();
    expect(shownAt('Tasks')).toEqual({ invalid: 'true', text: line });
  });

  it('keeps a reason about no field in the banner', async () => {
    const { press } = await server(() => ["unknown field 'colour'."]);
    fill('Command', 'hostname');
    await press();
    const alert = screen.getByRole('alert');
    expect(alert.firstChild!.textContent).toBe('The job was not submitted.');
    expect(alert.textContent).toContain(
      'The job was not submitted. Its description is not valid.'
    );
    expect(
      Array.from(alert.querySelectorAll('li')).map(li => li.textContent)
    ).toEqual(["unknown field 'colour'."]);
  });
});

describe('SubmitForm where the cluster sees only some files, or none', () => {
  const NOTHING_SHARED: IFilesInfo = {
    shared: false,
    same_filesystem: false,
    folders: []
  };
  const MAPPED: IFilesInfo = {
    shared: true,
    same_filesystem: false,
    folders: [
      { lab: '/home/jovyan', cluster: '/shared/home/alice', browser: '' },
      { lab: '/data', cluster: '/shared/data', browser: null }
    ]
  };

  async function open(files: IFilesInfo | null, workdir = '') {
    const sent: ISubmitRequest[] = [];
    render(
      <SubmitForm
        initial={{ ...EMPTY_VALUES, command: 'python3 run.py', workdir }}
        files={files}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        submit={async request => {
          sent.push(request);
          return '9';
        }}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    const workdirField = screen.getByLabelText(
      'Working directory'
    ) as HTMLInputElement;
    const describedBy = () => {
      const id = workdirField.getAttribute('aria-describedby');
      return id ? document.getElementById(id)!.textContent : null;
    };
    const press = () =>
      act(async () => {
        fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
      });
    return { sent, workdirField, describedBy, press };
  }

  it('with nothing shared says under the field where the job starts, and sends none', async () => {
    const { sent, workdirField, describedBy, press } =
      await open(NOTHING_SHARED);
    expect(workdirField.value).toBe('');
    expect(describedBy()).toBe(NO_STORAGE_HINT);
    expect(NO_STORAGE_HINT).toBe(
      'The cluster cannot see your files here; the job starts in your folder on the cluster.'
    );
    await press();
    expect(sent).toEqual([{ command: 'python3 run.py' }]);
  });

  it('with nothing shared refuses a typed folder in the server’s words, sending nothing', async () => {
    const { sent, workdirField, describedBy, press } =
      await open(NOTHING_SHARED);
    fill('Working directory', '/home/jovyan/analysis');
    await press();
    expect(sent).toEqual([]);
    expect(workdirField.getAttribute('aria-invalid')).toBe('true');
    expect(describedBy()).toBe(NO_STORAGE);
    expect(document.activeElement).toBe(workdirField);
    // Emptied, it goes: the job starts in the person's folder on the cluster
    fill('Working directory', '');
    await press();
    expect(sent).toEqual([{ command: 'python3 run.py' }]);
  });

  it('with a mapping refuses a folder outside in one line and takes one inside', async () => {
    const { sent, workdirField, describedBy, press } = await open(
      MAPPED,
      '/home/jovyan/analysis'
    );
    expect(describedBy()).toBe(
      'The cluster sees only /home/jovyan, /data; left empty, the job starts in your folder on the cluster.'
    );
    fill('Working directory', '/tmp/scratch');
    await press();
    expect(sent).toEqual([]);
    expect(describedBy()).toBe(
      '/tmp/scratch is not in a folder the Flux cluster can see: only ' +
        '/home/jovyan (there: /shared/home/alice), /data (there: /shared/data).'
    );
    expect(workdirField.getAttribute('aria-invalid')).toBe('true');
    for (const ok of [
      '/home/jovyan/analysis',
      'analysis/run1', // relative to the file browser's root
      '/data/set1',
      '/shared/home/alice/analysis' // the cluster's own path
    ]) {
      fill('Working directory', ok);
      await press();
      expect(sent[sent.length - 1]).toEqual({
        command: 'python3 run.py',
        workdir: ok
      });
    }
    expect(sent).toHaveLength(4);
  });

  it('on one machine, or when the panel cannot tell, shows no hint and leaves the check to the server', async () => {
    for (const files of [
      null,
      { shared: true, same_filesystem: true, folders: null }
    ]) {
      const { request, errors } = validate(
        { ...EMPTY_VALUES, command: 'hostname', workdir: '/tmp/anywhere' },
        files
      );
      expect(errors).toEqual({});
      expect(request).toEqual({
        command: 'hostname',
        workdir: '/tmp/anywhere'
      });
    }
    const { describedBy } = await open({
      shared: true,
      same_filesystem: true,
      folders: null
    });
    expect(describedBy()).toBeNull();
  });
});

/**
 * Seconds of a time limit as the one description reads it
 * (jobrequest.parse_duration): a bare number is seconds, else a sum of
 * numbers with the description's units, rounded up.
 */
function secondsOf(text: string): number {
  const units = REQUEST_FIELDS.duration.units;
  if (/^(\d+\.?\d*|\.\d+)$/.test(text)) {
    return Math.ceil(Number(text));
  }
  const parts = Array.from(text.matchAll(/(\d+\.?\d*|\.\d+)(ms|[smhd])/g));
  expect(parts.map(p => p[0]).join('')).toBe(text);
  return Math.ceil(
    parts.reduce(
      (sum, [, number, unit]) => sum + Number(number) * units[unit],
      0
    )
  );
}

describe('The form from a request (Edit and run, templates, the last values)', () => {
  it('writes a time limit in seconds as a duration that reads back as the same seconds', () => {
    expect(durationText(5400)).toBe('1h30m');
    expect(durationText(90)).toBe('1m30s');
    expect(durationText(45)).toBe('45s');
    expect(durationText(86400)).toBe('1d');
    expect(durationText(90061)).toBe('1d1h1m1s');
    expect(durationText(0)).toBe(''); // no limit
    for (const seconds of [
      1,
      59,
      60,
      61,
      3599,
      3600,
      3601,
      86399,
      86400,
      172800 + 7,
      4294967296
    ]) {
      expect(secondsOf(durationText(seconds))).toBe(seconds);
    }
  });

  it('gives back the request it was filled from when submitted', () => {
    const requests = [
      {
        command: 'python3 train.py --epochs 3',
        name: 'training',
        num_nodes: 2,
        num_tasks: 4,
        cores_per_task: 2,
        gpus_per_task: 1,
        runtime: 5400,
        workdir: '/home/alice/project',
        envars: { SEED: '7', MODE: 'fast' },
        exclusive: true,
        option_flags: 'cpu-affinity=per-task,verbose'
      },
      { command: ['bash', '-c', 'for i in 1 2; do\n  echo $i\ndone'] },
      { command: 'hostname', runtime: 90 }
    ];
    for (const request of requests) {
      const { request: again, errors } = validate(valuesFromRequest(request));
      expect(errors).toEqual({});
      // Counts as text and the limit as a duration: the server reads them back the same
      const read = { ...again } as any;
      for (const key of [
        'num_nodes',
        'num_tasks',
        'cores_per_task',
        'gpus_per_task'
      ]) {
        if (key in read) {
          read[key] = Number(read[key]);
        }
      }
      if ('runtime' in read) {
        read.runtime = secondsOf(read.runtime);
      }
      expect(read).toEqual(request);
    }
    // Words other than a bash script: one command line, quoted as the server splits it
    expect(
      valuesFromRequest({ command: ['echo', 'hello world', "it's"] }).command
    ).toBe("echo 'hello world' 'it'\\''s'");
  });

  it('opens an Edit and run request with its note, and sends that request again', async () => {
    const sent: ISubmitRequest[] = [];
    render(
      <SubmitForm
        initial={{ ...EMPTY_VALUES, workdir: '/home/alice' }}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        request={{
          command: 'python3 run.py',
          name: 'run',
          num_tasks: 2,
          runtime: 5400,
          envars: { TOKEN: '', SEED: '7' }
        }}
        message="job ƒ2bd's environment values were not kept (TOKEN): give them or use Edit and run"
        submit={async request => {
          sent.push(request);
          return '6';
        }}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    expect(
      screen.getByText(/environment values were not kept \(TOKEN\)/).className
    ).toBe('jp-FluxHub-formMessage');
    const value = (label: string | RegExp) =>
      (screen.getByLabelText(label) as HTMLInputElement).value;
    expect(value('Command')).toBe('python3 run.py');
    expect(value('Tasks')).toBe('2');
    expect(value('Time limit')).toBe('1h30m');
    // The folder of the request, not the new form's: it had none
    expect(value('Working directory')).toBe('');
    // A value not kept is asked for at its field, until it is typed
    const environment = screen.getByLabelText(/Environment/);
    expect((environment as HTMLTextAreaElement).value).toBe('TOKEN=\nSEED=7');
    const hint = () =>
      document.getElementById(environment.getAttribute('aria-describedby')!)
        ?.textContent;
    expect(hint()).toBe(
      'The value of TOKEN was not kept: type it after the =, or the job gets an empty value.'
    );
    fill(/Environment/, 'TOKEN=abc\nSEED=7');
    expect(environment.getAttribute('aria-describedby')).toBeNull();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    });
    expect(sent).toEqual([
      {
        command: 'python3 run.py',
        name: 'run',
        num_tasks: '2',
        runtime: '1h30m',
        envars: { TOKEN: 'abc', SEED: '7' }
      }
    ]);
  });

  /** The server's history with one job submitted from the panel, whose form is `form`. */
  function history(form: unknown) {
    const asked: string[] = [];
    const api = new TemplatesAPI(
      settingsWith(async request => {
        const url = new URL(request.url);
        asked.push(
          `${request.method} ${url.pathname.replace('/user/alice/flux-hub/api/', '')}${url.search.replace(/[?&][0-9]+$/, '')}`
        );
        if (url.pathname.endsWith('/history')) {
          return json(200, {
            records: form === undefined ? [] : [{ id: '77', form }],
            more: false,
            limit: 1,
            offset: 0
          });
        }
        return json(200, { templates: [] });
      })
    );
    return { api, asked };
  }

  it('starts from the last job submitted from the panel, command included; Clear empties it', async () => {
    const { api, asked } = history({
      command: ['bash', '-c', 'python3 a.py\npython3 b.py'],
      name: 'pipeline',
      num_nodes: 2,
      num_tasks: 2,
      runtime: 600,
      workdir: '/home/alice/pipeline',
      envars: { SEED: '' }
    });
    render(
      <SubmitForm
        initial={{ ...EMPTY_VALUES, workdir: '/home/alice' }}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        templates={api}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    expect(asked[0]).toBe('GET history?origin=panel&limit=1');
    const value = (label: string | RegExp) =>
      (screen.getByLabelText(label) as HTMLInputElement).value;
    expect(value('Script (run with bash)')).toBe('python3 a.py\npython3 b.py');
    expect(value('Name (optional)')).toBe('pipeline');
    expect(value('Nodes')).toBe('2');
    expect(value('Time limit')).toBe('10m');
    expect(value('Working directory')).toBe('/home/alice/pipeline');
    expect(value(/Environment/)).toBe('SEED=');
    expect(screen.getByText(/The value of SEED was not kept/)).toBeTruthy();
    expect(
      screen.getByText(/Filled in from the last job you submitted here/)
    ).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Clear' }));
    // Empty as a new form: in the file browser's folder
    expect(
      (screen.getByLabelText('A command') as HTMLInputElement).checked
    ).toBe(true);
    expect(value('Command')).toBe('');
    expect(value('Name (optional)')).toBe('');
    expect(value('Nodes')).toBe('');
    expect(value('Time limit')).toBe('');
    expect(value('Working directory')).toBe('/home/alice');
    expect(value(/Environment/)).toBe('');
    expect(screen.queryByText(/Filled in from the last job/)).toBeNull();
    expect(screen.queryByText(/was not kept/)).toBeNull();
  });

  it('starts new when there is no last job, or its folder is not the lab’s', async () => {
    const { api } = history(undefined);
    const { unmount } = render(
      <SubmitForm
        initial={{ ...EMPTY_VALUES, workdir: '/home/alice' }}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        templates={api}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    expect((screen.getByLabelText('Command') as HTMLInputElement).value).toBe(
      ''
    );
    expect(screen.queryByText(/Filled in from the last job/)).toBeNull();
    unmount();

    const other = history({ command: 'hostname', workdir: null });
    render(
      <SubmitForm
        initial={{ ...EMPTY_VALUES, workdir: '/home/alice' }}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        templates={other.api}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    expect((screen.getByLabelText('Command') as HTMLInputElement).value).toBe(
      'hostname'
    );
    expect(
      (screen.getByLabelText('Working directory') as HTMLInputElement).value
    ).toBe('/home/alice');
  });

  it('opened for a file’s command, keeps it and does not ask for the last values', async () => {
    const { api, asked } = history({ command: 'hostname' });
    render(
      <SubmitForm
        initial={{
          ...EMPTY_VALUES,
          command: 'bash hello.sh',
          name: 'hello.sh',
          workdir: '/home/alice/scripts'
        }}
        requestFields={Promise.resolve(REQUEST_FIELDS)}
        templates={api}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    expect((screen.getByLabelText('Command') as HTMLInputElement).value).toBe(
      'bash hello.sh'
    );
    expect(asked.filter(a => a.startsWith('GET history'))).toEqual([]);
  });

  it('takes its labels, placeholders and help from the description of a request', async () => {
    const description = JSON.parse(JSON.stringify(REQUEST_FIELDS));
    const nodes = description.fields.find((f: any) => f.name === 'num_nodes');
    nodes.label = 'Hosts';
    nodes.help = 'how many hosts';
    nodes.default = 'as Flux decides; more words';
    render(
      <SubmitForm
        initial={EMPTY_VALUES}
        requestFields={Promise.resolve(description)}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    await shown();
    const hosts = screen.getByLabelText('Hosts') as HTMLInputElement;
    expect(hosts.placeholder).toBe('as Flux decides');
    expect(hosts.title).toBe('How many hosts.');
    expect(screen.queryByLabelText('Nodes')).toBeNull();
    // And the rest as the server describes them
    expect(
      (screen.getByLabelText('Tasks') as HTMLInputElement).placeholder
    ).toBe('1');
    expect(
      (screen.getByLabelText('GPUs per task') as HTMLInputElement).title
    ).toBe('GPUs for each task (0: none).');
    expect(
      (screen.getByLabelText('Time limit') as HTMLInputElement).placeholder
    ).toBe('no limit');
    expect(
      (screen.getByLabelText('Name (optional)') as HTMLInputElement).placeholder
    ).toBe("the program's name");
    expect(
      (screen.getByLabelText('Shell options') as HTMLInputElement).title
    ).toBe('Set a job shell option, e.g. cpu-affinity=per-task.');
    expect(
      screen.getByText('(have whole nodes to the job alone)')
    ).toBeTruthy();
  });

  it('says so when the server cannot describe a request, instead of a form', async () => {
    render(
      <SubmitForm
        initial={EMPTY_VALUES}
        requestFields={Promise.reject(
          new FluxHubError(json(500, {}), 'The server failed.')
        )}
        submit={async () => '1'}
        onSubmitted={() => undefined}
      />
    );
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe(
      'The form cannot be shown. The server failed. Close this tab and open the form again.'
    );
    expect(screen.queryByRole('button', { name: 'Submit' })).toBeNull();
  });
});
