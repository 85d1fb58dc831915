import * as React from 'react';

import { IJob, ISubmitRequest } from '../api';
import {
  DEPENDENCY_KINDS,
  DependencyKind,
  dependencyOf,
  fullAfter,
  IHeldAnswer,
  parseAfterIds
} from '../holds';
import { formatF58 } from '../jobid';
import { commandOf, isActive } from '../jobs';
import { FluxHubError } from '../request';

/** What Run after holds: the kind and the jobs as typed (empty: run now). */
export interface IRunAfterValue {
  kind: DependencyKind;
  ids: string;
}

export const NO_RUN_AFTER: IRunAfterValue = { kind: 'afterok', ids: '' };

/** The most jobs offered as suggestions. */
const MOST_SUGGESTED = 40;

export const RUN_AFTER_INPUT_ID = 'jp-FluxHub-submit-after';
export const RUN_AFTER_KIND_ID = 'jp-FluxHub-submit-afterKind';

/**
 * The dependency POST jobs gets for `value` ("afterok:ID,ID"), null when no
 * job is given (the job is submitted now), or the sentence saying which word
 * is not a job id.
 */
export function runAfterDependency(
  value: IRunAfterValue
): { dependency: string | null } | { error: string } {
  const parsed = parseAfterIds(value.ids);
  if ('error' in parsed) {
    return parsed;
  }
  return {
    dependency: parsed.ids.length ? dependencyOf(value.kind, parsed.ids) : null
  };
}

/**
 * The server's refusal of a held submit that is about its dependency: its one
 * line for the Run after field (a bad dependency, a job that is not the
 * person's to wait for); null for any other refusal.
 */
export function runAfterRefusal(error: unknown): string | null {
  if (!(error instanceof FluxHubError) || error.status !== 400) {
    return null;
  }
  if (error.field === 'dependency') {
    return error.reasons[0] ?? error.message;
  }
  if (!error.field && /to wait for/.test(error.message)) {
    return error.message;
  }
  return null;
}

/** The notification of a job held: "Held “step2” until ƒA completes successfully." */
export function heldMessage(answer: IHeldAnswer): string {
  const until = fullAfter(answer.after).replace(/^Runs when /, '');
  const name = answer.name ? `“${answer.name}” ` : '';
  return `Held ${name}until ${until || 'the jobs it waits for end'}: flux-hub submits it then, even if your server is stopped.`;
}

/**
 * The jobs offered: active ones first, then the most recent; not held jobs'
 * rows (a job can wait only for a job). Each "ƒA — name".
 */
export function suggestedJobs(jobs: IJob[]): { id: string; label: string }[] {
  const chosen = jobs
    .filter(job => !job.hold)
    .slice()
    .sort(
      (a, b) =>
        Number(isActive(b)) - Number(isActive(a)) ||
        (b.t_submit ?? 0) - (a.t_submit ?? 0)
    )
    .slice(0, MOST_SUGGESTED);
  return chosen.map(job => {
    const f58 = formatF58(job.id);
    const name = job.name || commandOf(job);
    return { id: f58, label: name ? `${f58} — ${name}` : f58 };
  });
}

export interface IRunAfterProps {
  value: IRunAfterValue;
  onChange: (value: IRunAfterValue) => void;
  /** The person's jobs, offered as suggestions. */
  jobs?: IJob[];
  /** A problem with the jobs typed, or the server's refusal of them. */
  error?: string | null;
  /** Why Run after cannot be used now ("not for sweeps yet"); null: it can. */
  disabledBecause?: string | null;
}

/**
 * "Run after" in the submit form: the job waits for others, held by the hub
 * until they end as the kind says (afterok, afterany, afternotok), then
 * submitted as its owner even if the person's server is stopped. No jobs
 * given: the job is submitted now.
 */
export function RunAfter(props: IRunAfterProps): JSX.Element {
  const { value, error } = props;
  const disabled = !!props.disabledBecause;
  const parsed = parseAfterIds(value.ids);
  const ids = 'ids' in parsed ? parsed.ids : [];
  const several = ids.length > 1;
  // Picking a suggestion keeps the ids typed before it.
  const typed = value.ids.match(/^(.*[,\s])?[^,\s]*$/)?.[1] ?? '';
  const suggestions = React.useMemo(
    () => suggestedJobs(props.jobs ?? []),
    [props.jobs]
  );
  const hint = disabled
    ? props.disabledBecause
    : ids.length
      ? `${fullAfter(ids.map(id => ({ kind: value.kind, id })))}. flux-hub holds it until then and submits it even if your server is stopped.`
      : 'Empty: the job is submitted now.';
  const describedBy = error
    ? `${RUN_AFTER_INPUT_ID}-error`
    : `${RUN_AFTER_INPUT_ID}-hint`;
  return (
    <div className="jp-FluxHub-field jp-FluxHub-runAfter">
      <label htmlFor={RUN_AFTER_INPUT_ID}>
        Run after
        <span className="jp-FluxHub-optional"> (optional)</span>
      </label>
      <div className="jp-FluxHub-runAfterRow">
        <input
          id={RUN_AFTER_INPUT_ID}
          name="after"
          className="jp-mod-styled jp-FluxHub-runAfterJobs"
          list={`${RUN_AFTER_INPUT_ID}-jobs`}
          placeholder="Job ids (ƒ… or decimal), separated by commas"
          title="The jobs this one waits for: ids as flux jobs shows them (ƒ…) or in decimal, separated by commas or spaces"
          autoComplete="off"
          spellCheck={false}
          value={value.ids}
          disabled={disabled}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onChange={event =>
            props.onChange({ ...value, ids: event.target.value })
          }
        />
        <select
          id={RUN_AFTER_KIND_ID}
          className="jp-mod-styled jp-FluxHub-runAfterKind"
          aria-label="Run after the jobs"
          title="afterok: when they complete successfully; afterany: when they end; afternotok: when they end without success"
          value={value.kind}
          disabled={disabled}
          onChange={event =>
            props.onChange({
              ...value,
              kind: event.target.value as DependencyKind
            })
          }
        >
          {DEPENDENCY_KINDS.map(kind => (
            <option key={kind.value} value={kind.value}>
              {several ? pluralLabel(kind.value) : kind.label}
            </option>
          ))}
        </select>
      </div>
      <datalist id={`${RUN_AFTER_INPUT_ID}-jobs`}>
        {suggestions.map(s => (
          <option key={s.id} value={`${typed}${s.id}`} label={s.label}>
            {s.label}
          </option>
        ))}
      </datalist>
      {error ? (
        <div
          id={`${RUN_AFTER_INPUT_ID}-error`}
          className="jp-FluxHub-fieldError"
        >
          {error}
        </div>
      ) : (
        <div
          id={`${RUN_AFTER_INPUT_ID}-hint`}
          className={
            'jp-FluxHub-fieldHint' + (disabled ? ' jp-FluxHub-runAfterOff' : '')
          }
        >
          {hint}
        </div>
      )}
    </div>
  );
}

function pluralLabel(kind: DependencyKind): string {
  switch (kind) {
    case 'afterok':
      return 'when they succeed';
    case 'afterany':
      return 'when they end';
    default:
      return 'when they fail';
  }
}

/** What the form's Run after does (index.ts gives it): hold the job, then say so. */
export interface IHoldActions {
  /** POST jobs with the dependency: the hold. */
  submit: (request: ISubmitRequest) => Promise<IHeldAnswer>;
  /** The job was held (the form is done). */
  onHeld: (answer: IHeldAnswer, request: ISubmitRequest) => void;
  /** The person's jobs now, offered as suggestions. */
  jobs: () => IJob[];
}
