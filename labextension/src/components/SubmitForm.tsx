import * as React from 'react';

import { IRequestFields, ISubmitRequest } from '../api';
import { IFilesInfo, workdirHint, workdirRefusal } from '../files';
import { JobId } from '../jobid';
import { parseEnvironment } from '../jobs';
import { FluxHubError } from '../request';
import { describe } from '../model';

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
  exclusive: false
};

type Errors = Partial<Record<keyof ISubmitValues, string>>;

/** Shell syntax that a command (run as a program, not by a shell) cannot use. */
const SHELL_SYNTAX =
  /^\s*(for|while|until|if|case|function|export|source|cd)\b|[;|&<>`]|\$\(|\$\{|\n/;

/** Whether a command line would only work in a shell (it runs as a program). */
export function looksLikeShell(command: string): boolean {
  return SHELL_SYNTAX.test(command);
}

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
  request: ISubmitRequest | null;
  errors: Errors;
} {
  const errors: Errors = {};
  const request: ISubmitRequest = { command: values.command.trim() };
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
  }
  if (values.exclusive) {
    request.exclusive = true;
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
  envars: 'environment'
};

/** How the form names its fields in a sentence. */
const LABELS: Record<keyof ISubmitValues, string> = {
  kind: 'Run',
  command: 'Command',
  script: 'Script',
  name: 'Name',
  nodes: 'Nodes',
  tasks: 'Tasks',
  coresPerTask: 'Cores per task',
  gpusPerTask: 'GPUs per task',
  timeLimit: 'Time limit',
  workdir: 'Working directory',
  environment: 'Environment variables',
  exclusive: 'Exclusive'
};

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

export interface ISubmitFormProps {
  initial: ISubmitValues;
  /** Which of the person's files the cluster sees; null or absent: unknown (the server checks). */
  files?: IFilesInfo | null;
  submit: (request: ISubmitRequest) => Promise<JobId>;
  onSubmitted: (id: JobId) => void;
  /**
   * The description of a job request (`GET request-fields`): the fields'
   * help shows under them. Absent or failed: the form's own short hints.
   */
  requestFields?: Promise<IRequestFields> | null;
}

/** The server's sentence after the banner's own "The job was not submitted." */
function withoutLead(message: string): string {
  const rest = message.replace(/^The job was not submitted:\s*/, '');
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

/** The submit form: validates before sending, shows the server's reasons when it refuses. */
export function SubmitForm(props: ISubmitFormProps): JSX.Element {
  const [values, setValues] = React.useState<ISubmitValues>(props.initial);
  const [errors, setErrors] = React.useState<Errors>({});
  const [refusal, setRefusal] = React.useState<{
    message: string;
    reasons: string[];
  } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const form = React.useRef<HTMLFormElement>(null);
  const [rejected, setRejected] = React.useState(0);
  const [description, setDescription] = React.useState<IRequestFields | null>(
    null
  );

  React.useEffect(() => {
    let current = true;
    props.requestFields
      ?.then(answer => current && setDescription(answer))
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [props.requestFields]);

  const help = (name: string): string | undefined =>
    description?.fields.find(field => field.name === name)?.help;

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
    };

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    const { request, errors } = validate(values, props.files ?? null);
    setErrors(errors);
    setRefusal(null);
    if (!request) {
      setRejected(n => n + 1);
      return;
    }
    setBusy(true);
    try {
      const id = await props.submit(request);
      props.onSubmitted(id);
    } catch (error) {
      const { errors, rest } = refusedFields(error, values);
      const keys = Object.keys(errors) as (keyof ISubmitValues)[];
      if (keys.length) {
        // The server's lines next to the fields they are about, and the
        // person taken to the first; everything typed stays as it was.
        setErrors(errors);
        const labels = keys.map(key => LABELS[key]).join(', ');
        setRefusal({ message: `See ${labels} above.`, reasons: rest });
        setRejected(n => n + 1);
      } else {
        setRefusal({ message: describe(error), reasons: rest });
      }
    } finally {
      setBusy(false);
    }
  };

  const field = (
    key: keyof ISubmitValues,
    label: string,
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
        <label htmlFor={id}>{label}</label>
        <input
          id={id}
          name={key}
          className="jp-mod-styled"
          value={values[key] as string}
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

  return (
    <form
      ref={form}
      className="jp-FluxHub-submitForm"
      aria-label="Submit a Flux job"
      onSubmit={onSubmit}
      noValidate
    >
      <h2>Submit a Flux job</h2>
      <fieldset className="jp-FluxHub-kind">
        <legend>Run</legend>
        {(
          [
            ['command', 'A command'],
            ['script', 'A shell script (bash)']
          ] as const
        ).map(([kind, label]) => (
          <label key={kind}>
            <input
              type="radio"
              name="kind"
              value={kind}
              checked={values.kind === kind}
              onChange={() => setValues(old => ({ ...old, kind }))}
            />{' '}
            {label}
          </label>
        ))}
      </fieldset>
      {values.kind === 'command' ? (
        <>
          {field('command', 'Command', {
            placeholder: 'e.g. python3 train.py --epochs 3'
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
      {field('name', 'Name (optional)')}
      <div className="jp-FluxHub-fieldRow">
        {field('nodes', 'Nodes', {
          inputMode: 'numeric',
          placeholder: '1',
          title: asHint(help('num_nodes'))
        })}
        {field('tasks', 'Tasks', {
          inputMode: 'numeric',
          placeholder: '1',
          title: asHint(help('num_tasks'))
        })}
        {field('coresPerTask', 'Cores per task', {
          inputMode: 'numeric',
          placeholder: '1',
          title: asHint(help('cores_per_task'))
        })}
        {field('gpusPerTask', 'GPUs per task', {
          inputMode: 'numeric',
          placeholder: '0',
          title: asHint(help('gpus_per_task'))
        })}
      </div>
      {field('timeLimit', 'Time limit', {
        placeholder: 'none, or e.g. 90, 10m, .5h, 1h30m',
        hint: asHint(description?.duration.help)
      })}
      {field('workdir', 'Working directory', {
        hint: workdirHint(props.files ?? null) ?? undefined
      })}
      <div className="jp-FluxHub-field">
        <label htmlFor="jp-FluxHub-submit-environment">
          Environment variables (one NAME=value per line)
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
      </div>
      <div className="jp-FluxHub-field jp-FluxHub-checkbox">
        <input
          id="jp-FluxHub-submit-exclusive"
          type="checkbox"
          checked={values.exclusive}
          onChange={set('exclusive')}
        />
        <label htmlFor="jp-FluxHub-submit-exclusive">
          Exclusive (whole nodes, not shared with other jobs)
        </label>
      </div>
      {refusal && (
        <div className="jp-FluxHub-banner" role="alert">
          <strong>The job was not submitted.</strong>{' '}
          {withoutLead(refusal.message)}
          {refusal.reasons.length > 0 && (
            <ul className="jp-FluxHub-reasons">
              {refusal.reasons.map(reason => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="jp-FluxHub-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={busy}
        >
          {busy ? 'Submitting…' : 'Submit'}
        </button>
      </div>
    </form>
  );
}
