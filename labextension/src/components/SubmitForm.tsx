import * as React from 'react';

import { ISubmitRequest } from '../api';
import { IFilesInfo, workdirHint, workdirRefusal } from '../files';
import { JobId } from '../jobid';
import { parseEnvironment, parseTimeLimit } from '../jobs';
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

/** A whole number field: empty means "let Flux decide". */
function count(
  text: string,
  label: string,
  min: number,
  errors: Errors,
  key: keyof ISubmitValues
): number | undefined {
  const value = text.trim();
  if (!value) {
    return undefined;
  }
  if (!/^\d+$/.test(value) || Number(value) < min) {
    errors[key] = `${label} must be a whole number of at least ${min}.`;
    return undefined;
  }
  return Number(value);
}

/**
 * Check the form and build the request; every problem is reported against
 * its field so a person can fix them all at once. `files`: which folders the
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
  const fields: [keyof ISubmitValues, keyof ISubmitRequest, string, number][] =
    [
      ['nodes', 'num_nodes', 'Nodes', 1],
      ['tasks', 'num_tasks', 'Tasks', 1],
      ['coresPerTask', 'cores_per_task', 'Cores per task', 1],
      ['gpusPerTask', 'gpus_per_task', 'GPUs per task', 0]
    ];
  for (const [key, field, label, min] of fields) {
    const value = count(values[key] as string, label, min, errors, key);
    // Zero GPUs is the same as asking for none: leave the field out.
    if (value) {
      (request as any)[field] = value;
    }
  }
  if (
    request.num_nodes !== undefined &&
    request.num_tasks !== undefined &&
    request.num_tasks < request.num_nodes
  ) {
    errors.tasks =
      'Each node needs at least one task: use at least as many tasks as nodes.';
  }
  const runtime = parseTimeLimit(values.timeLimit);
  if (runtime === null) {
    errors.timeLimit =
      'Write the time limit as seconds (90) or with units (30s, 10m, 2h, 1h30m).';
  } else if (runtime > 0) {
    request.runtime = runtime;
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
      const reasons = error instanceof FluxHubError ? error.reasons : [];
      const key = refusedField(error, values);
      if (key) {
        // The server's line next to the field it is about, and the person
        // taken there; everything typed stays as it was.
        setErrors({ [key]: describe(error) });
        setRefusal({ message: `See ${LABELS[key]} above.`, reasons });
        setRejected(n => n + 1);
      } else {
        setRefusal({ message: describe(error), reasons });
      }
    } finally {
      setBusy(false);
    }
  };

  const field = (
    key: keyof ISubmitValues,
    label: string,
    options: { placeholder?: string; hint?: string; inputMode?: 'numeric' } = {}
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
        {field('nodes', 'Nodes', { inputMode: 'numeric', placeholder: '1' })}
        {field('tasks', 'Tasks', { inputMode: 'numeric', placeholder: '1' })}
        {field('coresPerTask', 'Cores per task', {
          inputMode: 'numeric',
          placeholder: '1'
        })}
        {field('gpusPerTask', 'GPUs per task', {
          inputMode: 'numeric',
          placeholder: '0'
        })}
      </div>
      {field('timeLimit', 'Time limit', {
        placeholder: 'none, or e.g. 90, 10m, 1h30m'
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
          <strong>The job was not submitted.</strong> {refusal.message}
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
