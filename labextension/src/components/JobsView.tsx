import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { caretDownIcon, closeIcon, stopIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ISignal } from '@lumino/signaling';
import { Menu } from '@lumino/widgets';

import { IClusterInfo, IJob, ISweepProgress } from '../api';
import {
  cancelJobs,
  cancellable,
  ICancelResult,
  isWaiting,
  jobCount,
  resultLine,
  summarize
} from '../bulkcancel';
import { JobId } from '../jobid';
import {
  ColumnId,
  columnsForWidth,
  formatTime,
  idUnderName,
  ISortState,
  STATE_FILTERS,
  StateFilter,
  visibleJobs
} from '../jobs';
import { describe, JobsModel } from '../model';
import {
  formatCount,
  ISweepGroup,
  jobsOfSweep,
  jobsText,
  sweepTracker,
  unsuccessful
} from '../sweeps';
import { IStripItem, stripItems } from '../waiting';
import { CHECK_COLUMN_CH, JobTable } from './JobTable';

/** Re-render the calling component each time `signal` fires. */
export function useSignal(signal: ISignal<any, any>): number {
  const [count, setCount] = React.useState(0);
  React.useEffect(() => {
    const bump = () => setCount(c => c + 1);
    signal.connect(bump);
    return () => {
      signal.disconnect(bump);
    };
  }, [signal]);
  return count;
}

export interface IJobsViewProps {
  model: JobsModel;
  columns: ColumnId[];
  onOpen: (id: JobId) => void;
}

/**
 * The width of `node` in characters of its font (`ch`), kept current as it is
 * resized; Infinity before the first layout (and where there is none).
 */
export function useWidthInChars(
  node: React.RefObject<HTMLElement>,
  ruler: React.RefObject<HTMLElement>
): number {
  const [chars, setChars] = React.useState(Infinity);
  React.useEffect(() => {
    const element = node.current;
    if (!element || typeof ResizeObserver === 'undefined') {
      return;
    }
    const measure = () => {
      const hundred = ruler.current?.getBoundingClientRect().width ?? 0;
      const width = element.getBoundingClientRect().width;
      // Padding and borders of the cells take a little of every column
      setChars(
        hundred > 0 && width > 0 ? (width * 100) / hundred - 2 : Infinity
      );
    };
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    measure();
    return () => observer.disconnect();
  }, []);
  return chars;
}

