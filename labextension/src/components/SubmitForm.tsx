import * as React from 'react';

import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';

import { IRequestField, IRequestFields, ISubmitRequest } from '../api';
import { IFilesInfo, workdirHint, workdirRefusal } from '../files';
import { JobId } from '../jobid';
import { parseEnvironment } from '../jobs';
import { FluxHubError } from '../request';
import { looksLikeShell } from '../shell';
import { describe } from '../model';
import { EMPTY_SWEEP, ISweepParams } from '../sweeps';
import { ITemplate, TemplatesAPI } from '../templates';
import {
  ISweepActions,
  submitBlocked,
  submitLabel,
  submitSweep,
  sweeping,
  SweepParameters,
  useSweepPreview
} from './SweepParameters';
import {
  IHoldActions,
  NO_RUN_AFTER,
  RunAfter,
  runAfterDependency,
  runAfterRefusal
} from './RunAfter';

/**
 * What the form sends (POST jobs' body): a request of the one description,
 * with Flux's shell options as their text ("cpu-affinity=per-task,verbose").
 */
export type IFormRequest = ISubmitRequest & { option_flags?: string };

export interface ISubmitValues {
  /** What runs: a program and its arguments, or a multi-line bash script. */
  kind: 'command' | 'script';
  command: string;
  script: string;
  name: string;
  nodes: string;
  tasks: string;
  coresPerTask: string;
  gpusPerTask: string;
  timeLimit: string;
  workdir: string;
  environment: string;
  exclusive: boolean;
  /** Flux's shell options, as text: OPT[=VAL] separated by commas. */
  optionFlags?: string;
  /** Keep the environment's values in the person's job history (for Run again). */
  keepEnv?: boolean;
  /**
   * Environment variables whose values were not kept (a history record's
   * form has their names only): while their lines have no value, the form
   * says so at the field.
   */
  envNotKept?: string[];
}

export const EMPTY_VALUES: ISubmitValues = {
  kind: 'command',
  command: '',
  script: '',
  name: '',
  nodes: '',
  tasks: '',
  coresPerTask: '',
  gpusPerTask: '',
  timeLimit: '',
  workdir: '',
  environment: '',
  exclusive: false,
  optionFlags: ''
};

type Errors = Partial<Record<keyof ISubmitValues, string>>;

/** What the job will run, as a person reads it. */
export function runsAs(values: ISubmitValues): string {
  if (values.kind === 'script') {
    const lines = values.script.trim().split('\n').length;
    return `bash -c <your script, ${lines} line${lines === 1 ? '' : 's'}>`;
  }
  return values.command.trim();
}

/**
 * Check the form and build the request; every problem is reported against
 * its field so a person can fix them all at once.
 *
 * The counts and the time limit are sent as typed: the server reads them with
 * the one description of a job request (flux_hub/jobrequest.py), so the form
 * takes and refuses exactly what `flux-hub submit` and `%%flux` do, in their
 * words (shown at the field: see refusedFields). `0.4s` is a 1 s limit, `.5h`
 * half an hour, `0` or `inf` no limit. `files`: which folders the
 * cluster sees (a working directory outside them is refused here, in the
 * server's words; null: the server alone checks).
 */
export function validate(
  values: ISubmitValues,
  files: IFilesInfo | null = null
): {
  request: IFormRequest | null;
  errors: Errors;
} {
  const errors: Errors = {};
  const request: IFormRequest = { command: values.command.trim() };
  if (values.kind === 'script') {
    // Run by bash as one argument, as %%flux runs a cell: its lines stay as written
    request.command = ['bash', '-c', values.script];
    if (!values.script.trim()) {
      errors.script = 'A script is required.';
    }
  } else if (!request.command) {
    errors.command = 'A command is required.';
  }
  if (values.name.trim()) {
    request.name = values.name.trim();
  }
  // Empty: not given (Flux decides; no time limit).
  const typed: [keyof ISubmitValues, keyof ISubmitRequest][] = [
    ['nodes', 'num_nodes'],
    ['tasks', 'num_tasks'],
    ['coresPerTask', 'cores_per_task'],
    ['gpusPerTask', 'gpus_per_task'],
    ['timeLimit', 'runtime']
  ];
  for (const [key, field] of typed) {
    const text = (values[key] as string).trim();
    if (text) {
      (request as any)[field] = text;
    }
  }
  if (values.workdir.trim()) {
    request.workdir = values.workdir.trim();
    const refusal = workdirRefusal(request.workdir, files);
    if (refusal) {
      errors.workdir = refusal;
    }
  }
  const env = parseEnvironment(values.environment);
  if ('error' in env) {
    errors.environment = env.error;
  } else if (Object.keys(env.envars).length > 0) {
    request.envars = env.envars;
    if (values.keepEnv) {
      request.keep_env = true;
    }
  }
  if (values.exclusive) {
    request.exclusive = true;
  }
  const options = (values.optionFlags ?? '').trim();
  if (options) {
    request.option_flags = options;
  }
  return { request: Object.keys(errors).length ? null : request, errors };
}

