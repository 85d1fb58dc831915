import * as React from 'react';

import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';

import {
  ISubmitRequest,
  ISweepBody,
  ISweepPreview,
  ISweepProgress
} from '../api';
import { describe } from '../model';
import {
  EMPTY_ROW,
  formatCount,
  IParameterRow,
  isSweep,
  ISweepParams,
  jobsText,
  sweepInputs
} from '../sweeps';

/** How long the preview waits for the typing to stop (ms). */
export const PREVIEW_DELAY = 400;

/** What the form does with a sweep (POST sweeps; the panel adds the form's origin). */
export interface ISweepActions {
  /** How many jobs and the first commands (a dry run: nothing submitted). */
  preview(body: ISweepBody): Promise<ISweepPreview>;
  submit(body: ISweepBody): Promise<ISweepProgress>;
  /** The server took the sweep: it submits its jobs in the background. */
  onSubmitted(started: ISweepProgress): void;
}

/** The preview under the Parameters: nothing yet, being asked, the jobs, or why not. */
export type PreviewState =
  | { status: 'none' }
  | { status: 'incomplete' }
  | { status: 'loading' }
  | { status: 'ok'; preview: ISweepPreview }
  | { status: 'error'; message: string };

/** Whether the form's Parameters make it a sweep: open, with a row of values. */
export function sweeping(params: ISweepParams): boolean {
  return params.open && isSweep(params);
}

/** POST sweeps' body of the form's request and Parameters; a problem is one line. */
export function sweepBody(
  request: ISubmitRequest,
  params: ISweepParams
): ISweepBody | { error: string } {
  const inputs = sweepInputs(params.rows);
  if ('error' in inputs) {
    return inputs;
  }
  // keep_env is no field of a job request but the history's, beside it as in
  // POST jobs.
  const { keep_env, ...fields } = request;
  const body: ISweepBody = { request: fields, inputs: inputs.inputs };
  if (keep_env) {
    body.keep_env = true;
  }
  if (params.group.trim()) {
    body.group = params.group.trim();
  }
  return body;
}

/** Submit the form's sweep; its one line (bad inputs) as an error. */
export async function submitSweep(
  actions: ISweepActions,
  request: ISubmitRequest,
  params: ISweepParams
): Promise<ISweepProgress> {
  const body = sweepBody(request, params);
  if ('error' in body) {
    throw new Error(body.error);
  }
  return actions.submit(body);
}

/**
 * The sweep's preview, asked of the server (a dry run) once the typing has
 * stopped for PREVIEW_DELAY ms; `request` null: the form's fields are not
 * complete yet (the command is missing, say).
 */
