/**
 * The sidebar's History view: every job the person submitted through
 * flux-hub (GET history), kept on their side, so also the jobs their cluster
 * no longer knows ("cluster gone"). Searchable by text, state and origin,
 * newest first, 50 at a time ("More"). A row, chosen with the mouse or with
 * the arrow keys and Enter, shows its actions: Run again, Edit and run, and
 * Open the origin (the notebook, at its cell, or the file it came from).
 */
import * as React from 'react';

import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import { ISignal } from '@lumino/signaling';

import {
  HistoryOriginKind,
  IHistoryPage,
  IHistoryQuery,
  IHistoryRecord
} from '../api';
import { formatF58, JobId } from '../jobid';
import { formatDuration } from '../jobs';
import { describe } from '../model';

/** Records asked for at a time. */
export const PAGE_SIZE = 50;
/** The most records a refresh reads again at once (the server's limit). */
const MAX_PAGE = 500;
/** How long (ms) after a Run again the rows are read once more, for its record. */
const RECORDED_DELAY = 1000;
/** Typing in the search box waits this long (ms) for the next key before asking. */
export const SEARCH_DELAY = 300;

export const HISTORY_STATES: { value: string; label: string }[] = [
  { value: '', label: 'All states' },
  { value: 'ACTIVE', label: 'Active' },
  { value: 'COMPLETED', label: 'Completed' },
  { value: 'FAILED', label: 'Failed' },
  { value: 'CANCELED', label: 'Canceled' },
  { value: 'TIMEOUT', label: 'Timeout' },
  { value: 'GONE', label: 'Cluster gone' }
];

export const HISTORY_ORIGINS: {
  value: HistoryOriginKind | '';
  label: string;
}[] = [
  { value: '', label: 'All origins' },
  { value: 'panel', label: 'Panel' },
  { value: 'file', label: 'File' },
  { value: 'notebook', label: 'Notebook' },
  { value: 'magic', label: '%%flux' },
  { value: 'cli', label: 'Terminal' }
];

/** When the recorded jobs were submitted: a span back from now, or from a day on. */
export const HISTORY_WHEN: { value: string; label: string }[] = [
  { value: '', label: 'Any time' },
  { value: 'hour', label: 'Last hour' },
  { value: 'today', label: 'Today' },
  { value: 'week', label: 'Last 7 days' },
  { value: 'month', label: 'Last 30 days' },
  { value: 'day', label: 'Since a day…' }
];

/**
 * The `since` of a When choice (unix seconds), `day` the chosen day (YYYY-MM-DD, local
 * time) for "Since a day…"; undefined for any time (or no day chosen yet).
 */
export function sinceOf(
  when: string,
  day: string,
  now: Date = new Date()
): number | undefined {
  const seconds = now.getTime() / 1000;
  switch (when) {
    case 'hour':
      return seconds - 3600;
    case 'today':
      return (
        new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime() /
        1000
      );
    case 'week':
      return seconds - 7 * 86400;
    case 'month':
      return seconds - 30 * 86400;
    case 'day': {
      const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
      if (!parts) {
        return undefined;
      }
      const [year, month, date] = parts.slice(1).map(Number);
      return new Date(year, month - 1, date).getTime() / 1000;
    }
    default:
      return undefined;
  }
}

export interface IHistoryViewProps {
  /** A page of the history (FluxHubAPI.history). */
  history: (query: IHistoryQuery) => Promise<IHistoryPage>;
  /**
   * Run the record's job again as it was sent: the new job's id, or null
   * when it could not be run as it was and the form was opened instead.
   * Rejects with the reason when neither happened.
   */
  onRunAgain: (record: IHistoryRecord) => Promise<JobId | null>;
  /** Open the submit form filled with the record's request. */
  onEditAndRun: (record: IHistoryRecord) => void;
  /** Open the notebook or file the job came from (see originTarget). */
  onOpenOrigin: (record: IHistoryRecord) => unknown;
  /** Fires when the history may have changed (a job submitted or ended): the rows shown are read again. */
  changed?: ISignal<any, any> | null;
  /** The Jupyter server's root folder (absolute), for notebooks recorded by their full path. */
  serverRoot?: string;
}

/** A record's key: the same id may be on two clusters. */
function keyOf(record: IHistoryRecord): string {
  return `${record.cluster ?? ''}\u0000${record.id}`;
}

