import { IJob } from './api';
import { formatF58, JobId, jobIdOf, parseJobId } from './jobid';

/**
 * Jobs held by the hub until others end (issue 28.3; flux_hub/holds,
 * flux_hub/depend.py): what the panel reads of them, how it words their
 * conditions, and the rows the jobs table shows for them.
 *
 * flux-restful has no dependency field, so a job sent with `"dependency":
 * "afterok:ID"` is not submitted: the hub keeps it (a "hold", its id "h…")
 * and submits it as its owner once the condition holds. Until then the
 * table shows it as a row of its own (see holdJob): DEPEND with what it
 * waits for; once it can no longer run, NEVER RUN with the reason; cancelled
 * while it waited, CANCELED. A hold that was submitted is no row: its job is.
 */

/** Flux's dependency kinds, as `flux submit --dependency` writes them. */
export type DependencyKind = 'afterok' | 'afterany' | 'afternotok';

export const DEPENDENCY_KINDS: {
  value: DependencyKind;
  /** The Run after select's words. */
  label: string;
  /** After the ids in the table: "after ƒX ok". */
  short: string;
  /** After the ids in a sentence: "Runs when ƒX completes successfully". */
  one: string;
  several: string;
}[] = [
  {
    value: 'afterok',
    label: 'when it succeeds',
    short: 'ok',
    one: 'completes successfully',
    several: 'complete successfully'
  },
  {
    value: 'afterany',
    label: 'when it ends',
    short: 'ends',
    one: 'ends, however it ends',
    several: 'end, however they end'
  },
  {
    value: 'afternotok',
    label: 'when it fails',
    short: 'fails',
    one: 'ends without success (fails, is canceled or times out)',
    several: 'end without success (fail, are canceled or time out)'
  }
];

/** A hold's state (flux_hub/holds/store.py). */
export type HoldState =
  'DEPEND' | 'SUBMITTING' | 'SUBMITTED' | 'NEVER_RUN' | 'CANCELED';

/** One condition: run after job `id` ends as `kind` says. */
export interface ICondition {
  kind: string;
  id: JobId;
}

/** A hold as `GET flux-hub/api/holds` gives it, its job ids made JobIds. */
export interface IHold {
  /** The hold's id ("h" and hex). */
  hold: string;
  /** The job request the hub submits (flux-restful's shape). */
  request: Record<string, unknown>;
  after: ICondition[];
  name: string | null;
  state: HoldState | string;
  /** The job it became, once SUBMITTED. */
  job: JobId | null;
  /** Why it never ran (NEVER_RUN) or was cancelled. */
  reason: string | null;
  /** Unix seconds. */
  created: number;
  updated: number;
  [key: string]: unknown;
}

/** `POST jobs` with a dependency: 201, the job held. */
export interface IHeldAnswer {
  hold: string;
  state: string;
  after: ICondition[];
  name: string | null;
}

/** The states in which a hold still waits (and can be cancelled). */
export const WAITING_STATES = new Set(['DEPEND', 'SUBMITTING']);

const DECIMAL = /^[0-9]+$/;

/** Whether a table row's id is a hold's (job ids are decimal, holds' are not). */
export function isHoldId(id: string): boolean {
  return !DECIMAL.test(id);
}

function conditionsOf(value: unknown): ICondition[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value
    .filter(c => c && typeof c === 'object' && typeof c.kind === 'string')
    .map(c => ({ kind: c.kind as string, id: jobIdOf(c.id) }));
}

/** A hold as read (the API's JSON, ids exact): its ids made JobIds. */
export function holdFrom(raw: any): IHold {
  const id = typeof raw?.hold === 'string' ? raw.hold : String(raw?.id ?? '');
  const job = raw?.job === null || raw?.job === undefined ? null : raw.job;
  return {
    ...raw,
    hold: id,
    request: raw?.request && typeof raw.request === 'object' ? raw.request : {},
    after: conditionsOf(raw?.after),
    name: typeof raw?.name === 'string' && raw.name ? raw.name : null,
    state: String(raw?.state ?? ''),
    job: job === null ? null : jobIdOf(job),
    reason: typeof raw?.reason === 'string' ? raw.reason : null,
    created: typeof raw?.created === 'number' ? raw.created : 0,
    updated: typeof raw?.updated === 'number' ? raw.updated : 0
  };
}

/** The answer of a held submit, its ids made JobIds. */
export function heldAnswerFrom(raw: any): IHeldAnswer {
  return {
    hold: String(raw?.hold ?? ''),
    state: String(raw?.state ?? 'DEPEND'),
    after: conditionsOf(raw?.after),
    name: typeof raw?.name === 'string' && raw.name ? raw.name : null
  };
}

function kindOf(kind: string) {
  return DEPENDENCY_KINDS.find(k => k.value === kind);
}

/** The conditions grouped by kind, in the order given. */
function byKind(after: ICondition[]): [string, JobId[]][] {
  const groups = new Map<string, JobId[]>();
  for (const c of after) {
    const ids = groups.get(c.kind) ?? [];
    ids.push(c.id);
    groups.set(c.kind, ids);
  }
  return Array.from(groups.entries());
}

/** "ƒA", "ƒA and ƒB", "ƒA, ƒB and ƒC". */
function idsInWords(ids: JobId[]): string {
  const f58 = ids.map(formatF58);
  return f58.length <= 1
    ? (f58[0] ?? '')
    : `${f58.slice(0, -1).join(', ')} and ${f58[f58.length - 1]}`;
}

/**
 * What a hold waits for, short enough for the table: "after ƒA ok",
 * "after ƒA, ƒB ends", "after 3 jobs fail"; kinds mixed: "after ƒA ok, ƒB fails".
 */