export function useSweepPreview(
  actions: ISweepActions | null,
  request: ISubmitRequest | null,
  params: ISweepParams
): PreviewState {
  const [state, setState] = React.useState<PreviewState>({ status: 'none' });
  const active = !!actions && sweeping(params);
  const body = active && request ? sweepBody(request, params) : null;
  // The same body typed again asks nothing new.
  const key = body ? JSON.stringify(body) : '';
  React.useEffect(() => {
    if (!active) {
      setState({ status: 'none' });
      return;
    }
    if (!body) {
      setState({ status: 'incomplete' });
      return;
    }
    if ('error' in body) {
      setState({ status: 'error', message: body.error });
      return;
    }
    setState({ status: 'loading' });
    let current = true;
    const timer = setTimeout(() => {
      actions!.preview(body).then(
        preview => {
          if (current) {
            setState({ status: 'ok', preview });
          }
        },
        error => {
          if (current) {
            setState({ status: 'error', message: oneLine(describe(error)) });
          }
        }
      );
    }, PREVIEW_DELAY);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [active, key]);
  return state;
}

/** The server's sentence without its lead: the preview is of a sweep not yet sent. */
function oneLine(message: string): string {
  const rest = message.replace(/^The sweep was not submitted:\s*/, '');
  return rest ? rest[0].toUpperCase() + rest.slice(1) : message;
}

/** The Submit button's words for a sweep: "Submit 20 jobs". */
export function submitLabel(state: PreviewState): string {
  if (state.status === 'ok') {
    return `Submit ${jobsText(state.preview.count)}`;
  }
  return 'Submit jobs';
}

/** Whether the Submit button waits: the preview is being asked, or refused the sweep. */
export function submitBlocked(state: PreviewState): boolean {
  return state.status === 'loading' || state.status === 'error';
}

export interface ISweepParametersProps {
  value: ISweepParams;
  onChange: (value: ISweepParams) => void;
  preview: PreviewState;
}

let sections = 0;

/**
 * The form's Parameters: lists of values the request's placeholders take,
 * one job each (their product for several lists), as `flux bulksubmit`
 * does; closed by default, and without values the form submits one job.
 */
export function SweepParameters(props: ISweepParametersProps): JSX.Element {
  const { value, onChange } = props;
  const id = React.useMemo(() => `jp-FluxHub-sweep-${++sections}`, []);
  const setRow = (index: number, row: Partial<IParameterRow>) =>
    onChange({
      ...value,
      rows: value.rows.map((old, i) => (i === index ? { ...old, ...row } : old))
    });
  const Caret = value.open ? caretDownIcon : caretRightIcon;
  return (
    <div className="jp-FluxHub-sweepParams">
      <button
        type="button"
        className="jp-FluxHub-sweepToggle"
        aria-expanded={value.open}
        aria-controls={`${id}-body`}
        onClick={() => onChange({ ...value, open: !value.open })}
      >
        <Caret.react tag="span" className="jp-FluxHub-groupCaret" />
        Parameters
      </button>
      <span className="jp-FluxHub-optional"> (many jobs from one form)</span>
      {value.open && (
        <div
          id={`${id}-body`}
          className="jp-FluxHub-sweepBody"
          role="group"
          aria-label="Parameters"
        >
          <p className="jp-FluxHub-fieldHint" id={`${id}-help`}>
            One job for each value, as <code>flux bulksubmit</code> does. In the
            command, the name, the working directory and the environment’s
            values, <code>{'{}'}</code> is the next row’s value,{' '}
            <code>{'{name}'}</code> the value of the row named so, and{' '}
            <code>{'{seq}'}</code> the job’s number (from 0;{' '}
            <code>{'{seq1}'}</code> from 1). Several rows: a job for every
            combination. A command without placeholders gets the values at its
            end. <code>{'{1..10}'}</code> is the numbers 1 to 10.
          </p>
          {value.rows.map((row, index) => (
            <ParameterRow
              key={index}
              id={`${id}-row${index}`}
              row={row}
              index={index}
              removable={value.rows.length > 1}
              describedBy={`${id}-help`}
              onChange={change => setRow(index, change)}
              onRemove={() =>
                onChange({
                  ...value,
                  rows: value.rows.filter((_, i) => i !== index)
                })
              }
            />
          ))}
          <button
            type="button"
            className="jp-mod-styled jp-FluxHub-smallButton jp-FluxHub-addRow"
            onClick={() =>
              onChange({ ...value, rows: [...value.rows, { ...EMPTY_ROW }] })
            }
          >
            Add values
          </button>
          <div className="jp-FluxHub-field jp-FluxHub-sweepGroup">
            <label htmlFor={`${id}-group`}>Group</label>
            <input
              id={`${id}-group`}
              className="jp-mod-styled"
              aria-describedby={`${id}-groupHint`}
              value={value.group}
              onChange={event =>
                onChange({ ...value, group: event.target.value })
              }
            />
            <div id={`${id}-groupHint`} className="jp-FluxHub-fieldHint">
              The jobs’ name in the table (optional): by default the job’s name,
              else the program’s.
            </div>
          </div>
          <Preview state={props.preview} />
        </div>
      )}
    </div>
  );
}

function ParameterRow(props: {
  id: string;
  row: IParameterRow;
  index: number;
  removable: boolean;
  describedBy: string;
  onChange: (change: Partial<IParameterRow>) => void;
  onRemove: () => void;
}): JSX.Element {
  const { id, row } = props;
  const n = props.index + 1;
  return (
    <div
      className="jp-FluxHub-paramRow"
      role="group"
      aria-label={`Values ${n}`}
    >
      <div className="jp-FluxHub-field jp-FluxHub-paramName">
        <label htmlFor={`${id}-name`}>Input name</label>
        <input
          id={`${id}-name`}
          className="jp-mod-styled"
          value={row.name}
          placeholder="(optional)"
          title="Name it to use {name} in the command; unnamed rows are {} in order"
          onChange={event => props.onChange({ name: event.target.value })}
        />
      </div>
      <div className="jp-FluxHub-field jp-FluxHub-paramSource">
        <label htmlFor={`${id}-source`}>From</label>
        <select
          id={`${id}-source`}
          className="jp-mod-styled"
          value={row.source}
          onChange={event =>
            props.onChange({
              source: event.target.value as IParameterRow['source']
            })
          }
        >
          <option value="words">Words</option>
          <option value="file">Lines of a file</option>
        </select>
      </div>
      {row.source === 'words' ? (
        <div className="jp-FluxHub-field jp-FluxHub-paramValues">
          <label htmlFor={`${id}-values`}>Values</label>
          <input
            id={`${id}-values`}
            className="jp-mod-styled"
            value={row.words}
            placeholder="a b c, or {1..10}"
            aria-describedby={props.describedBy}
            onChange={event => props.onChange({ words: event.target.value })}
          />
        </div>
      ) : (
        <div className="jp-FluxHub-field jp-FluxHub-paramValues">
          <label htmlFor={`${id}-path`}>File of values</label>
          <input
            id={`${id}-path`}
            className="jp-mod-styled"
            value={row.path}
            placeholder="inputs.txt: one value a line"
            title="A file the server reads, a value on each line (empty lines skipped); its path as the file browser shows it"
            onChange={event => props.onChange({ path: event.target.value })}
          />
        </div>
      )}
      {props.removable && (
        <button
          type="button"
          className="jp-FluxHub-iconButton jp-FluxHub-removeRow"
          aria-label={`Remove values ${n}`}
          title="Remove these values"
          onClick={props.onRemove}
        >
          ✕
        </button>
      )}
    </div>
  );
}

/** "20 jobs" and the first commands, or the server's one line against the sweep. */
function Preview(props: { state: PreviewState }): JSX.Element | null {
  const { state } = props;
  if (state.status === 'none') {
    return null;
  }
  let content: React.ReactNode;
  switch (state.status) {
    case 'incomplete':
      content = (
        <span className="jp-FluxHub-fieldHint">
          Fill in the command to see the jobs.
        </span>
      );
      break;
    case 'loading':
      content = (
        <span className="jp-FluxHub-fieldHint">Counting the jobs…</span>
      );
      break;
    case 'error':
      content = (
        <span className="jp-FluxHub-fieldError" role="alert">
          {state.message}
        </span>
      );
      break;
    default: {
      const { count, preview } = state.preview;
      content = (
        <>
          <strong className="jp-FluxHub-sweepCount">{jobsText(count)}</strong>
          {preview.length > 0 && (
            <ol
              className="jp-FluxHub-sweepCommands"
              aria-label="The first jobs"
            >
              {preview.map((job, i) => (
                <li key={i}>
                  <span className="jp-FluxHub-sweepJobName">{job.name}</span>{' '}
                  <code>{job.command}</code>
                </li>
              ))}
            </ol>
          )}
          {count > preview.length && preview.length > 0 && (
            <span className="jp-FluxHub-fieldHint">
              … and {formatCount(count - preview.length)} more
            </span>
          )}
        </>
      );
    }
  }
  return (
    <div
      className={
        'jp-FluxHub-sweepPreview' +
        (state.status === 'error' ? ' jp-mod-error' : '')
      }
      aria-live="polite"
    >
      {content}
    </div>
  );
}