/** The form's field for each field of the request the server may refuse. */
const FIELD_OF: Record<string, keyof ISubmitValues> = {
  command: 'command',
  name: 'name',
  num_nodes: 'nodes',
  num_tasks: 'tasks',
  cores_per_task: 'coresPerTask',
  gpus_per_task: 'gpusPerTask',
  runtime: 'timeLimit',
  workdir: 'workdir',
  envars: 'environment',
  option_flags: 'optionFlags'
};

/** The form's own fields, which the description of a request does not have. */
const OWN_LABELS: Partial<Record<keyof ISubmitValues, string>> = {
  kind: 'Run',
  script: 'Script'
};

/** How the form names a field in a sentence: the description's label. */
function labelOf(
  key: keyof ISubmitValues,
  description: IRequestFields | null
): string {
  const own = OWN_LABELS[key];
  if (own) {
    return own;
  }
  const name = Object.keys(FIELD_OF).find(field => FIELD_OF[field] === key);
  const field = description?.fields.find(f => f.name === name);
  return field?.label ?? name ?? key;
}

/** A reason of the one description's names the field it is about first: `'runtime': …`. */
const REASON_FIELD = /^'([a-z_]+)'/;

/**
 * The server's reasons that are about one field of the form, each at its
 * field ({form field: the reasons' words}), and the rest (about the job as a
 * whole). A 400 that names its `field` (a working directory the cluster
 * cannot see) puts its message there; a refusal of the description (bad
 * counts, a time limit that is not one) lists one reason per field, each
 * starting with the field's name, in the words `flux-hub submit` and
 * `%%flux` say.
 */
export function refusedFields(
  error: unknown,
  values: ISubmitValues
): { errors: Errors; rest: string[] } {
  const errors: Errors = {};
  if (!(error instanceof FluxHubError) || error.status !== 400) {
    return { errors, rest: error instanceof FluxHubError ? error.reasons : [] };
  }
  const named = refusedField(error, values);
  if (named) {
    errors[named] = describe(error);
    return { errors, rest: error.reasons };
  }
  const rest: string[] = [];
  for (const reason of error.reasons) {
    const match = REASON_FIELD.exec(reason);
    let key = match ? FIELD_OF[match[1]] : undefined;
    if (key === 'command' && values.kind === 'script') {
      key = 'script';
    }
    if (key) {
      errors[key] = errors[key] ? `${errors[key]} ${reason}` : reason;
    } else {
      rest.push(reason);
    }
  }
  return { errors, rest };
}

/**
 * The form field a refusal is about (the server names it: "workdir" for a
 * folder the Flux cluster cannot see), so its line shows next to that field.
 * Null for a refusal of the job as a whole.
 */
export function refusedField(
  error: unknown,
  values: ISubmitValues
): keyof ISubmitValues | null {
  if (!(error instanceof FluxHubError) || error.status !== 400) {
    return null;
  }
  const key = error.field ? FIELD_OF[error.field] : undefined;
  if (!key) {
    return null;
  }
  return key === 'command' && values.kind === 'script' ? 'script' : key;
}

/** A word as the server's shell-style splitting reads it back. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replace(/'/g, "'\\''")}'`;
}

/** The units of a time limit, largest first (Flux Standard Duration). */
const DURATION_UNITS: [string, number][] = [
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1]
];

/**
 * A time limit in seconds as a person writes it, which the one description
 * reads back as the same seconds: 5400 -> "1h30m", 90 -> "1m30s", 45 ->
 * "45s". No limit (0, absent) is empty; a fraction stays seconds ("1.5").
 */