/** The name to show: the one given, else what Flux would show (the command's first word). */
export function nameOf(record: IHistoryRecord): string {
  if (record.name) {
    return record.name;
  }
  const first = (record.command || '').trim().split(/\s+/)[0] ?? '';
  return first ? PathExt.basename(first) : 'job';
}

/** A sweep's job: its group and place in it (the record's `sweep`), or null. */
export function sweepOf(
  record: IHistoryRecord
): { id: string; group: string; index: number; total: number } | null {
  const sweep = record.sweep as Record<string, unknown> | null | undefined;
  if (!sweep || typeof sweep !== 'object' || typeof sweep.group !== 'string') {
    return null;
  }
  const count = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) ? value : 0;
  return {
    id: String(sweep.id ?? ''),
    group: sweep.group,
    index: count(sweep.index),
    total: count(sweep.total)
  };
}

/** "GROUP 3/20": a sweep's job's group and place; "" for another job. */
export function groupText(record: IHistoryRecord): string {
  const sweep = sweepOf(record);
  if (!sweep) {
    return '';
  }
  return sweep.index && sweep.total
    ? `${sweep.group} ${sweep.index}/${sweep.total}`
    : sweep.group;
}

/**
 * The name beside a sweep's group: none when it is the sweep's own name for
 * the job ("GROUP [3/20]", which the group already says).
 */
function nameBesideGroup(record: IHistoryRecord, name: string): string {
  const sweep = sweepOf(record);
  if (!sweep) {
    return name;
  }
  return name === `${sweep.group} [${sweep.index}/${sweep.total}]` ? '' : name;
}

/** The status as shown: the result (COMPLETED, ...), ACTIVE, or "cluster gone". */
export function statusText(record: IHistoryRecord): string {
  if (record.status === 'GONE') {
    return 'cluster gone';
  }
  return record.status || 'ACTIVE';
}

function statusTitle(record: IHistoryRecord): string {
  if (record.status === 'GONE') {
    return 'Its cluster no longer knows this job, and its end was not seen.';
  }
  if (record.status === 'ACTIVE') {
    return 'Not ended when last seen.';
  }
  const code =
    record.exit_code === null || record.exit_code === undefined
      ? ''
      : `, exit code ${record.exit_code}`;
  return `${record.status}${code}`;
}

/** Where the job came from, short: "analysis.ipynb [3]", "run.py", "terminal", "panel". */
export function originText(record: IHistoryRecord): string {
  const { kind, path, cell } = record.origin ?? { kind: 'unknown' };
  const base = path ? PathExt.basename(path) : '';
  switch (kind) {
    case 'panel':
      return 'panel';
    case 'cli':
      return 'terminal';
    case 'file':
      return base || 'file';
    case 'notebook':
      return base || 'notebook';
    case 'magic':
      return `${base || 'notebook'}${cell ? ` [${cell}]` : ''}`;
    default:
      return 'imported';
  }
}

function originTitle(record: IHistoryRecord): string {
  const { kind, path, cell, command } = record.origin ?? { kind: 'unknown' };
  switch (kind) {
    case 'panel':
      return "Submitted from the panel's form";
    case 'cli':
      return command ? `From a terminal: ${command}` : 'From a terminal';
    case 'file':
      return `The file ${path ?? ''}`.trim();
    case 'notebook':
      return `From the notebook ${path ?? ''}`.trim();
    case 'magic':
      return `%%flux in ${path ?? 'a notebook'}${cell ? `, cell [${cell}]` : ''}`;
    default:
      return 'Recorded before flux-hub kept where jobs came from';
  }
}

/**
 * What "Open the origin" opens: the notebook or file by its path as
 * JupyterLab knows it (relative to the server's root) and, for a %%flux
 * job, the cell's execution count; or why nothing can be opened.
 */