/** The sidebar's content: cluster header, problem banner, filters and the table. */
export function JobsView(props: IJobsViewProps): JSX.Element {
  const { model } = props;
  useSignal(model.changed);
  const root = React.useRef<HTMLDivElement>(null);
  const ruler = React.useRef<HTMLSpanElement>(null);
  const chars = useWidthInChars(root, ruler);
  const [checked, setChecked] = React.useState<ReadonlySet<JobId>>(
    () => new Set()
  );
  // The checkboxes show once a job is selected: until then they take no room.
  const showChecks = checked.size > 0;
  const columns = React.useMemo(
    () =>
      columnsForWidth(
        props.columns,
        chars - (showChecks ? CHECK_COLUMN_CH : 0)
      ),
    [props.columns, chars, showChecks]
  );
  const [text, setText] = React.useState('');
  const [state, setState] = React.useState<StateFilter>('all');
  const [sort, setSort] = React.useState<ISortState>({
    column: 'submitted',
    ascending: false
  });
  // The current row: a job's id, or a sweep's row's key.
  const [selected, setSelected] = React.useState<string | null>(null);
  const tracker = sweepTracker(model);
  useSignal(tracker.changed);

  const jobs = model.jobs;
  const rows = React.useMemo(
    () => visibleJobs(jobs, text, state, sort),
    [jobs, text, state, sort]
  );

  // Only jobs shown stay selected: an action never touches a hidden one.
  React.useEffect(() => {
    if (checked.size === 0) {
      return;
    }
    const shown = new Set(rows.map(j => j.id));
    if (Array.from(checked).some(id => !shown.has(id))) {
      setChecked(new Set(Array.from(checked).filter(id => shown.has(id))));
    }
  }, [rows, checked]);

  const selectedJobs = React.useMemo(
    () => rows.filter(j => checked.has(j.id)),
    [rows, checked]
  );
  const filtered = text.trim() !== '' || state !== 'all';
  const bulk = useBulkCancel(model, {
    selected: selectedJobs,
    waiting: jobs.filter(isWaiting),
    matching: filtered ? rows : [],
    filterWords: filterWords(text, state),
    clearSelection: () => setChecked(new Set())
  });

  const groups = useGroupActions(model, bulk.run);

  const onSort = React.useCallback((column: ColumnId) => {
    setSort(old =>
      old.column === column
        ? { column, ascending: !old.ascending }
        : { column, ascending: column === 'name' }
    );
  }, []);

  return (
    <div className="jp-FluxHub-jobs" ref={root}>
      <span className="jp-FluxHub-ruler" ref={ruler} aria-hidden="true" />
      <ClusterHeader cluster={model.cluster} loading={model.loading} />
      {model.cluster && <ClusterStrip cluster={model.cluster} />}
      {model.error && (
        <Banner
          error={model.error}
          unreachable={model.cluster?.reachable === false}
        />
      )}
      {tracker.unfinished.map(sweep => (
        <SweepProgressBar key={sweep.sweep} sweep={sweep} />
      ))}
      <div className="jp-FluxHub-filters">
        <input
          type="search"
          className="jp-mod-styled jp-FluxHub-filterText"
          placeholder="Filter jobs"
          title="Filter by id (ƒ… as in flux jobs, or decimal), name, command or state"
          aria-label="Filter jobs"
          value={text}
          onChange={event => setText(event.target.value)}
        />
        <select
          className="jp-mod-styled jp-FluxHub-filterState"
          aria-label="Show jobs in state"
          value={state}
          onChange={event => setState(event.target.value as StateFilter)}
        >
          {STATE_FILTERS.map(f => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
      </div>
      {showChecks && (
        <SelectionBar
          count={selectedJobs.length}
          cancellable={cancellable(selectedJobs).length}
          busy={bulk.busy}
          onCancel={() => void bulk.run('selected')}
          onClear={() => setChecked(new Set())}
        />
      )}
      {bulk.status}
      {groups.status}
      <JobTable
        jobs={rows}
        columns={columns}
        idUnderName={idUnderName(props.columns, columns)}
        sort={sort}
        selected={selected}
        onSort={onSort}
        onSelect={setSelected}
        onOpen={props.onOpen}
        checked={checked}
        onChecked={setChecked}
        showChecks={showChecks}
        onGroupMenu={groups.openMenu}
      />
      <div className="jp-FluxHub-footer jp-FluxHub-jobsFooter">
        <span className="jp-FluxHub-footerCount" aria-live="polite">
          {model.loading
            ? 'Loading jobs…'
            : rows.length === jobs.length
              ? `${jobs.length} job${jobs.length === 1 ? '' : 's'}`
              : `${rows.length} of ${jobs.length} jobs shown`}
        </span>
        {bulk.menuButton}
      </div>
    </div>
  );
}

/** The filter in words, for the confirmation: “sleep”, Pending. */
export function filterWords(text: string, state: StateFilter): string {
  const words: string[] = [];
  if (text.trim()) {
    words.push(`“${text.trim()}”`);
  }
  if (state !== 'all') {
    words.push(STATE_FILTERS.find(f => f.value === state)?.label ?? state);
  }
  return words.join(', ');
}

/** The Cancel menu's kinds, and a sweep's (its row's menu). */
type ListKind = 'selected' | 'waiting' | 'matching';
type BulkKind = ListKind | 'groupWaiting' | 'groupActive';

interface IBulkInputs {
  /** The jobs selected (and shown). */
  selected: IJob[];
  /** All the person's jobs waiting to start, shown or not. */
  waiting: IJob[];
  /** The jobs the filter shows; none when there is no filter. */
  matching: IJob[];
  filterWords: string;
  clearSelection: () => void;
}

const BULK_TITLES: Record<BulkKind, string> = {
  selected: 'Selected jobs',
  waiting: 'Waiting jobs',
  matching: 'Jobs matching the filter',
  groupWaiting: 'Waiting jobs of',
  groupActive: 'Jobs of'
};

/** "the 3 selected jobs" or "the selected job". */
function these(n: number, kind: string): string {
  return n === 1 ? `the ${kind} job` : `the ${n} ${kind} jobs`;
}

/**
 * What the confirmation asks, with how many jobs it will cancel; `filter`:
 * the filter in words, or the group's name for a group's jobs.
 */
export function bulkQuestion(
  kind: BulkKind,
  count: number,
  ended: number,
  filter: string
): { title: string; body: string } {
  const stopped =
    kind === 'waiting' || kind === 'groupWaiting'
      ? count === 1
        ? 'It will not run.'
        : 'They will not run.'
      : count === 1
        ? 'It will be stopped and cannot be resumed.'
        : 'They will be stopped and cannot be resumed.';
  const also =
    ended === 0
      ? ''
      : ended === 1
        ? ` 1 more ${kind === 'selected' ? 'selected' : 'matching'} job has already ended and is left as it is.`
        : ` ${ended} more ${kind === 'selected' ? 'selected' : 'matching'} jobs have already ended and are left as they are.`;
  switch (kind) {
    case 'groupWaiting':
      return {
        title: `Cancel the waiting jobs of ${filter}?`,
        body: `Cancel ${count === 1 ? 'the 1 job' : `the ${count} jobs`} of ${filter} waiting to start? ${stopped}`
      };
    case 'groupActive':
      return {
        title: `Cancel the jobs of ${filter}?`,
        body: `Cancel ${these(count, 'active')} of ${filter}? ${stopped}`
      };
    case 'selected':
      return {
        title: 'Cancel selected Flux jobs?',
        body: `Cancel ${these(count, 'selected')}? ${stopped}${also}`
      };
    case 'waiting':
      return {
        title: 'Cancel all waiting Flux jobs?',
        body: `Cancel ${count === 1 ? 'your 1 job' : `all ${count} of your jobs`} waiting to start? ${stopped}`
      };
    default:
      return {
        title: 'Cancel Flux jobs matching the filter?',
        body: `Cancel ${these(count, 'active')} matching the filter (${filter})? ${stopped}${also}`
      };
  }
}

/**
 * "Cancel selected", "Cancel all waiting" and "Cancel all matching the
 * filter": each asks once, saying how many, then cancels those jobs a few at
 * a time and says what became of each. Gives the menu's button, the status
 * (progress, then the result) and `run` for the selection bar's button.
 */
function useBulkCancel(
  model: JobsModel,
  inputs: IBulkInputs
): {
  menuButton: JSX.Element;
  status: JSX.Element | null;
  busy: boolean;
  run: (kind: BulkKind, group?: ISweepGroup) => Promise<void>;
} {
  const latest = React.useRef(inputs);
  latest.current = inputs;
  const busyNow = React.useRef(false);
  const [progress, setProgress] = React.useState<{
    done: number;
    total: number;
  } | null>(null);
  const [report, setReport] = React.useState<{
    title: string;
    results: ICancelResult[];
  } | null>(null);

  const run = React.useCallback(
    async (kind: BulkKind, group?: ISweepGroup) => {
      if (busyNow.current) {
        return;
      }
      const input = latest.current;
      // A group's: all its jobs the panel knows, shown or not.
      const ofGroup = group ? jobsOfSweep(model.jobs, group.id) : [];
      const chosen =
        kind === 'groupWaiting'
          ? ofGroup.filter(isWaiting)
          : kind === 'groupActive'
            ? ofGroup
            : input[kind];
      const targets = cancellable(chosen);
      if (targets.length === 0) {
        return;
      }
      const question = bulkQuestion(
        kind,
        targets.length,
        kind === 'selected' || kind === 'matching'
          ? chosen.length - targets.length
          : 0,
        group ? `“${group.group}”` : input.filterWords
      );
      busyNow.current = true;
      try {
        const answer = await showDialog({
          title: question.title,
          body: question.body,
          buttons: [
            Dialog.cancelButton({ label: 'Keep them' }),
            Dialog.warnButton({ label: `Cancel ${jobCount(targets.length)}` })
          ]
        });
        if (!answer.button.accept) {
          return;
        }
        setReport(null);
        setProgress({ done: 0, total: targets.length });
        // One summary of them all, not a notification per job ended.
        model.quietEnds(targets.map(j => j.id));
        const results = await cancelJobs(model.api, targets, {
          onProgress: (done, total) => setProgress({ done, total })
        });
        model.quietEnds(
          results.filter(r => r.outcome === 'refused').map(r => r.id),
          false
        );
        setReport({
          title: group
            ? `${BULK_TITLES[kind]} “${group.group}”`
            : BULK_TITLES[kind],
          results
        });
        if (kind === 'selected') {
          input.clearSelection();
        }
      } finally {
        busyNow.current = false;
        setProgress(null);
      }
      void model.refresh().catch(() => undefined);
    },
    [model]
  );
  const runNow = React.useRef(run);
  runNow.current = run;

  const menu = React.useMemo(() => {
    const commands = new CommandRegistry();
    const count = (kind: ListKind) => cancellable(latest.current[kind]).length;
    const add = (kind: ListKind, label: string, caption: string) =>
      commands.addCommand(kind, {
        label: () => `${label} (${count(kind)})`,
        caption: () =>
          kind === 'matching' && !latest.current.filterWords
            ? 'Filter the jobs first, by text or state'
            : caption,
        isEnabled: () => !busyNow.current && count(kind) > 0,
        execute: () => void runNow.current(kind)
      });
    add(
      'selected',
      'Cancel selected',
      'Cancel the jobs selected in the table (Shift/Ctrl-click, Space)'
    );
    add(
      'waiting',
      'Cancel all waiting',
      'Cancel all your jobs that have not started yet'
    );
    add(
      'matching',
      'Cancel all matching the filter',
      'Cancel all active jobs the filter shows'
    );
    const menu = new Menu({ commands });
    menu.addClass('jp-FluxHub-cancelMenu');
    for (const kind of ['selected', 'waiting', 'matching']) {
      menu.addItem({ command: kind });
    }
    return menu;
  }, []);
  React.useEffect(() => () => menu.dispose(), [menu]);

  const menuButton = (
    <button
      type="button"
      className="jp-FluxHub-cancelMenuButton"
      aria-haspopup="menu"
      aria-label="Cancel several jobs"
      title="Cancel several jobs: the selected ones, all waiting, or all the filter shows"
      disabled={progress !== null}
      onClick={event => {
        // Over the button (it is at the panel's foot), else under it.
        const box = event.currentTarget.getBoundingClientRect();
        menu.open(box.left, box.bottom);
        const height = menu.node.offsetHeight;
        if (height > 0 && box.top - height >= 0) {
          menu.close();
          menu.open(box.left, box.top - height, { forceY: true });
        }
        if (event.detail === 0) {
          // From the keyboard: onto the first item it can choose.
          menu.activateNextItem();
        }
      }}
    >
      <stopIcon.react tag="span" className="jp-FluxHub-cancelMenuIcon" />
      <span>Cancel</span>
      <caretDownIcon.react tag="span" className="jp-FluxHub-cancelMenuIcon" />
    </button>
  );

  let status: JSX.Element | null = null;
  if (progress) {
    status = (
      <div className="jp-FluxHub-bulkStatus" role="status">
        Cancelling… {progress.done} of {jobCount(progress.total)} done
      </div>
    );
  } else if (report) {
    const refused = report.results.some(r => r.outcome === 'refused');
    status = (
      <div
        className={'jp-FluxHub-bulkStatus' + (refused ? ' jp-mod-refused' : '')}
        role="status"
      >
        <div className="jp-FluxHub-bulkSummary">
          <span>
            {report.title}: {summarize(report.results)}.
          </span>
          <button
            type="button"
            className="jp-FluxHub-linkButton"
            aria-label="Dismiss the result"
            title="Dismiss"
            onClick={() => setReport(null)}
          >
            ✕
          </button>
        </div>
        <details open={refused}>
          <summary>Each job</summary>
          <ul aria-label="What became of each job">
            {report.results.map(r => (
              <li
                key={r.id}
                className={`jp-FluxHub-bulk-${r.outcome}`}
                data-job-id={r.id}
              >
                {resultLine(r)}
              </li>
            ))}
          </ul>
        </details>
      </div>
    );
  }
  return { menuButton, status, busy: progress !== null, run };
}

type GroupCommand =
  'groupWaiting' | 'groupActive' | 'rerunAll' | 'rerunUnsuccessful';

/**
 * A sweep's row's menu: cancel its waiting jobs, or all its active ones
 * (each the bulk cancel's one confirmation and result per job), or run it
 * again, all of it or the jobs that did not complete, as a new sweep of the
 * same group. Gives the menu's opener and the status of a run again.
 */
function useGroupActions(
  model: JobsModel,
  cancel: (kind: BulkKind, group: ISweepGroup) => Promise<void>
): {
  openMenu: (group: ISweepGroup, box: DOMRect, fromKeyboard: boolean) => void;
  status: JSX.Element | null;
} {
  const chosen = React.useRef<ISweepGroup | null>(null);
  const cancelNow = React.useRef(cancel);
  cancelNow.current = cancel;
  const [note, setNote] = React.useState<{
    text: string;
    refused: boolean;
  } | null>(null);

  const rerun = React.useCallback(
    async (group: ISweepGroup, which: 'all' | 'unsuccessful') => {
      const known = jobsOfSweep(model.jobs, group.id);
      const name = `“${group.group}”`;
      const body =
        which === 'all'
          ? `Submit the ${jobsText(group.total || known.length)} of ${name} again, as a new sweep of the same group?`
          : `Submit again the jobs of ${name} that did not complete (failed, cancelled, timed out or never submitted), as a new sweep of the same group?`;
      const answer = await showDialog({
        title: `Run ${name} again?`,
        body,
        buttons: [
          Dialog.cancelButton({ label: 'Keep it' }),
          Dialog.okButton({ label: 'Run again' })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
      try {
        const started = await model.api.rerunSweep(group.id, which);
        const count = started.count ?? started.total;
        setNote({
          text: `${name}: ${jobsText(count)} submitted again.`,
          refused: false
        });
      } catch (error) {
        setNote({
          text: `${name} was not run again: ${describe(error)}`,
          refused: true
        });
      }
      await sweepTracker(model).poke();
      void model.refresh().catch(() => undefined);
    },
    [model]
  );
  const rerunNow = React.useRef(rerun);
  rerunNow.current = rerun;

  const menu = React.useMemo(() => {
    const commands = new CommandRegistry();
    const jobs = () =>
      chosen.current ? jobsOfSweep(model.jobs, chosen.current.id) : [];
    const waiting = () => cancellable(jobs().filter(isWaiting)).length;
    const active = () => cancellable(jobs()).length;
    const add = (
      id: GroupCommand,
      label: () => string,
      caption: string,
      enabled: () => boolean
    ) =>
      commands.addCommand(id, {
        label,
        caption,
        isEnabled: enabled,
        execute: () => {
          const group = chosen.current;
          if (!group) {
            return;
          }
          if (id === 'rerunAll' || id === 'rerunUnsuccessful') {
            void rerunNow.current(
              group,
              id === 'rerunAll' ? 'all' : 'unsuccessful'
            );
          } else {
            void cancelNow.current(id, group);
          }
        }
      });
    add(
      'groupWaiting',
      () => `Cancel waiting (${waiting()})`,
      'Cancel the jobs of this group that have not started yet',
      () => waiting() > 0
    );
    add(
      'groupActive',
      () => `Cancel all (${active()})`,
      'Cancel every active job of this group, running or waiting',
      () => active() > 0
    );
    add(
      'rerunAll',
      () => 'Run again: all',
      'Submit all the jobs of this group again, as a new sweep',
      () => true
    );
    add(
      'rerunUnsuccessful',
      () => `Run again: unsuccessful (${unsuccessful(jobs()).length})`,
      'Submit again the jobs that failed, were cancelled, timed out or were never submitted',
      () => true
    );
    const menu = new Menu({ commands });
    menu.addClass('jp-FluxHub-groupMenu');
    menu.addItem({ command: 'groupWaiting' });
    menu.addItem({ command: 'groupActive' });
    menu.addItem({ type: 'separator' });
    menu.addItem({ command: 'rerunAll' });
    menu.addItem({ command: 'rerunUnsuccessful' });
    return menu;
  }, [model]);
  React.useEffect(() => () => menu.dispose(), [menu]);

  const openMenu = React.useCallback(
    (group: ISweepGroup, box: DOMRect, fromKeyboard: boolean) => {
      chosen.current = group;
      menu.open(box.left, box.bottom);
      if (fromKeyboard) {
        menu.activateNextItem();
      }
    },
    [menu]
  );

  const status = note && (
    <div
      className={
        'jp-FluxHub-bulkStatus' + (note.refused ? ' jp-mod-refused' : '')
      }
      role={note.refused ? 'alert' : 'status'}
    >
      <div className="jp-FluxHub-bulkSummary">
        <span>{note.text}</span>
        <button
          type="button"
          className="jp-FluxHub-linkButton"
          aria-label="Dismiss"
          title="Dismiss"
          onClick={() => setNote(null)}
        >
          ✕
        </button>
      </div>
    </div>
  );
  return { openMenu, status };
}

/**
 * A sweep the server is still submitting: "Submitting GROUP: 340 of 1,000",
 * a progress bar, and how many were not submitted (the first error in the
 * tooltip). Read from the server: it shows again when the panel is opened.
 */
export function SweepProgressBar(props: {
  sweep: ISweepProgress;
}): JSX.Element {
  const { sweep } = props;
  const id = `jp-FluxHub-sweepProgress-${sweep.sweep}`;
  const first = sweep.errors?.[0];
  return (
    <div className="jp-FluxHub-sweepProgress" data-sweep={sweep.sweep}>
      <span id={id} className="jp-FluxHub-sweepProgressText">
        Submitting {sweep.group}: {formatCount(sweep.submitted)} of{' '}
        {formatCount(sweep.total)}
      </span>
      <progress
        className="jp-FluxHub-sweepProgressBar"
        max={Math.max(1, sweep.total)}
        value={sweep.submitted}
        aria-labelledby={id}
      />
      {sweep.failed > 0 && (
        <span
          className="jp-FluxHub-sweepFailed"
          title={
            first ? `Job ${first.index + 1}: ${first.message}` : 'Not submitted'
          }
        >
          {formatCount(sweep.failed)} not submitted
        </span>
      )}
    </div>
  );
}

/** Over the table while jobs are selected: how many, cancel them, or select none. */
function SelectionBar(props: {
  count: number;
  cancellable: number;
  busy: boolean;
  onCancel: () => void;
  onClear: () => void;
}): JSX.Element {
  return (
    <div
      className="jp-FluxHub-selectionBar"
      role="toolbar"
      aria-label="Selected jobs"
    >
      <span className="jp-FluxHub-selectionCount">{props.count} selected</span>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-warn jp-FluxHub-smallButton"
        disabled={props.busy || props.cancellable === 0}
        title={
          props.cancellable === 0
            ? 'The selected jobs have all ended'
            : `Cancel ${jobCount(props.cancellable)}`
        }
        onClick={props.onCancel}
      >
        Cancel selected
      </button>
      <button
        type="button"
        className="jp-FluxHub-iconButton"
        aria-label="Clear the selection"
        title="Select none (Escape)"
        onClick={props.onClear}
      >
        <closeIcon.react tag="span" className="jp-FluxHub-cancelMenuIcon" />
      </button>
    </div>
  );
}

function ClusterHeader(props: {
  cluster: IClusterInfo | null;
  loading: boolean;
}): JSX.Element {
  const { cluster } = props;
  if (!cluster) {
    return (
      <div className="jp-FluxHub-header">
        {props.loading ? 'Connecting to the Flux cluster…' : 'No cluster'}
      </div>
    );
  }
  return (
    <div className="jp-FluxHub-header">
      <div>
        <span className="jp-FluxHub-label">Account</span>{' '}
        <span className="jp-FluxHub-account">{cluster.account}</span>
      </div>
      <div title={cluster.url}>
        <span className="jp-FluxHub-label">Cluster</span>{' '}
        <span className="jp-FluxHub-cluster">{hostOf(cluster.url)}</span>
      </div>
      {cluster.warning && (
        <div className="jp-FluxHub-warning" role="note">
          <strong>Not private.</strong> {cluster.warning}
        </div>
      )}
    </div>
  );
}

/** The reader's numbers are shown as of when it read them, once that is this old (s). */
const STALE_AFTER = 60;

/**
 * The cluster at a glance, under the header: cores (and GPUs) free of all,
 * everyone's jobs running and waiting, and the nodes up; only the nodes up
 * when the server asks the cluster directly. Each count says in its tooltip
 * what it is; the whole strip when it was read.
 */
export function ClusterStrip(props: {
  cluster: IClusterInfo;
  now?: Date;
}): JSX.Element {
  const { cluster } = props;
  const items = stripItems(cluster);
  const now = props.now ?? new Date();
  const asOf =
    cluster.reachable && typeof cluster.as_of === 'number' && cluster.as_of > 0
      ? cluster.as_of
      : null;
  const stale = asOf !== null && now.getTime() / 1000 - asOf > STALE_AFTER;
  const read =
    asOf === null
      ? undefined
      : `The cluster as read at ${formatTime(asOf, now)}`;
  const groups = (['resources', 'queue'] as const)
    .map(group => items.filter(item => item.group === group))
    .filter(group => group.length > 0);
  return (
    <div
      className="jp-FluxHub-strip"
      role="group"
      aria-label="The cluster now"
      title={read}
    >
      {groups.map(group => (
        <div key={group[0].group} className="jp-FluxHub-stripGroup">
          {group.map(item => (
            <StripItem key={item.key} item={item} />
          ))}
        </div>
      ))}
      {stale && (
        <span className="jp-FluxHub-stat jp-FluxHub-stat-asOf" title={read}>
          <span className="jp-FluxHub-label">
            as of {formatTime(asOf!, now)}
          </span>
        </span>
      )}
    </div>
  );
}

function StripItem(props: { item: IStripItem }): JSX.Element {
  const { item } = props;
  const value = (
    <span
      className={
        'jp-FluxHub-statValue' +
        (item.key === 'nodes' ? ' jp-FluxHub-nodes' : '')
      }
    >
      {item.value}
    </span>
  );
  return (
    <span
      className={`jp-FluxHub-stat jp-FluxHub-stat-${item.key}`}
      title={item.title}
    >
      {item.valueFirst ? (
        value
      ) : (
        <>
          <span className="jp-FluxHub-label">{item.label}</span> {value}
        </>
      )}
      {item.rest && (
        <>
          {' '}
          <span className="jp-FluxHub-label">{item.rest}</span>
        </>
      )}
      {item.warn && <span className="jp-FluxHub-statWarn">{item.warn}</span>}
    </span>
  );
}

function Banner(props: { error: string; unreachable: boolean }): JSX.Element {
  return (
    <div className="jp-FluxHub-banner" role="alert">
      <strong>
        {props.unreachable
          ? 'The Flux cluster is unreachable.'
          : 'Jobs cannot be shown.'}
      </strong>{' '}
      <span className="jp-FluxHub-bannerMessage">{props.error}</span>{' '}
      <span className="jp-FluxHub-bannerRetry">Retrying on its own.</span>
    </div>
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