export function durationText(seconds: number | null | undefined): string {
  if (!seconds || !Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (!Number.isInteger(seconds)) {
    return String(seconds);
  }
  let rest = seconds;
  let text = '';
  for (const [unit, size] of DURATION_UNITS) {
    const count = Math.floor(rest / size);
    if (count) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

/** Shell options as their text: "k=v,k2" (a dict, as a template may give them, joined). */
function optionsText(options: unknown): string {
  if (typeof options === 'string') {
    return options;
  }
  if (options && typeof options === 'object') {
    return Object.entries(options as Record<string, unknown>)
      .map(([name, value]) => `${name}=${String(value)}`)
      .join(',');
  }
  return '';
}

/**
 * The form's values for a request in POST jobs' shape (a history record's
 * form, a template): what submitting them sends is that request again.
 *
 * A command ["bash", "-c", SCRIPT] is the script it runs; other words are
 * one command line, quoted as the server splits it. Counts are their
 * numbers as text, a time limit in seconds a duration that reads back as the
 * same seconds (see durationText). Environment variables with an empty
 * value are taken for ones whose values were not kept (`envNotKept`).
 */
export function valuesFromRequest(
  request: Partial<IFormRequest> | null | undefined
): ISubmitValues {
  const values: ISubmitValues = { ...EMPTY_VALUES };
  if (!request) {
    return values;
  }
  const command = request.command;
  if (Array.isArray(command)) {
    if (command.length === 3 && command[0] === 'bash' && command[1] === '-c') {
      values.kind = 'script';
      values.script = String(command[2]);
    } else {
      values.command = command.map(word => shellQuote(String(word))).join(' ');
    }
  } else if (typeof command === 'string') {
    values.command = command;
  }
  const text = (value: unknown) =>
    value === null || value === undefined ? '' : String(value);
  values.name = text(request.name);
  values.nodes = text(request.num_nodes);
  values.tasks = text(request.num_tasks);
  values.coresPerTask = text(request.cores_per_task);
  values.gpusPerTask = text(request.gpus_per_task);
  values.timeLimit =
    typeof request.runtime === 'number'
      ? durationText(request.runtime)
      : text(request.runtime);
  values.workdir = text(request.workdir);
  const envars = request.envars ?? {};
  const names = Object.keys(envars);
  values.environment = names
    .map(name => `${name}=${envars[name] ?? ''}`)
    .join('\n');
  const notKept = names.filter(name => !envars[name]);
  if (notKept.length) {
    values.envNotKept = notKept;
  }
  // A record whose values were kept because the person asked (its form says keep_env)
  values.keepEnv = request.keep_env === true;
  values.exclusive =
    request.exclusive === true || String(request.exclusive) === 'true';
  values.optionFlags = optionsText(request.option_flags);
  return values;
}

/**
 * The names of `envNotKept` whose lines still have no value: the form asks
 * for them (an empty value would be sent as it is).
 */
export function envStillUnkept(values: ISubmitValues): string[] {
  if (!values.envNotKept?.length) {
    return [];
  }
  const parsed = parseEnvironment(values.environment);
  if ('error' in parsed) {
    return [];
  }
  return values.envNotKept.filter(
    name => name in parsed.envars && !parsed.envars[name]
  );
}

/** The dialogs the form asks with (JupyterLab's own; replaceable in tests). */
export interface IFormDialogs {
  /** A name for a template (`suggested` filled in); null when cancelled. */
  templateName(suggested: string): Promise<string | null>;
  /** Whether the person confirms `body`; `action` labels the button that does it. */
  confirm(title: string, body: string, action: string): Promise<boolean>;
}

/** JupyterLab's InputDialog and Dialog. */
export const LAB_DIALOGS: IFormDialogs = {
  async templateName(suggested) {
    const result = await InputDialog.getText({
      title: 'Save as template',
      label: 'Template name',
      text: suggested,
      placeholder: 'e.g. MPI on 2 nodes',
      okLabel: 'Save'
    });
    return result.button.accept ? (result.value ?? '').trim() || null : null;
  },
  async confirm(title, body, action) {
    const result = await showDialog({
      title,
      body,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: action })]
    });
    return result.button.accept;
  }
};

export interface ISubmitFormProps {
  /**
   * The values of a new form (the file browser's folder as the working
   * directory, a file's command); see `request` and `templates` for what
   * takes their place.
   */
  initial: ISubmitValues;
  /** Which of the person's files the cluster sees; null or absent: unknown (the server checks). */
  files?: IFilesInfo | null;
  submit: (request: ISubmitRequest) => Promise<JobId>;
  onSubmitted: (id: JobId) => void;
  /**
   * The description of a job request (`GET request-fields`): the fields'
   * labels, help and defaults. The form shows its fields once it has it.
   */
  requestFields?: Promise<IRequestFields> | null;
  /**
   * A request to start from instead of `initial` (POST jobs' shape: a
   * history record's form, for "Edit and run").
   */
  request?: Partial<IFormRequest> | null;
  /** A note shown above the form (why "Run again" could not run the job as it was). */
  message?: string | null;
  /**
   * The person's templates and last values on the server. With it, a new
   * form (no `request`, no command in `initial`) starts from the person's
   * last submission from the panel, and the Template select is shown.
   */
  templates?: TemplatesAPI | null;
  /** Ask with these dialogs (default: JupyterLab's). */
  dialogs?: IFormDialogs;
  /** Focus the first field when the form is shown. */
  autoFocus?: boolean;
  /** With it, the form's Parameters make many jobs of one request (POST sweeps). */
  sweeps?: ISweepActions | null;
  /** With it, the form's Run after holds the job until others end (POST jobs' dependency). */
  holds?: IHoldActions | null;
}