export function originTarget(
  record: IHistoryRecord,
  serverRoot: string = PageConfig.getOption('serverRoot')
): { path: string; cell: number | null } | { reason: string } {
  const { kind, path, cell } = record.origin ?? { kind: 'unknown' };
  switch (kind) {
    case 'panel':
      return {
        reason:
          "It was submitted from the panel's form: there is no file to open."
      };
    case 'cli':
      return {
        reason: 'It was submitted from a terminal: there is no file to open.'
      };
    case 'file':
    case 'notebook':
    case 'magic':
      break;
    default:
      return { reason: 'Where this job came from was not recorded.' };
  }
  const what = kind === 'file' ? 'file' : 'notebook';
  if (!path) {
    return { reason: `The ${what}'s path was not recorded.` };
  }
  // The server's word where it gives one (it knows its root), else the path read here
  const browserPath = record.origin.browser_path;
  const labPath =
    typeof browserPath === 'string' ? browserPath : labPathOf(path, serverRoot);
  if (labPath === null) {
    return {
      reason: `The ${what} ${path} is outside the folders JupyterLab shows.`
    };
  }
  const count = kind === 'magic' && cell ? Number(cell) : NaN;
  return { path: labPath, cell: Number.isInteger(count) ? count : null };
}

/** A path as the file browser knows it: relative paths are; absolute ones under the root become so. */
function labPathOf(path: string, serverRoot: string): string | null {
  if (!path.startsWith('/')) {
    return path;
  }
  if (!serverRoot || !serverRoot.startsWith('/')) {
    return null;
  }
  const root = serverRoot.replace(/\/+$/, '');
  if (path === root) {
    return '';
  }
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : null;
}

/** Why a record cannot be run again or edited, or null when it can. */
function noRequest(record: IHistoryRecord): string | null {
  return record.form
    ? null
    : `Job ${formatF58(record.id)} was recorded before flux-hub kept requests: submit it anew.`;
}

const fullDate = (seconds: number) => new Date(seconds * 1000).toLocaleString();
const shortDate = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  year: 'numeric'
});

/** A time in the past, as a person says it: "just now", "5 min ago", "3 h ago", "2 d ago", a date. */
export function relativeTime(
  seconds: number | null | undefined,
  now = Date.now()
): string {
  if (seconds === null || seconds === undefined) {
    return '';
  }
  const ago = Math.max(0, now / 1000 - seconds);
  if (ago < 60) {
    return 'just now';
  }
  if (ago < 3600) {
    return `${Math.floor(ago / 60)} min ago`;
  }
  if (ago < 86400) {
    return `${Math.floor(ago / 3600)} h ago`;
  }
  if (ago < 7 * 86400) {
    return `${Math.floor(ago / 86400)} d ago`;
  }
  return shortDate.format(new Date(seconds * 1000));
}

interface IListState {
  records: IHistoryRecord[];
  more: boolean;
  loading: boolean;
  error: string | null;
}