export function shortAfter(after: ICondition[]): string {
  const parts = byKind(after).map(([kind, ids]) => {
    const what =
      ids.length > 2 ? `${ids.length} jobs` : ids.map(formatF58).join(', ');
    return `${what} ${kindOf(kind)?.short ?? kind}`;
  });
  return parts.length ? `after ${parts.join(', ')}` : '';
}

/**
 * What a hold waits for, in full: "Runs when ƒA completes successfully",
 * "Runs when ƒA and ƒB end, however they end and ƒC fails…": every
 * condition must hold.
 */
export function fullAfter(after: ICondition[]): string {
  const parts = byKind(after).map(([kind, ids]) => {
    const words = kindOf(kind);
    const verb = words ? (ids.length === 1 ? words.one : words.several) : kind;
    return `${idsInWords(ids)} ${verb}`;
  });
  return parts.length ? `Runs when ${parts.join('; and when ')}` : '';
}

/** The dependency as `flux submit --dependency` writes it: "afterok:ƒA,ƒB". */
export function dependencyText(after: ICondition[]): string {
  return byKind(after)
    .map(([kind, ids]) => `${kind}:${ids.map(formatF58).join(',')}`)
    .join(',');
}

/**
 * The jobs a person typed into Run after: ids in any form (ƒ…, f…, decimal),
 * separated by commas or spaces. `{ids}` (none when the text is empty), or
 * `{error}` naming the first word that is not a job id.
 */
export function parseAfterIds(
  text: string
): { ids: JobId[] } | { error: string } {
  const ids: JobId[] = [];
  const words = text
    .split(/[,\s]+/)
    .map(word => word.trim())
    .filter(Boolean);
  for (const word of words) {
    const id = parseJobId(word);
    if (id === null) {
      return {
        error: `“${word}” is not a job id: write it as flux jobs shows it (ƒ…) or in decimal.`
      };
    }
    if (!ids.includes(id)) {
      ids.push(id);
    }
  }
  return { ids };
}

/** What POST jobs' `dependency` gets: "afterok:ID,ID" (decimal ids). */
export function dependencyOf(kind: DependencyKind, ids: JobId[]): string {
  return `${kind}:${ids.join(',')}`;
}

/** The command of a hold's request as one line. */
export function holdCommand(hold: IHold): string {
  const command = hold.request.command;
  if (Array.isArray(command)) {
    return command.map(String).join(' ');
  }
  return typeof command === 'string' ? command : '';
}

/** What the table shows in a held job's status instead of NEVER RUN's plain "INACTIVE". */
export const NEVER_RUN_RESULT = 'NEVER RUN';

/**
 * The row the jobs table shows for a hold, or null for a hold that is none
 * (SUBMITTED: its job is listed; a state this panel does not know).
 *
 * The record is a job's as far as the table goes: `id` is the hold's id
 * (not decimal: isHoldId), `hold` marks it, `state` DEPEND while it waits
 * (INACTIVE once it never ran or was cancelled, `result` saying which), and
 * `waiting` says what it waits for: `short` in the table, `title` as the
 * tooltip. `hold_state`, `after` and `reason` are the hold's own, for its
 * detail.
 */
export function holdJob(hold: IHold): IJob | null {
  const name = hold.name || holdCommand(hold) || hold.hold;
  const base: IJob = {
    id: hold.hold,
    hold: hold.hold,
    hold_state: hold.state,
    after: hold.after,
    reason: hold.reason,
    name,
    state: 'DEPEND',
    result: '',
    t_submit: hold.created || undefined,
    command: holdCommand(hold),
    request: hold.request
  };
  const full = fullAfter(hold.after);
  if (WAITING_STATES.has(hold.state)) {
    return {
      ...base,
      waiting: {
        reason: full,
        position: null,
        ahead: null,
        t_estimate: null,
        short:
          hold.state === 'SUBMITTING' ? 'submitting…' : shortAfter(hold.after),
        title:
          hold.state === 'SUBMITTING'
            ? `Being submitted now: ${lowerFirst(full)}.`
            : `${full}. Held by flux-hub: it is submitted then, even if your server is stopped.`
      }
    };
  }
  if (hold.state === 'NEVER_RUN' || hold.state === 'CANCELED') {
    const never = hold.state === 'NEVER_RUN';
    const reason =
      hold.reason || (never ? 'its condition can no longer hold' : 'cancelled');
    return {
      ...base,
      state: 'INACTIVE',
      result: never ? NEVER_RUN_RESULT : 'CANCELED',
      t_inactive: hold.updated || undefined,
      waiting: {
        reason,
        position: null,
        ahead: null,
        t_estimate: null,
        short: '',
        title: never
          ? `Never run: ${reason}. (${full}.)`
          : `Cancelled while it waited (${reason}). (${full}.)`
      }
    };
  }
  return null;
}

function lowerFirst(text: string): string {
  return text ? text[0].toLowerCase() + text.slice(1) : text;
}

/**
 * A hold as one job record, whatever its state (a hold's detail, a cancel's
 * second look): holdJob's row, or for one submitted, an ended record saying
 * which job it became.
 */
export function holdRecord(hold: IHold): IJob {
  const row = holdJob(hold);
  if (row) {
    return row;
  }
  const became = hold.job ? ` as ${formatF58(hold.job)}` : '';
  return {
    id: hold.hold,
    hold: hold.hold,
    hold_state: hold.state,
    after: hold.after,
    reason: hold.reason,
    name: hold.name || holdCommand(hold) || hold.hold,
    state: 'INACTIVE',
    result: `${hold.state}${became}`,
    t_submit: hold.created || undefined,
    command: holdCommand(hold),
    request: hold.request,
    job: hold.job
  };
}