/** The server's sentence after the banner's own lead ("The job was not submitted."). */
function withoutLead(message: string): string {
  const rest = message.replace(
    /^The (job|template|sweep) was not (submitted|saved|deleted):\s*/,
    ''
  );
  return rest === message ? message : rest[0].toUpperCase() + rest.slice(1);
}

/** A help text of the description as a hint: a capital first letter, a full stop. */
function asHint(text: string | undefined | null): string | undefined {
  if (!text) {
    return undefined;
  }
  const sentence = text[0].toUpperCase() + text.slice(1);
  return sentence.endsWith('.') ? sentence : `${sentence}.`;
}

/** Whether `initial` is a new, empty form (not one opened for a file's command). */
function isBlank(values: ISubmitValues): boolean {
  return !values.command.trim() && !values.script.trim();
}

/** Where the form's first values came from. */
type Start = 'initial' | 'request' | 'remembered';

/**
 * The submit form: validates before sending, shows the server's reasons when
 * it refuses. Its fields are those of the description of a job request
 * (`requestFields`), which it waits for, with the starting values: `request`,
 * or the person's last submission from the panel, or `initial`.
 */
export function SubmitForm(props: ISubmitFormProps): JSX.Element {
  const [loaded, setLoaded] = React.useState<
    | { description: IRequestFields; values: ISubmitValues; start: Start }
    | { error: string }
    | null
  >(null);

  React.useEffect(() => {
    let current = true;
    const description: Promise<IRequestFields> =
      props.requestFields ??
      Promise.reject(new Error('The panel did not ask for it.'));
    const remember =
      !props.request && props.templates && isBlank(props.initial);
    const last = remember
      ? props.templates!.lastRequest().catch(error => {
          // The form starts new; the history is not needed to submit.
          console.warn('flux-hub: could not read your last values:', error);
          return null;
        })
      : Promise.resolve(null);
    Promise.all([description, last]).then(
      ([description, last]) => {
        if (!current) {
          return;
        }
        if (props.request) {
          const values = valuesFromRequest(props.request);
          setLoaded({ description, values, start: 'request' });
        } else if (last) {
          const values = valuesFromRequest(last);
          // Not kept where the lab cannot see it: where a new form starts.
          values.workdir = values.workdir || props.initial.workdir;
          setLoaded({ description, values, start: 'remembered' });
        } else {
          setLoaded({ description, values: props.initial, start: 'initial' });
        }
      },
      error => {
        if (current) {
          setLoaded({ error: describe(error) });
        }
      }
    );
    return () => {
      current = false;
    };
    // Once, when the form opens: what the person types afterwards stays.
  }, []);

  if (!loaded) {
    return (
      <div className="jp-FluxHub-submitForm jp-FluxHub-formLoading">
        <h2>Submit a Flux job</h2>
        <p>Loading the job’s fields…</p>
      </div>
    );
  }
  if ('error' in loaded) {
    return (
      <div className="jp-FluxHub-submitForm">
        <h2>Submit a Flux job</h2>
        <div className="jp-FluxHub-banner" role="alert">
          <strong>The form cannot be shown.</strong> {loaded.error} Close this
          tab and open the form again.
        </div>
      </div>
    );
  }
  return (
    <Form
      {...props}
      description={loaded.description}
      start={loaded.start}
      startValues={loaded.values}
    />
  );
}

interface IFormProps extends ISubmitFormProps {
  description: IRequestFields;
  start: Start;
  startValues: ISubmitValues;
}

/** A banner under the form: what was not done, the server's sentence, its reasons. */
interface IRefusal {
  lead: string;
  message: string;
  reasons: string[];
}