/** The History view: search, filters, the records, and the selected one's actions. */
export function HistoryView(props: IHistoryViewProps): JSX.Element {
  const { history, changed } = props;
  const [text, setText] = React.useState('');
  const [q, setQ] = React.useState('');
  const [state, setState] = React.useState('');
  const [origin, setOrigin] = React.useState('');
  const [when, setWhen] = React.useState('');
  const [day, setDay] = React.useState('');
  const [list, setList] = React.useState<IListState>({
    records: [],
    more: false,
    loading: true,
    error: null
  });
  const [selected, setSelected] = React.useState<string | null>(null);
  const [focused, setFocused] = React.useState<string | null>(null);
  const [notice, setNotice] = React.useState<string>('');
  // Only the answer to the latest question is shown.
  const asked = React.useRef(0);
  const shown = React.useRef(list);
  shown.current = list;

  const query = React.useMemo(() => {
    const base: IHistoryQuery = {};
    if (q) {
      base.q = q;
    }
    if (state) {
      base.state = state;
    }
    if (origin) {
      base.origin = origin as HistoryOriginKind;
    }
    const since = sinceOf(when, day);
    if (since !== undefined) {
      base.since = Math.floor(since);
    }
    return base;
  }, [q, state, origin, when, day]);

  /** Read the first `limit` records again (replacing), or the next page (appending). */
  const load = React.useCallback(
    async (mode: 'first' | 'again' | 'more') => {
      const ticket = ++asked.current;
      const current = shown.current.records;
      const offset = mode === 'more' ? current.length : 0;
      const limit =
        mode === 'again'
          ? Math.min(MAX_PAGE, Math.max(PAGE_SIZE, current.length))
          : PAGE_SIZE;
      if (mode !== 'again') {
        setList(old => ({ ...old, loading: true, error: null }));
      }
      try {
        const page = await history({ ...query, limit, offset });
        if (ticket !== asked.current) {
          return;
        }
        setList(old => {
          let records = page.records;
          if (mode === 'more') {
            const seen = new Set(old.records.map(keyOf));
            records = old.records.concat(
              page.records.filter(r => !seen.has(keyOf(r)))
            );
          }
          return { records, more: page.more, loading: false, error: null };
        });
      } catch (error) {
        if (ticket !== asked.current) {
          return;
        }
        setList(old => ({ ...old, loading: false, error: describe(error) }));
      }
    },
    [history, query]
  );

  React.useEffect(() => {
    void load('first');
  }, [load]);

  // The search box asks once typing pauses.
  React.useEffect(() => {
    const trimmed = text.trim();
    if (trimmed === q) {
      return;
    }
    const timer = setTimeout(() => setQ(trimmed), SEARCH_DELAY);
    return () => clearTimeout(timer);
  }, [text, q]);

  React.useEffect(() => {
    if (!changed) {
      return;
    }
    const again = () => void load('again');
    changed.connect(again);
    return () => {
      changed.disconnect(again);
    };
  }, [changed, load]);

  const { records } = list;
  const listNode = React.useRef<HTMLUListElement>(null);
  const focusRow = (key: string) => {
    setFocused(key);
    const index = records.findIndex(r => keyOf(r) === key);
    const node = listNode.current?.children[index] as HTMLElement | undefined;
    node?.focus();
  };

  const onRowKey = (event: React.KeyboardEvent, record: IHistoryRecord) => {
    if (event.target !== event.currentTarget) {
      return; // a key for one of the row's buttons
    }
    const key = keyOf(record);
    const index = records.findIndex(r => keyOf(r) === key);
    let next = -1;
    switch (event.key) {
      case 'ArrowDown':
        next = Math.min(records.length - 1, index + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, index - 1);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = records.length - 1;
        break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        setSelected(key);
        return;
      case 'Escape':
        if (selected === key) {
          event.preventDefault();
          setSelected(null);
        }
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next >= 0) {
      focusRow(keyOf(records[next]));
    }
  };

  const runAgain = async (record: IHistoryRecord) => {
    setNotice(`Submitting ${nameOf(record)} again…`);
    try {
      const id = await props.onRunAgain(record);
      setNotice(
        id === null
          ? ''
          : `Submitted ${nameOf(record)} again as ${formatF58(id)}.`
      );
      if (id !== null) {
        // The server records the new job as it answers, or just after.
        void load('again');
        setTimeout(() => void load('again'), RECORDED_DELAY);
      }
    } catch (error) {
      setNotice('');
      setList(old => ({ ...old, error: describe(error) }));
    }
  };

  // The rows' handlers, the same functions at every render (calling the latest code), so a
  // row is drawn again only when its own record, selection or tab stop changes: a search
  // that finds the same rows, a keystroke or "loading" redraws none of them.
  const latest = React.useRef({ onRowKey, runAgain, props });
  latest.current = { onRowKey, runAgain, props };
  const actions = React.useMemo<IRowActions>(
    () => ({
      select: key => {
        setFocused(key);
        setSelected(key);
      },
      focus: key => setFocused(key),
      keyDown: (event, record) => latest.current.onRowKey(event, record),
      runAgain: record => void latest.current.runAgain(record),
      editAndRun: record => latest.current.props.onEditAndRun(record),
      openOrigin: record => void latest.current.props.onOpenOrigin(record)
    }),
    []
  );

  // The row that takes the focus on Tab: the last one focused, else the first.
  const tabStop =
    focused !== null && records.some(r => keyOf(r) === focused)
      ? focused
      : records.length
        ? keyOf(records[0])
        : null;
  const filtered = !!(q || state || origin || query.since !== undefined);

  let footer: string;
  if (list.loading) {
    footer = 'Loading history…';
  } else if (records.length === 0) {
    footer = filtered ? 'No recorded job matches.' : 'No jobs recorded yet.';
  } else {
    const count = `${records.length} job${records.length === 1 ? '' : 's'}`;
    footer = list.more ? `${count} shown; more below` : count;
  }

  return (
    <div className="jp-FluxHub-history">
      <div className="jp-FluxHub-filters">
        <input
          type="search"
          className="jp-mod-styled jp-FluxHub-filterText jp-FluxHub-historySearch"
          placeholder="Search history"
          title="Search the names (a sweep’s jobs by their group too) and commands of every job you submitted"
          aria-label="Search history"
          value={text}
          onChange={event => setText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              setQ(text.trim());
            }
          }}
        />
        <select
          className="jp-mod-styled jp-FluxHub-filterState"
          aria-label="Show recorded jobs in state"
          value={state}
          onChange={event => setState(event.target.value)}
        >
          {HISTORY_STATES.map(s => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
        <select
          className="jp-mod-styled jp-FluxHub-filterState jp-FluxHub-filterOrigin"
          aria-label="Show recorded jobs from"
          value={origin}
          onChange={event => setOrigin(event.target.value)}
        >
          {HISTORY_ORIGINS.map(o => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
        <select
          className="jp-mod-styled jp-FluxHub-filterState jp-FluxHub-filterWhen"
          aria-label="Show recorded jobs submitted"
          value={when}
          onChange={event => setWhen(event.target.value)}
        >
          {HISTORY_WHEN.map(w => (
            <option key={w.value} value={w.value}>
              {w.label}
            </option>
          ))}
        </select>
        {when === 'day' && (
          <input
            type="date"
            className="jp-mod-styled jp-FluxHub-filterDay"
            aria-label="Submitted on or after the day"
            value={day}
            onChange={event => setDay(event.target.value)}
          />
        )}
      </div>
      {list.error && (
        <div className="jp-FluxHub-banner" role="alert">
          <strong>The history cannot be shown.</strong>{' '}
          <span className="jp-FluxHub-bannerMessage">{list.error}</span>
        </div>
      )}
      <div className="jp-FluxHub-historyScroller">
        <ul
          className="jp-FluxHub-historyList"
          aria-label="Job history: arrow keys move, Enter shows a job's actions"
          ref={listNode}
        >
          {records.map(record => {
            const key = keyOf(record);
            return (
              <HistoryRow
                key={key}
                record={record}
                selected={selected === key}
                tabStop={tabStop === key}
                serverRoot={props.serverRoot}
                actions={actions}
              />
            );
          })}
        </ul>
        {list.more && (
          <button
            type="button"
            className="jp-mod-styled jp-FluxHub-historyMore"
            disabled={list.loading}
            onClick={() => void load('more')}
          >
            More
          </button>
        )}
      </div>
      <div className="jp-FluxHub-footer" aria-live="polite">
        {footer}
        {notice && <div className="jp-FluxHub-historyNotice">{notice}</div>}
      </div>
    </div>
  );
}

/** What a row does, the same object for every row and render (see HistoryView). */
interface IRowActions {
  select: (key: string) => void;
  focus: (key: string) => void;
  keyDown: (event: React.KeyboardEvent, record: IHistoryRecord) => void;
  runAgain: (record: IHistoryRecord) => void;
  editAndRun: (record: IHistoryRecord) => void;
  openOrigin: (record: IHistoryRecord) => void;
}

interface IHistoryRowProps {
  record: IHistoryRecord;
  selected: boolean;
  tabStop: boolean;
  serverRoot?: string;
  actions: IRowActions;
}

/** One recorded job: name (whole) and status; id, when and where from; the command. */
const HistoryRow = React.memo(function HistoryRow(
  props: IHistoryRowProps
): JSX.Element {
  const { record, selected, actions } = props;
  const name = nameOf(record);
  const status = statusText(record);
  const statusClass =
    record.status === 'ACTIVE'
      ? 'run'
      : record.status === 'GONE'
        ? 'gone'
        : (record.status || '').toLowerCase();
  const f58 = formatF58(record.id);
  const group = groupText(record);
  const shownName = group ? nameBesideGroup(record, name) : name;
  return (
    <li
      className={
        `jp-FluxHub-historyRow jp-FluxHub-status-${statusClass}` +
        (selected ? ' jp-mod-selected' : '')
      }
      data-id={record.id}
      tabIndex={props.tabStop ? 0 : -1}
      aria-label={`${name}, ${group ? `group ${group}, ` : ''}${f58}, ${status}, ${originText(record)}${
        selected ? ', actions shown' : ''
      }`}
      onClick={() => actions.select(keyOf(record))}
      onFocus={event => {
        if (event.target === event.currentTarget) {
          actions.focus(keyOf(record));
        }
      }}
      onKeyDown={event => actions.keyDown(event, record)}
    >
      <div className="jp-FluxHub-historyLine">
        <span className="jp-FluxHub-historyName">
          {group && (
            <span
              className="jp-FluxHub-historyGroup"
              title={`Job ${sweepOf(record)!.index} of the ${sweepOf(record)!.total} of the sweep “${sweepOf(record)!.group}”`}
            >
              {group}
            </span>
          )}
          {group && shownName ? ' ' : ''}
          {shownName}
        </span>
        <span
          className={`jp-FluxHub-historyState jp-FluxHub-status-${statusClass}`}
          title={statusTitle(record)}
        >
          {status}
        </span>
      </div>
      <div className="jp-FluxHub-historyLine jp-FluxHub-historyMeta">
        <span className="jp-FluxHub-historyId" title={`Job ID ${record.id}`}>
          {f58}
        </span>
        <span
          className="jp-FluxHub-historySubmitted"
          title={record.submitted ? fullDate(record.submitted) : 'Not known'}
        >
          {relativeTime(record.submitted)}
        </span>
        <span className="jp-FluxHub-historyOrigin" title={originTitle(record)}>
          {originText(record)}
        </span>
      </div>
      <div
        className={
          'jp-FluxHub-historyCommand' + (selected ? ' jp-mod-whole' : '')
        }
        title={record.command}
      >
        {record.command}
      </div>
      {selected && <HistoryDetails record={record} />}
      {selected && (
        <HistoryActions
          record={record}
          name={name}
          serverRoot={props.serverRoot}
          onRunAgain={() => actions.runAgain(record)}
          onEditAndRun={() => actions.editAndRun(record)}
          onOpenOrigin={() => actions.openOrigin(record)}
        />
      )}
    </li>
  );
});

/** More of the selected job: when it ran, where, how it ended, what it ran again. */
function HistoryDetails(props: { record: IHistoryRecord }): JSX.Element {
  const { record } = props;
  const lines: [string, string][] = [];
  if (record.submitted) {
    lines.push(['Submitted', fullDate(record.submitted)]);
  }
  const ended: string[] = [];
  if (record.ended) {
    ended.push(fullDate(record.ended));
  }
  if (record.runtime !== null && record.runtime !== undefined) {
    ended.push(`ran ${formatDuration(record.runtime)}`);
  }
  if (record.exit_code !== null && record.exit_code !== undefined) {
    ended.push(`exit code ${record.exit_code}`);
  }
  if (ended.length) {
    lines.push(['Ended', ended.join(', ')]);
  }
  const workdir = record.lab_workdir || record.workdir;
  if (workdir) {
    lines.push(['Folder', workdir]);
  }
  if (record.rerun_of) {
    lines.push(['Runs again', formatF58(record.rerun_of)]);
  }
  return (
    <dl className="jp-FluxHub-historyDetails">
      {lines.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt> <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function HistoryActions(props: {
  record: IHistoryRecord;
  name: string;
  serverRoot?: string;
  onRunAgain: () => void;
  onEditAndRun: () => void;
  onOpenOrigin: () => void;
}): JSX.Element {
  const { record } = props;
  const missing = noRequest(record);
  const target = originTarget(record, props.serverRoot);
  const why = 'reason' in target ? target.reason : null;
  const envNote =
    record.env_values_kept === false
      ? ' Its environment values were not kept: the form asks for them.'
      : '';
  // A click on a button is not a click on the row (which would close the actions).
  const stop = (run: () => void) => (event: React.MouseEvent) => {
    event.stopPropagation();
    run();
  };
  return (
    <div
      className="jp-FluxHub-historyActions"
      role="group"
      aria-label={`Actions for ${props.name}`}
    >
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept"
        disabled={!!missing}
        title={missing ?? `Submit the same request again.${envNote}`}
        onClick={stop(props.onRunAgain)}
      >
        Run again
      </button>
      <button
        type="button"
        className="jp-mod-styled jp-mod-reject"
        disabled={!!missing}
        title={missing ?? 'Open the submit form filled with this request'}
        onClick={stop(props.onEditAndRun)}
      >
        Edit and run
      </button>
      <button
        type="button"
        className="jp-mod-styled jp-mod-reject"
        disabled={!!why}
        title={why ?? `Open ${'path' in target ? target.path : ''}`}
        onClick={stop(props.onOpenOrigin)}
      >
        Open the origin
      </button>
    </div>
  );
}
