import * as React from 'react';
import {
  act,
  fireEvent,
  render,
  screen,
  waitFor,
  within
} from '@testing-library/react';

import {
  EMPTY_VALUES,
  IFormDialogs,
  SubmitForm
} from '../components/SubmitForm';
import { ITemplate, TemplatesAPI } from '../templates';
import { json, settingsWith } from './fakes';
import { REQUEST_FIELDS } from './requestFields';

const PUBLISHED: ITemplate = {
  name: 'MPI hello',
  description: 'Hello from every rank, 2 nodes.',
  request: {
    command: 'mpirun hello',
    num_nodes: 2,
    num_tasks: 4,
    runtime: 600,
    option_flags: 'cpu-affinity=per-task'
  },
  published: true
};

const OWN: ITemplate = {
  name: 'training',
  description: null,
  request: {
    command: ['bash', '-c', 'python3 train.py\necho done'],
    name: 'train',
    gpus_per_task: 1,
    runtime: 5400,
    workdir: '/home/alice/ml',
    envars: { SEED: '7' },
    exclusive: true
  },
  published: false
};

/**
 * The server extension's templates as P1's endpoints answer them: GET lists
 * the published first, PUT keeps one (409 for a published name), DELETE
 * drops one of the person's.
 */
function server(templates: ITemplate[]) {
  const asked: string[] = [];
  const put: { name: string; body: any }[] = [];
  const list = [...templates];
  const api = new TemplatesAPI(
    settingsWith(async request => {
      const url = new URL(request.url);
      const path = url.pathname.replace('/user/alice/flux-hub/api/', '');
      // (less the cache-buster JupyterLab adds to every request)
      const query = url.search.replace(/[?&][0-9]+$/, '');
      asked.push(`${request.method} ${path}${query}`);
      if (path === 'history') {
        return json(200, { records: [], more: false, limit: 1, offset: 0 });
      }
      if (path === 'templates') {
        return json(200, { templates: list });
      }
      const name = decodeURIComponent(path.replace(/^templates\//, ''));
      const published = list.find(t => t.name === name && t.published);
      if (request.method === 'PUT') {
        if (published) {
          return json(409, {
            message: `'${name}' is a published template's name: save yours under another name.`,
            reasons: []
          });
        }
        const body = JSON.parse(await request.text());
        put.push({ name, body });
        const kept = name.trim();
        const at = list.findIndex(t => t.name === kept);
        const template = {
          name: kept,
          request: body.request,
          published: false
        };
        if (at >= 0) {
          list[at] = template;
        } else {
          list.push(template);
        }
        return json(200, { name: kept });
      }
      if (request.method === 'DELETE') {
        if (published) {
          return json(409, {
            message: "published by the hub's admin: it cannot be deleted here",
            reasons: []
          });
        }
        list.splice(
          list.findIndex(t => t.name === name),
          1
        );
        return new Response(null, { status: 204 });
      }
      return json(404, { message: 'not found' });
    })
  );
  return { api, asked, put, list };
}

/** Dialogs answered by the test: the name typed, and yes or no. */
function dialogs(name: string | null, sure = true) {
  const asked: string[] = [];
  const answers: IFormDialogs = {
    async templateName(suggested) {
      asked.push(`name (suggested: ${suggested})`);
      return name;
    },
    async confirm(title, body) {
      asked.push(`${title}: ${body}`);
      return sure;
    }
  };
  return { asked, answers };
}

async function open(
  api: TemplatesAPI,
  answers?: IFormDialogs,
  workdir = '/home/alice'
) {
  const sent: any[] = [];
  render(
    <SubmitForm
      initial={{ ...EMPTY_VALUES, workdir }}
      requestFields={Promise.resolve(REQUEST_FIELDS)}
      templates={api}
      dialogs={answers}
      submit={async request => {
        sent.push(request);
        return '5';
      }}
      onSubmitted={() => undefined}
    />
  );
  const select = (await screen.findByLabelText(
    'Template'
  )) as HTMLSelectElement;
  await waitFor(() => expect(select.disabled).toBe(false));
  return { select, sent };
}

const value = (label: string | RegExp) =>
  (screen.getByLabelText(label) as HTMLInputElement).value;

const press = (name: string) =>
  act(async () => {
    fireEvent.click(screen.getByRole('button', { name }));
  });

describe('Templates in the submit form', () => {
  it('lists the group’s published templates first, marked, then the person’s own', async () => {
    const { api } = server([PUBLISHED, OWN]);
    const { select } = await open(api);
    expect(select.classList).toContain('jp-FluxHub-templateSelect');
    expect(Array.from(select.options).map(o => o.textContent)).toEqual([
      '(none)',
      'MPI hello (group)',
      'training'
    ]);
    // Nothing chosen: nothing to delete
    expect(
      screen.queryByRole('button', { name: 'Delete template' })
    ).toBeNull();
  });

  it('fills the form from the template chosen, and submits its request', async () => {
    const { api } = server([PUBLISHED, OWN]);
    const { select, sent } = await open(api);
    fireEvent.change(select, { target: { value: 'training' } });
    expect(value('Script (run with bash)')).toBe('python3 train.py\necho done');
    expect(value('Name (optional)')).toBe('train');
    expect(value('GPUs per task')).toBe('1');
    expect(value('Time limit')).toBe('1h30m');
    expect(value('Working directory')).toBe('/home/alice/ml');
    expect(value(/Environment/)).toBe('SEED=7');
    expect(
      (screen.getByLabelText('Exclusive') as HTMLInputElement).checked
    ).toBe(true);

    // A template without a folder keeps the form's; its fields replace the rest
    fireEvent.change(select, { target: { value: 'MPI hello' } });
    expect(value('Command')).toBe('mpirun hello');
    expect(value('Name (optional)')).toBe('');
    expect(value('Nodes')).toBe('2');
    expect(value('Tasks')).toBe('4');
    expect(value('GPUs per task')).toBe('');
    expect(value('Time limit')).toBe('10m');
    expect(value('Shell options')).toBe('cpu-affinity=per-task');
    expect(value('Working directory')).toBe('/home/alice/ml');
    expect(
      (screen.getByLabelText('Exclusive') as HTMLInputElement).checked
    ).toBe(false);
    expect(screen.getByText(/Hello from every rank, 2 nodes\./)).toBeTruthy();
    await press('Submit');
    expect(sent).toEqual([
      {
        command: 'mpirun hello',
        num_nodes: '2',
        num_tasks: '4',
        runtime: '10m',
        workdir: '/home/alice/ml',
        option_flags: 'cpu-affinity=per-task'
      }
    ]);
  });

  it('keeps a published template read-only: no delete, and saving under its name is refused in the server’s words', async () => {
    const { api, asked, put } = server([PUBLISHED, OWN]);
    const { asked: dialogsAsked, answers } = dialogs('MPI hello');
    const { select } = await open(api, answers);
    fireEvent.change(select, { target: { value: 'MPI hello' } });
    const remove = screen.getByRole('button', {
      name: 'Delete template'
    }) as HTMLButtonElement;
    expect(remove.disabled).toBe(true);
    expect(remove.title).toBe(
      'Published by the hub’s admin for everyone: it cannot be deleted here.'
    );
    expect(screen.getByText(/A group template, read-only/)).toBeTruthy();

    await press('Save as template…');
    // A published one's name is not suggested: the person's would be
    expect(dialogsAsked).toEqual(['name (suggested: )']);
    await waitFor(() => screen.getByRole('alert'));
    expect(screen.getByRole('alert').textContent).toBe(
      "The template was not saved. 'MPI hello' is a published template's name: save yours under another name."
    );
    expect(put).toEqual([]);
    expect(asked.filter(a => !a.startsWith('GET'))).toEqual([
      'PUT templates/MPI%20hello'
    ]);
    // Nothing typed was lost
    expect(value('Command')).toBe('mpirun hello');
  });

  it('saves the filled form under a name, then lists and selects it', async () => {
    const { api, put } = server([PUBLISHED]);
    const { asked, answers } = dialogs('  nightly run ');
    const { select } = await open(api, answers);
    fireEvent.change(screen.getByLabelText('Command'), {
      target: { value: 'python3 nightly.py' }
    });
    fireEvent.change(screen.getByLabelText('Name (optional)'), {
      target: { value: 'nightly' }
    });
    fireEvent.change(screen.getByLabelText('Time limit'), {
      target: { value: '2h' }
    });
    await press('Save as template…');
    expect(asked).toEqual(['name (suggested: nightly)']);
    await waitFor(() =>
      expect(screen.getByRole('status').textContent).toBe(
        'Saved as template “nightly run”.'
      )
    );
    expect(put).toEqual([
      {
        name: '  nightly run ',
        body: {
          request: {
            command: 'python3 nightly.py',
            name: 'nightly',
            runtime: '2h',
            workdir: '/home/alice'
          }
        }
      }
    ]);
    expect(select.value).toBe('nightly run');
    expect(Array.from(select.options).map(o => o.textContent)).toEqual([
      '(none)',
      'MPI hello (group)',
      'nightly run'
    ]);
  });

  it('does not save a form with a problem, and says where', async () => {
    const { api, put } = server([]);
    const { asked, answers } = dialogs('empty');
    await open(api, answers);
    await press('Save as template…');
    expect(asked).toEqual([]);
    expect(put).toEqual([]);
    expect(screen.getByText('A command is required.')).toBeTruthy();
  });

  it('asks before replacing another of the person’s templates', async () => {
    const { api, put } = server([OWN]);
    const { asked, answers } = dialogs('training', false);
    await open(api, answers);
    fireEvent.change(screen.getByLabelText('Command'), {
      target: { value: 'hostname' }
    });
    await press('Save as template…');
    expect(asked[1]).toBe(
      'Replace template: You have a template named “training”. Replace it with this form?'
    );
    expect(put).toEqual([]);
  });

  it('deletes one of the person’s templates after asking, keeping the form as it is', async () => {
    const { api, asked, list } = server([PUBLISHED, OWN]);
    const { asked: dialogsAsked, answers } = dialogs(null, true);
    const { select } = await open(api, answers);
    fireEvent.change(select, { target: { value: 'training' } });
    const remove = screen.getByRole('button', {
      name: 'Delete template'
    }) as HTMLButtonElement;
    expect(remove.disabled).toBe(false);
    await press('Delete template');
    expect(dialogsAsked).toEqual([
      'Delete template: Delete your template “training”? The form keeps its values.'
    ]);
    await waitFor(() =>
      expect(screen.getByRole('status').textContent).toBe(
        'Deleted the template “training”.'
      )
    );
    expect(asked).toContain('DELETE templates/training');
    expect(list.map(t => t.name)).toEqual(['MPI hello']);
    expect(select.value).toBe('');
    expect(Array.from(select.options).map(o => o.textContent)).toEqual([
      '(none)',
      'MPI hello (group)'
    ]);
    expect(value('Script (run with bash)')).toBe('python3 train.py\necho done');
  });

  it('keeps a template when the person says no', async () => {
    const { api, asked } = server([OWN]);
    const { answers } = dialogs(null, false);
    const { select } = await open(api, answers);
    fireEvent.change(select, { target: { value: 'training' } });
    await press('Delete template');
    expect(asked.filter(a => a.startsWith('DELETE'))).toEqual([]);
    expect(select.value).toBe('training');
  });

  it('asks for the name with JupyterLab’s dialog', async () => {
    const { api, put } = server([]);
    await open(api);
    fireEvent.change(screen.getByLabelText('Command'), {
      target: { value: 'hostname' }
    });
    await press('Save as template…');
    const dialog = await waitFor(() => {
      const node = document.querySelector('.jp-Dialog') as HTMLElement;
      expect(node).toBeTruthy();
      return node;
    });
    expect(within(dialog).getByText('Save as template')).toBeTruthy();
    const input = dialog.querySelector('input') as HTMLInputElement;
    input.value = 'host';
    await act(async () => {
      // (jsdom opens no <dialog>: its buttons are found by text)
      fireEvent.click(within(dialog).getByText('Save'));
    });
    await waitFor(() => expect(put.map(p => p.name)).toEqual(['host']));
  });

  it('says when the templates cannot be read, and still submits', async () => {
    const api = new TemplatesAPI(
      settingsWith(async request =>
        new URL(request.url).pathname.endsWith('/templates')
          ? json(500, { message: 'The history file is locked.' })
          : json(200, { records: [] })
      )
    );
    const { select, sent } = await open(api);
    expect(select.options[0].textContent).toBe(
      '(your templates could not be read)'
    );
    expect(select.title).toBe(
      'Your templates could not be read: The history file is locked.'
    );
    fireEvent.change(screen.getByLabelText('Command'), {
      target: { value: 'hostname' }
    });
    await press('Submit');
    expect(sent).toEqual([{ command: 'hostname', workdir: '/home/alice' }]);
  });
});