function Form(props: IFormProps): JSX.Element {
  const { description } = props;
  const dialogs = props.dialogs ?? LAB_DIALOGS;
  const [values, setValues] = React.useState<ISubmitValues>(props.startValues);
  const [start, setStart] = React.useState<Start>(props.start);
  const [errors, setErrors] = React.useState<Errors>({});
  const [refusal, setRefusal] = React.useState<IRefusal | null>(null);
  const [done, setDone] = React.useState<string | null>(null);
  /** What the form is doing: submitting, or saving or deleting a template. */
  const [busy, setBusy] = React.useState<'submit' | 'template' | null>(null);
  const form = React.useRef<HTMLFormElement>(null);
  const [rejected, setRejected] = React.useState(0);
  const [templates, setTemplates] = React.useState<ITemplate[] | null>(null);
  const [templatesError, setTemplatesError] = React.useState<string | null>(
    null
  );
  const [chosen, setChosen] = React.useState('');
  // The Parameters: many jobs of this one form (a sweep).
  const [sweep, setSweep] = React.useState<ISweepParams>(EMPTY_SWEEP);
  const isSweep = !!props.sweeps && sweeping(sweep);
  const draft = React.useMemo(
    () => (isSweep ? validate(values, props.files ?? null).request : null),
    [isSweep, values, props.files]
  );
  const preview = useSweepPreview(props.sweeps ?? null, draft, sweep);
  // Run after: the job held until others end (empty: submitted now).
  const [after, setAfter] = React.useState(NO_RUN_AFTER);
  const [afterError, setAfterError] = React.useState<string | null>(null);

  const loadTemplates = React.useCallback(async () => {
    if (!props.templates) {
      return;
    }
    try {
      setTemplates(await props.templates.templates());
      setTemplatesError(null);
    } catch (error) {
      setTemplates([]);
      setTemplatesError(describe(error));
    }
  }, [props.templates]);

  React.useEffect(() => {
    void loadTemplates();
  }, [loadTemplates]);

  React.useEffect(() => {
    if (props.autoFocus) {
      form.current
        ?.querySelector<HTMLElement>(
          '#jp-FluxHub-submit-command, #jp-FluxHub-submit-script'
        )
        ?.focus();
    }
  }, []);

  const fieldOf = (name: string): IRequestField | undefined =>
    description.fields.find(field => field.name === name);
  const label = (name: string): string => fieldOf(name)?.label ?? name;
  const help = (name: string): string | undefined => fieldOf(name)?.help;
  /** What leaving a field empty means, as its placeholder (the panel's part of it). */
  const byDefault = (name: string): string | undefined =>
    fieldOf(name)?.default?.split(';')[0].trim() || undefined;

  // After a failed check, take the person to the first field to fix.
  React.useEffect(() => {
    if (rejected) {
      form.current
        ?.querySelector<HTMLElement>('[aria-invalid="true"]')
        ?.focus();
    }
  }, [rejected]);

  const set =
    (key: keyof ISubmitValues) =>
    (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
      const target = event.target as HTMLInputElement;
      const value = target.type === 'checkbox' ? target.checked : target.value;
      setValues(old => ({ ...old, [key]: value }));
      setDone(null);
    };

  /** The request of the fields, or null (each problem shown at its field). */
  const checked = (): IFormRequest | null => {
    const { request, errors } = validate(values, props.files ?? null);
    setErrors(errors);
    setRefusal(null);
    setDone(null);
    if (!request) {
      setRejected(n => n + 1);
    }
    return request;
  };

  /** Show the server's refusal: its lines at their fields, the rest in the banner. */
  const refused = (lead: string, error: unknown) => {
    const { errors, rest } = refusedFields(error, values);
    const keys = Object.keys(errors) as (keyof ISubmitValues)[];
    if (keys.length) {
      // The server's lines next to the fields they are about, and the
      // person taken to the first; everything typed stays as it was.
      setErrors(errors);
      const labels = keys.map(key => labelOf(key, description)).join(', ');
      setRefusal({ lead, message: `See ${labels} above.`, reasons: rest });
      setRejected(n => n + 1);
    } else {
      setRefusal({ lead, message: describe(error), reasons: rest });
    }
  };

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    const request = checked();
    // Run after's jobs, checked with the rest (shown at the field).
    const held = props.holds && !isSweep ? runAfterDependency(after) : null;
    setAfterError(held && 'error' in held ? held.error : null);
    if (held && 'error' in held) {
      setRejected(n => n + 1);
      return;
    }
    if (!request) {
      return;
    }
    setBusy('submit');
    try {
      if (held?.dependency) {
        const answer = await props.holds!.submit({
          ...request,
          dependency: held.dependency
        });
        props.holds!.onHeld(answer, request);
        return;
      }
      if (isSweep) {
        props.sweeps!.onSubmitted(
          await submitSweep(props.sweeps!, request, sweep)
        );
        return;
      }
      const id = await props.submit(request);
      props.onSubmitted(id);
    } catch (error) {
      const atRunAfter = held?.dependency ? runAfterRefusal(error) : null;
      if (atRunAfter) {
        setAfterError(atRunAfter);
        setRefusal({
          lead: 'The job was not held.',
          message: 'See Run after above.',
          reasons: []
        });
        setRejected(n => n + 1);
        return;
      }
      refused(`The ${isSweep ? 'sweep' : 'job'} was not submitted.`, error);
    } finally {
      setBusy(null);
    }
  };

  const template = templates?.find(t => t.name === chosen) ?? null;

  const choose = (name: string) => {
    setChosen(name);
    setErrors({});
    setRefusal(null);
    setDone(null);
    const picked = templates?.find(t => t.name === name);
    if (picked) {
      const filled = valuesFromRequest(picked.request);
      // A template without a folder leaves the folder as it is.
      setValues(old => ({ ...filled, workdir: filled.workdir || old.workdir }));
      setStart('initial');
    }
  };

  const saveTemplate = async () => {
    const request = checked();
    if (!request || !props.templates) {
      return;
    }
    const own = template && !template.published ? template.name : '';
    const name = await dialogs.templateName(own || values.name.trim());
    if (!name) {
      return;
    }
    const existing = templates?.find(t => t.name === name && !t.published);
    if (
      existing &&
      existing.name !== own &&
      !(await dialogs.confirm(
        'Replace template',
        `You have a template named “${name}”. Replace it with this form?`,
        'Replace'
      ))
    ) {
      return;
    }
    setBusy('template');
    try {
      // Keeping values is about a job's history, not part of a template's request
      const templateRequest = { ...request };
      delete templateRequest.keep_env;
      const saved = await props.templates.save(name, templateRequest);
      await loadTemplates();
      setChosen(saved);
      setDone(`Saved as template “${saved}”.`);
    } catch (error) {
      refused('The template was not saved.', error);
    } finally {
      setBusy(null);
    }
  };

  const deleteTemplate = async () => {
    if (!template || template.published || !props.templates) {
      return;
    }
    const sure = await dialogs.confirm(
      'Delete template',
      `Delete your template “${template.name}”? The form keeps its values.`,
      'Delete'
    );
    if (!sure) {
      return;
    }
    setBusy('template');
    setRefusal(null);
    try {
      await props.templates.remove(template.name);
      await loadTemplates();
      setChosen('');
      setDone(`Deleted the template “${template.name}”.`);
    } catch (error) {
      setRefusal({
        lead: 'The template was not deleted.',
        message: describe(error),
        reasons: []
      });
    } finally {
      setBusy(null);
    }
  };

  const clear = () => {
    setValues({ ...EMPTY_VALUES, workdir: props.initial.workdir });
    setSweep(EMPTY_SWEEP);
    setAfter(NO_RUN_AFTER);
    setAfterError(null);
    setChosen('');
    setErrors({});
    setRefusal(null);
    setDone(null);
    setStart('initial');
  };

  const field = (
    key: keyof ISubmitValues,
    text: React.ReactNode,
    options: {
      placeholder?: string;
      hint?: string;
      inputMode?: 'numeric';
      title?: string;
    } = {}
  ) => {
    const id = `jp-FluxHub-submit-${key}`;
    const error = errors[key];
    const hint = error ? undefined : options.hint;
    const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
    return (
      <div className="jp-FluxHub-field">
        <label htmlFor={id}>{text}</label>
        <input
          id={id}
          name={key}
          className="jp-mod-styled"
          value={(values[key] as string | undefined) ?? ''}
          onChange={set(key)}
          placeholder={options.placeholder}
          inputMode={options.inputMode}
          title={options.title}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
        />
        {error && (
          <div id={`${id}-error`} className="jp-FluxHub-fieldError">
            {error}
          </div>
        )}
        {hint && (
          <div id={`${id}-hint`} className="jp-FluxHub-fieldHint">
            {hint}
          </div>
        )}
      </div>
    );
  };

  const count = (key: keyof ISubmitValues, name: string) =>
    field(key, label(name), {
      inputMode: 'numeric',
      placeholder: byDefault(name),
      title: asHint(help(name))
    });

  const unkept = envStillUnkept(values);
  const optionsHelp = help('option_flags')?.replace(
    /\s*\(repeat for more\)/,
    ''
  );

  return (
    <form
      ref={form}
      className="jp-FluxHub-submitForm"
      aria-label="Submit a Flux job"
      onSubmit={onSubmit}
      noValidate
    >
      <h2>Submit a Flux job</h2>
      {props.message && (
        <div className="jp-FluxHub-formMessage">{props.message}</div>
      )}
      {start === 'remembered' && (
        <div className="jp-FluxHub-formNote">
          Filled in from the last job you submitted here; Clear empties the
          form.
        </div>
      )}
      {props.templates && (
        <div className="jp-FluxHub-field jp-FluxHub-templates">
          <label htmlFor="jp-FluxHub-submit-template">Template</label>
          <div className="jp-FluxHub-templateRow">
            <select
              id="jp-FluxHub-submit-template"
              className="jp-mod-styled jp-FluxHub-templateSelect"
              value={chosen}
              disabled={templates === null}
              title={
                templatesError
                  ? `Your templates could not be read: ${templatesError}`
                  : 'Fill the form from a template: the group’s, published by the hub’s admin, or one you saved'
              }
              onChange={event => choose(event.target.value)}
            >
              <option value="">
                {templates === null
                  ? 'Loading…'
                  : templatesError
                    ? '(your templates could not be read)'
                    : templates.length
                      ? '(none)'
                      : '(no templates yet)'}
              </option>
              {(templates ?? []).map(t => (
                <option
                  key={`${t.published}:${t.name}`}
                  value={t.name}
                  title={t.description ?? undefined}
                >
                  {t.published ? `${t.name} (group)` : t.name}
                </option>
              ))}
            </select>
            {template && (
              <button
                type="button"
                className="jp-mod-styled jp-FluxHub-templateDelete"
                disabled={busy !== null || template.published}
                title={
                  template.published
                    ? 'Published by the hub’s admin for everyone: it cannot be deleted here.'
                    : `Delete your template “${template.name}”`
                }
                onClick={() => void deleteTemplate()}
              >
                Delete template
              </button>
            )}
          </div>
          {template?.published && (
            <div className="jp-FluxHub-fieldHint">
              {template.description ? `${template.description} ` : ''}
              (A group template, read-only: saving makes one of your own.)
            </div>
          )}
          {template && !template.published && template.description && (
            <div className="jp-FluxHub-fieldHint">{template.description}</div>
          )}
        </div>
      )}
      <fieldset className="jp-FluxHub-kind">
        <legend>Run</legend>
        {(
          [
            ['command', 'A command'],
            ['script', 'A shell script (bash)']
          ] as const
        ).map(([kind, text]) => (
          <label key={kind}>
            <input
              type="radio"
              name="kind"
              value={kind}
              checked={values.kind === kind}
              onChange={() => setValues(old => ({ ...old, kind }))}
            />{' '}
            {text}
          </label>
        ))}
      </fieldset>
      {values.kind === 'command' ? (
        <>
          {field('command', label('command'), {
            placeholder: 'e.g. python3 train.py --epochs 3',
            title: asHint(help('command'))
          })}
          {looksLikeShell(values.command) && !errors.command && (
            <div className="jp-FluxHub-hint" role="note">
              This looks like shell syntax. A command runs as a program, not in
              a shell:{' '}
              <button
                type="button"
                className="jp-FluxHub-linkButton"
                onClick={() =>
                  setValues(old => ({
                    ...old,
                    kind: 'script',
                    script: old.script || old.command
                  }))
                }
              >
                run it as a shell script
              </button>
              .
            </div>
          )}
        </>
      ) : (
        <div className="jp-FluxHub-field">
          <label htmlFor="jp-FluxHub-submit-script">
            Script (run with bash)
          </label>
          <textarea
            id="jp-FluxHub-submit-script"
            name="script"
            className="jp-mod-styled jp-FluxHub-script"
            rows={8}
            spellCheck={false}
            placeholder={'for i in 1 2 3; do\n  echo step $i\n  sleep 1\ndone'}
            value={values.script}
            onChange={set('script')}
            aria-invalid={errors.script ? true : undefined}
            aria-describedby={
              errors.script ? 'jp-FluxHub-submit-script-error' : undefined
            }
          />
          {errors.script && (
            <div
              id="jp-FluxHub-submit-script-error"
              className="jp-FluxHub-fieldError"
            >
              {errors.script}
            </div>
          )}
        </div>
      )}
      <div className="jp-FluxHub-runs" aria-label="Runs">
        Runs: <code>{runsAs(values) || '…'}</code>
      </div>
      {props.sweeps && (
        <SweepParameters value={sweep} onChange={setSweep} preview={preview} />
      )}
      {field(
        'name',
        <>
          {label('name')}
          <span className="jp-FluxHub-optional"> (optional)</span>
        </>,
        { placeholder: byDefault('name'), title: asHint(help('name')) }
      )}
      <div className="jp-FluxHub-fieldRow">
        {count('nodes', 'num_nodes')}
        {count('tasks', 'num_tasks')}
        {count('coresPerTask', 'cores_per_task')}
        {count('gpusPerTask', 'gpus_per_task')}
      </div>
      {field('timeLimit', label('runtime'), {
        placeholder: byDefault('runtime'),
        hint: asHint(description.duration.help)
      })}
      {field('workdir', label('workdir'), {
        hint: workdirHint(props.files ?? null) ?? undefined
      })}
      <div className="jp-FluxHub-field">
        <label htmlFor="jp-FluxHub-submit-environment">
          {label('envars')}
          <span className="jp-FluxHub-optional">
            {' '}
            (one NAME=value per line)
          </span>
        </label>
        <textarea
          id="jp-FluxHub-submit-environment"
          name="environment"
          className="jp-mod-styled"
          rows={3}
          value={values.environment}
          onChange={set('environment')}
          aria-invalid={errors.environment ? true : undefined}
          aria-describedby={
            errors.environment
              ? 'jp-FluxHub-submit-environment-error'
              : unkept.length
                ? 'jp-FluxHub-submit-environment-unkept'
                : undefined
          }
        />
        {errors.environment && (
          <div
            id="jp-FluxHub-submit-environment-error"
            className="jp-FluxHub-fieldError"
          >
            {errors.environment}
          </div>
        )}
        {!errors.environment && unkept.length > 0 && (
          <div
            id="jp-FluxHub-submit-environment-unkept"
            className="jp-FluxHub-hint jp-FluxHub-envNotKept"
          >
            {unkept.length === 1
              ? `The value of ${unkept[0]} was not kept`
              : `The values of ${unkept.join(', ')} were not kept`}
            : type {unkept.length === 1 ? 'it' : 'them'} after the =, or the job
            gets an empty value.
          </div>
        )}
      </div>
      {values.environment.trim() !== '' && description.keep_env && (
        <div className="jp-FluxHub-field jp-FluxHub-checkbox">
          <input
            id="jp-FluxHub-submit-keepEnv"
            type="checkbox"
            checked={values.keepEnv ?? false}
            onChange={set('keepEnv')}
            aria-describedby="jp-FluxHub-submit-keepEnv-hint"
          />
          <label htmlFor="jp-FluxHub-submit-keepEnv">
            {description.keep_env.label}
          </label>
          <span
            id="jp-FluxHub-submit-keepEnv-hint"
            className="jp-FluxHub-fieldHint"
          >
            ({description.keep_env.help})
          </span>
        </div>
      )}
      {field('optionFlags', label('option_flags'), {
        placeholder: 'OPT[=VAL], separated by commas',
        title: asHint(optionsHelp)
      })}
      <div className="jp-FluxHub-field jp-FluxHub-checkbox">
        <input
          id="jp-FluxHub-submit-exclusive"
          type="checkbox"
          checked={values.exclusive}
          onChange={set('exclusive')}
          aria-describedby="jp-FluxHub-submit-exclusive-hint"
        />
        <label htmlFor="jp-FluxHub-submit-exclusive">
          {label('exclusive')}
        </label>
        <span
          id="jp-FluxHub-submit-exclusive-hint"
          className="jp-FluxHub-fieldHint"
        >
          ({help('exclusive')})
        </span>
      </div>
      {props.holds && (
        <RunAfter
          value={after}
          onChange={value => {
            setAfter(value);
            setAfterError(null);
          }}
          jobs={props.holds.jobs()}
          error={afterError}
          disabledBecause={
            isSweep
              ? 'Not for sweeps yet: the jobs of a sweep are submitted now.'
              : null
          }
        />
      )}
      {refusal && (
        <div className="jp-FluxHub-banner" role="alert">
          <strong>{refusal.lead}</strong> {withoutLead(refusal.message)}
          {refusal.reasons.length > 0 && (
            <ul className="jp-FluxHub-reasons">
              {refusal.reasons.map(reason => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {done && (
        <div className="jp-FluxHub-formDone" role="status">
          {done}
        </div>
      )}
      <div className="jp-FluxHub-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={busy !== null || (isSweep && submitBlocked(preview))}
        >
          {busy === 'submit'
            ? 'Submitting…'
            : isSweep
              ? submitLabel(preview)
              : 'Submit'}
        </button>
        {props.templates && (
          <button
            type="button"
            className="jp-mod-styled"
            disabled={busy !== null}
            onClick={() => void saveTemplate()}
          >
            Save as template…
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled jp-FluxHub-clear"
          disabled={busy !== null}
          title="Empty the form"
          onClick={clear}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
