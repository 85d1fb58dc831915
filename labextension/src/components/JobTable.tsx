import * as React from 'react';

import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';

import { IJob } from '../api';
import { JobId } from '../jobid';
import {
  COLUMN_WIDTHS,
  COLUMNS,
  ColumnId,
  IColumn,
  ISortState,
  statusOf
} from '../jobs';
import {
  formatCount,
  groupKey,
  groupRows,
  ISweepGroup,
  itemJobs,
  itemKey,
  jobsText,
  stateCounts,
  TableItem
} from '../sweeps';
import { shortWaiting, waitingTooltip } from '../waiting';

/** Row height in pixels; fixed so that the visible window is a simple division. */
export const ROW_HEIGHT = 26;
/** A row with the ID under the name: two lines. The header stays ROW_HEIGHT. */
export const TWO_LINE_ROW_HEIGHT = 34;
/** Rows rendered above and below the visible ones, so fast scrolling shows no gaps. */
const OVERSCAN = 10;
/** Assumed viewport before the first layout (and in layout-less test DOMs). */
const FALLBACK_HEIGHT = 600;
/** The checkbox column's width in pixels, and about that in characters (for columnsForWidth). */
export const CHECK_COLUMN_PX = 24;
export const CHECK_COLUMN_CH = 3;

/** What a click or key did to the row, as the selection reads it. */
interface IGesture {
  /** Shift: select from the anchor to this row. */
  extend: boolean;
  /** Ctrl/Cmd (or the row's checkbox): add or remove this row alone. */
  toggle: boolean;
}

export interface IJobTableProps {
  jobs: IJob[];
  columns: ColumnId[];
  /** Each job's ID under its name, smaller, for want of room for an ID column. */
  idUnderName?: boolean;
  sort: ISortState;
  /**
   * The current row: the one the arrow keys move and Enter opens; a job's id,
   * or a sweep's group row's key (see groupKey).
   */
  selected: string | null;
  onSort: (column: ColumnId) => void;
  onSelect: (key: string) => void;
  onOpen: (id: JobId) => void;
  /**
   * The jobs selected for an action (Shift/Ctrl-click, the checkboxes, Space,
   * Shift+arrows, Ctrl/Cmd+A); with `onChecked`, the table selects several.
   */
  checked?: ReadonlySet<JobId>;
  onChecked?: (ids: ReadonlySet<JobId>) => void;
  /** A checkbox on each row (and "all shown" in the header). */
  showChecks?: boolean;
  /**
   * Open a sweep's actions menu at `box` (its row's Actions button);
   * `fromKeyboard`: onto its first item. Without it, no Actions button.
   */
  onGroupMenu?: (
    group: ISweepGroup,
    box: DOMRect,
    fromKeyboard: boolean
  ) => void;
}

const NONE: ReadonlySet<JobId> = new Set();
let tables = 0;

/**
 * The jobs table. Only the rows in view (plus a margin) are in the DOM, so a
 * refresh of thousands of jobs touches a few dozen rows; spacer rows above and
 * below keep the scrollbar true to the whole list.
 */
export function JobTable(props: IJobTableProps): JSX.Element {
  const { jobs, selected, onSelect, onOpen } = props;
  const idUnderName = !!props.idUnderName;
  const rowHeight = idUnderName ? TWO_LINE_ROW_HEIGHT : ROW_HEIGHT;
  const scroller = React.useRef<HTMLDivElement>(null);
  // The selection as the keyboard last left it: a key pressed before React has
  // rendered the previous one (ArrowDown, then Enter at once) must see it.
  const current = React.useRef<string | null>(selected);
  current.current = selected;
  const checked = props.checked ?? NONE;
  const showChecks = !!props.showChecks && !!props.onChecked;
  // The sweeps whose jobs are shown under their group's row.
  const [expanded, setExpanded] = React.useState<ReadonlySet<string>>(NONE);
  const items = React.useMemo(
    () => groupRows(jobs, expanded),
    [jobs, expanded]
  );
  // The latest props and rows, for the handlers below: they stay the same
  // functions, so rows that did not change are not re-rendered.
  const latest = React.useRef({ props, items });
  latest.current = { props, items };
  const checkedNow = React.useRef(checked);
  checkedNow.current = checked;
  // Where a Shift-selection starts, and what was selected before it: Shift
  // selects that plus the rows from the anchor to the one reached.
  const anchor = React.useRef<{ id: string; base: ReadonlySet<JobId> } | null>(
    null
  );
  const setChecked = React.useCallback((next: ReadonlySet<JobId>) => {
    checkedNow.current = next;
    latest.current.props.onChecked?.(next);
  }, []);
  const toggleGroup = React.useCallback((id: string, open?: boolean) => {
    setExpanded(old => {
      const now = open ?? !old.has(id);
      if (now === old.has(id)) {
        return old;
      }
      const next = new Set(old);
      if (now) {
        next.add(id);
      } else {
        next.delete(id);
      }
      return next;
    });
  }, []);
  const gesture = React.useCallback(
    (key: string, how: IGesture) => {
      const { props: now, items: rows } = latest.current;
      if (!now.onChecked) {
        return;
      }
      const before = checkedNow.current;
      if (how.extend) {
        const start =
          anchor.current && rows.some(r => itemKey(r) === anchor.current!.id)
            ? anchor.current
            : { id: current.current ?? key, base: before };
        anchor.current = start;
        const next = new Set(start.base);
        for (const each of rangeOfItems(rows, start.id, key)) {
          next.add(each);
        }
        setChecked(next);
      } else if (how.toggle) {
        // A group's row: all its jobs shown, or none of them.
        const ids = jobsOfKey(rows, key).map(j => j.id);
        const next = new Set(before);
        const all = ids.length > 0 && ids.every(id => next.has(id));
        for (const id of ids) {
          if (all) {
            next.delete(id);
          } else {
            next.add(id);
          }
        }
        anchor.current = { id: key, base: next };
        setChecked(next);
      } else {
        anchor.current = { id: key, base: before };
      }
    },
    [setChecked]
  );
  const onRowClick = React.useCallback(
    (key: string, event: React.MouseEvent, fromCheckbox: boolean) => {
      const { onSelect, onOpen, onChecked } = latest.current.props;
      const extend = event.shiftKey;
      const toggle = fromCheckbox || event.ctrlKey || event.metaKey;
      current.current = key;
      onSelect(key);
      if (onChecked && (extend || toggle)) {
        gesture(key, { extend, toggle });
        return;
      }
      gesture(key, { extend: false, toggle: false });
      const item = latest.current.items.find(r => itemKey(r) === key);
      if (item?.kind === 'group') {
        toggleGroup(item.group.id);
      } else {
        onOpen(key);
      }
    },
    [gesture, toggleGroup]
  );
  const onGroupMenu = React.useCallback(
    (group: ISweepGroup, box: DOMRect, fromKeyboard: boolean) => {
      const key = groupKey(group.id);
      current.current = key;
      latest.current.props.onSelect(key);
      latest.current.props.onGroupMenu?.(group, box, fromKeyboard);
    },
    []
  );
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(FALLBACK_HEIGHT);

  React.useEffect(() => {
    const node = scroller.current;
    if (!node || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => {
      setHeight(node.clientHeight || FALLBACK_HEIGHT);
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const columns = props.columns
    .map(id => COLUMNS.find(c => c.id === id))
    .filter((c): c is IColumn => !!c);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(
    items.length,
    Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN
  );
  const visible = items.slice(first, last);

  const moveSelection = (event: React.KeyboardEvent) => {
    const index = items.findIndex(r => itemKey(r) === current.current);
    const item = index >= 0 ? items[index] : undefined;
    let next = index;
    const several = !!props.onChecked;
    if (several && (event.ctrlKey || event.metaKey) && !event.altKey) {
      if (event.key === 'a' || event.key === 'A') {
        // Every job shown (the filter's), not those it hides.
        event.preventDefault();
        anchor.current = null;
        setChecked(new Set(jobs.map(j => j.id)));
      }
      return;
    }
    if (several && event.key === 'Escape') {
      if (checkedNow.current.size > 0) {
        event.preventDefault();
        event.stopPropagation();
        anchor.current = null;
        setChecked(new Set());
      }
      return;
    }
    if (item?.kind === 'group') {
      // A sweep's row: Enter and Space open or close it, the arrows right
      // and left too; its menu with the context-menu key or Shift+F10.
      const id = item.group.id;
      const open =
        event.key === 'Enter' || event.key === ' '
          ? !item.expanded
          : event.key === 'ArrowRight'
            ? true
            : event.key === 'ArrowLeft'
              ? false
              : null;
      if (open !== null && !event.shiftKey) {
        event.preventDefault();
        toggleGroup(id, open);
        return;
      }
      if (
        event.key === 'ContextMenu' ||
        (event.key === 'F10' && event.shiftKey)
      ) {
        event.preventDefault();
        const button = scroller.current?.querySelector<HTMLElement>(
          `tr[data-sweep="${id}"] .jp-FluxHub-groupMenuButton`
        );
        const box = button?.getBoundingClientRect() ?? new DOMRect();
        props.onGroupMenu?.(item.group, box, true);
        return;
      }
    }
    if (several && event.key === ' ') {
      event.preventDefault();
      if (current.current !== null) {
        gesture(current.current, { extend: false, toggle: true });
      }
      return;
    }
    switch (event.key) {
      case 'ArrowDown':
        next = Math.min(items.length - 1, index + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, index - 1);
        break;
      case 'ArrowLeft':
        // From a job of an open group to the group's row.
        if (item?.kind === 'job' && item.indent) {
          const sweep = item.job.sweep?.id;
          next = items.findIndex(
            r => r.kind === 'group' && r.group.id === sweep
          );
          break;
        }
        return;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = items.length - 1;
        break;
      case 'Enter':
        if (current.current !== null && item?.kind === 'job') {
          onOpen(current.current);
        }
        event.preventDefault();
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next < 0 || next >= items.length) {
      return;
    }
    const key = itemKey(items[next]);
    if (several && event.shiftKey) {
      if (!anchor.current && current.current !== null) {
        anchor.current = { id: current.current, base: checkedNow.current };
      }
      gesture(key, { extend: true, toggle: false });
    } else {
      anchor.current = { id: key, base: checkedNow.current };
    }
    current.current = key;
    onSelect(key);
    scrollIntoView(scroller.current, next, rowHeight);
  };

  const helpId = React.useMemo(() => `jp-FluxHub-tableHelp-${++tables}`, []);
  const shownChecked = showChecks
    ? jobs.reduce((n, j) => n + (checked.has(j.id) ? 1 : 0), 0)
    : 0;
  const grouped = items.length !== jobs.length || items.some(isGroup);

  return (
    <div
      className="jp-FluxHub-tableScroller"
      ref={scroller}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
    >
      {(props.onChecked || grouped) && (
        <span id={helpId} className="jp-FluxHub-srOnly">
          {props.onChecked
            ? 'Space selects the current job for an action, Shift with the arrows selects several, Ctrl+A all shown, Escape none. '
            : ''}
          {grouped
            ? 'On a group of jobs, Enter, Space or the right and left arrows open and close it; Shift+F10 opens its actions.'
            : ''}
        </span>
      )}
      <table
        className={
          'jp-FluxHub-table' + (idUnderName ? ' jp-mod-idUnderName' : '')
        }
        aria-label="Flux jobs"
        aria-rowcount={items.length + 1}
      >
        {showChecks && (
          <colgroup>
            <col style={{ width: CHECK_COLUMN_PX }} />
          </colgroup>
        )}
        <thead>
          <tr>
            {showChecks && (
              <th scope="col" className="jp-FluxHub-col-check">
                <AllCheckbox
                  all={jobs.length > 0 && shownChecked === jobs.length}
                  some={shownChecked > 0}
                  onChange={all => {
                    anchor.current = null;
                    setChecked(all ? new Set(jobs.map(j => j.id)) : new Set());
                  }}
                />
              </th>
            )}
            {columns.map(column => (
              <HeaderCell
                key={column.id}
                column={column}
                sort={props.sort}
                onSort={props.onSort}
              />
            ))}
          </tr>
        </thead>
        <tbody
          tabIndex={0}
          aria-label="Jobs: arrow keys select, Enter opens"
          aria-describedby={props.onChecked || grouped ? helpId : undefined}
          onKeyDown={moveSelection}
          onFocus={event => {
            if (
              event.target === event.currentTarget &&
              current.current === null &&
              items.length > 0
            ) {
              current.current = itemKey(items[0]);
              onSelect(current.current);
            }
          }}
        >
          {first > 0 && (
            <tr aria-hidden="true" style={{ height: first * rowHeight }} />
          )}
          {visible.map((item, i) =>
            item.kind === 'group' ? (
              <GroupRow
                key={groupKey(item.group.id)}
                group={item.group}
                expanded={item.expanded}
                index={first + i}
                span={columns.length}
                height={rowHeight}
                current={groupKey(item.group.id) === selected}
                checked={groupChecked(item.group, checked)}
                showCheck={showChecks}
                hasMenu={!!props.onGroupMenu}
                onClick={onRowClick}
                onToggle={toggleGroup}
                onMenu={onGroupMenu}
              />
            ) : (
              <JobRow
                key={item.job.id}
                job={item.job}
                index={first + i}
                columns={columns}
                idUnderName={idUnderName}
                height={rowHeight}
                current={item.job.id === selected}
                checked={checked.has(item.job.id)}
                showCheck={showChecks}
                indent={item.indent}
                onClick={onRowClick}
              />
            )
          )}
          {last < items.length && (
            <tr
              aria-hidden="true"
              style={{ height: (items.length - last) * rowHeight }}
            />
          )}
        </tbody>
      </table>
    </div>
  );
}

function isGroup(item: TableItem): boolean {
  return item.kind === 'group';
}

/** The jobs of the row whose key is `key`: a job's own, or its group's shown. */
function jobsOfKey(items: TableItem[], key: string): IJob[] {
  const item = items.find(r => itemKey(r) === key);
  return item ? itemJobs(item) : [];
}

/**
 * The jobs of the rows from `a` to `b` (both included, either order), by
 * their keys in `items`: a group's row stands for all its jobs shown; none if
 * either is not shown.
 */
export function rangeOfItems(
  items: TableItem[],
  a: string,
  b: string
): JobId[] {
  const i = items.findIndex(r => itemKey(r) === a);
  const k = items.findIndex(r => itemKey(r) === b);
  if (i < 0 || k < 0) {
    return [];
  }
  const ids = new Set<JobId>();
  for (const item of items.slice(Math.min(i, k), Math.max(i, k) + 1)) {
    for (const job of itemJobs(item)) {
      ids.add(job.id);
    }
  }
  return Array.from(ids);
}

/** Whether a group's jobs are all selected, some, or none. */
function groupChecked(
  group: ISweepGroup,
  checked: ReadonlySet<JobId>
): 'all' | 'some' | 'none' {
  const n = group.jobs.reduce((n, j) => n + (checked.has(j.id) ? 1 : 0), 0);
  return n === 0 ? 'none' : n === group.jobs.length ? 'all' : 'some';
}

interface IGroupRowProps {
  group: ISweepGroup;
  expanded: boolean;
  index: number;
  /** How many columns the row spans (those of a job's row). */
  span: number;
  height: number;
  current: boolean;
  checked: 'all' | 'some' | 'none';
  showCheck: boolean;
  hasMenu: boolean;
  onClick: (
    key: string,
    event: React.MouseEvent,
    fromCheckbox: boolean
  ) => void;
  onToggle: (id: string) => void;
  onMenu: (group: ISweepGroup, box: DOMRect, fromKeyboard: boolean) => void;
}

/**
 * A sweep's jobs as one row, in place of the first of them: its group's
 * name, how many jobs the table shows of it and their counts by status, a
 * disclosure button that shows them under it, and its actions' menu.
 */
const GroupRow = React.memo(function GroupRow(
  props: IGroupRowProps
): JSX.Element {
  const { group, expanded, current } = props;
  const key = groupKey(group.id);
  const shown = group.jobs.length;
  const count =
    group.total > shown
      ? `${formatCount(shown)} of ${jobsText(group.total)}`
      : jobsText(shown);
  const counts = stateCounts(group.jobs);
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  return (
    <tr
      className={
        'jp-FluxHub-row jp-FluxHub-groupRow' +
        (current ? ' jp-mod-current' : '') +
        (props.checked === 'all' ? ' jp-mod-selected' : '')
      }
      data-sweep={group.id}
      aria-rowindex={props.index + 2}
      aria-selected={props.checked === 'all'}
      aria-current={current ? 'true' : undefined}
      style={{ height: props.height }}
      title={`${group.group}: ${count} (${counts})`}
      onMouseDown={event => {
        if (event.shiftKey) {
          event.preventDefault();
        }
      }}
      onClick={event => props.onClick(key, event, false)}
    >
      {props.showCheck && (
        <td className="jp-FluxHub-col-check">
          <GroupCheckbox
            name={group.group}
            checked={props.checked}
            onClick={event => {
              event.stopPropagation();
              props.onClick(key, event, true);
            }}
          />
        </td>
      )}
      <td colSpan={Math.max(1, props.span)} className="jp-FluxHub-groupCell">
        <div className="jp-FluxHub-groupLine">
          <button
            type="button"
            className="jp-FluxHub-groupToggle"
            tabIndex={-1}
            aria-expanded={expanded}
            aria-label={group.group}
            title={expanded ? 'Hide its jobs' : 'Show its jobs'}
            onClick={event => {
              // The row's click would toggle it too.
              event.stopPropagation();
              props.onClick(key, event, false);
            }}
          >
            <Caret.react tag="span" className="jp-FluxHub-groupCaret" />
            <span className="jp-FluxHub-groupName">{group.group}</span>
          </button>
          <span className="jp-FluxHub-groupSummary">
            <span className="jp-FluxHub-groupCount">{count}</span>
            <span className="jp-FluxHub-groupStates">{counts}</span>
          </span>
          {props.hasMenu && (
            <button
              type="button"
              className="jp-FluxHub-groupMenuButton"
              tabIndex={current ? 0 : -1}
              aria-haspopup="menu"
              aria-label={`Actions for ${group.group}`}
              title="Cancel or run again the jobs of this group"
              onClick={event => {
                event.stopPropagation();
                props.onMenu(
                  group,
                  event.currentTarget.getBoundingClientRect(),
                  event.detail === 0
                );
              }}
              onKeyDown={event => event.stopPropagation()}
            >
              <caretDownIcon.react
                tag="span"
                className="jp-FluxHub-cancelMenuIcon"
              />
            </button>
          )}
        </div>
      </td>
    </tr>
  );
});

/** A group's checkbox: all its jobs selected, some (mixed) or none. */
function GroupCheckbox(props: {
  name: string;
  checked: 'all' | 'some' | 'none';
  onClick: (event: React.MouseEvent) => void;
}): JSX.Element {
  const box = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => {
    if (box.current) {
      box.current.indeterminate = props.checked === 'some';
    }
  }, [props.checked]);
  return (
    <input
      ref={box}
      type="checkbox"
      className="jp-FluxHub-check"
      tabIndex={-1}
      aria-label={`Select the jobs of ${props.name}`}
      checked={props.checked === 'all'}
      onChange={() => undefined}
      onClick={props.onClick}
    />
  );
}

function scrollIntoView(
  node: HTMLDivElement | null,
  index: number,
  rowHeight: number
): void {
  if (!node) {
    return;
  }
  // The header row (ROW_HEIGHT) is sticky: it covers the top of the view.
  const top = index * rowHeight;
  const bottom = ROW_HEIGHT + (index + 1) * rowHeight;
  if (top < node.scrollTop) {
    node.scrollTop = top;
  } else if (bottom > node.scrollTop + node.clientHeight) {
    node.scrollTop = bottom - node.clientHeight;
  }
}

function HeaderCell(props: {
  column: IColumn;
  sort: ISortState;
  onSort: (column: ColumnId) => void;
}): JSX.Element {
  const { column, sort } = props;
  const active = sort.column === column.id;
  const direction = sort.ascending ? 'ascending' : 'descending';
  return (
    <th
      scope="col"
      aria-sort={active ? direction : 'none'}
      className={`jp-FluxHub-col-${column.id}`}
      // The name has no width: it takes what the other columns leave.
      style={
        column.id === 'name'
          ? undefined
          : { width: `${COLUMN_WIDTHS[column.id]}ch` }
      }
    >
      <button
        className="jp-FluxHub-sortButton"
        onClick={() => props.onSort(column.id)}
        title={`Sort by ${column.label}`}
      >
        {column.label}
        <span className="jp-FluxHub-sortMark" aria-hidden="true">
          {active ? (sort.ascending ? '▲' : '▼') : ''}
        </span>
      </button>
    </th>
  );
}

/** "Select all shown": checked when all are, mixed when some are. */
function AllCheckbox(props: {
  all: boolean;
  some: boolean;
  onChange: (all: boolean) => void;
}): JSX.Element {
  const box = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => {
    if (box.current) {
      box.current.indeterminate = props.some && !props.all;
    }
  }, [props.some, props.all]);
  return (
    <input
      ref={box}
      type="checkbox"
      className="jp-FluxHub-check"
      aria-label="Select all jobs shown"
      title={props.all ? 'Select none' : 'Select all jobs shown'}
      checked={props.all}
      onChange={() => props.onChange(!props.all)}
    />
  );
}

interface IJobRowProps {
  job: IJob;
  index: number;
  columns: IColumn[];
  idUnderName: boolean;
  height: number;
  /** The row the arrow keys are on. */
  current: boolean;
  /** Selected for an action. */
  checked: boolean;
  showCheck: boolean;
  /** One of an open group's jobs, under its row. */
  indent?: boolean;
  onClick: (id: JobId, event: React.MouseEvent, fromCheckbox: boolean) => void;
}

/**
 * One job; memoised, so rows whose job object did not change are not
 * re-rendered. A waiting job says why in the tooltip of the row (and of its
 * cells but the name and ID), and shows its place in the queue or its
 * estimated start beside its status (under it where rows have two lines).
 */
const JobRow = React.memo(function JobRow(props: IJobRowProps): JSX.Element {
  const { job, current, checked } = props;
  const status = statusOf(job).toLowerCase();
  const why = waitingTooltip(job) || undefined;
  const short = why ? shortWaiting(job, undefined, props.idUnderName) : '';
  return (
    <tr
      className={
        `jp-FluxHub-row jp-FluxHub-status-${status}` +
        (why ? ' jp-mod-waiting' : '') +
        (current ? ' jp-mod-current' : '') +
        (checked ? ' jp-mod-selected' : '') +
        (props.indent ? ' jp-mod-inGroup' : '')
      }
      data-job-id={job.id}
      aria-rowindex={props.index + 2}
      aria-selected={checked}
      aria-current={current ? 'true' : undefined}
      style={{ height: props.height }}
      title={why}
      onMouseDown={event => {
        // Shift-click selects rows, not the text in them.
        if (event.shiftKey) {
          event.preventDefault();
        }
      }}
      onClick={event => props.onClick(job.id, event, false)}
    >
      {props.showCheck && (
        <td className="jp-FluxHub-col-check">
          <input
            type="checkbox"
            className="jp-FluxHub-check"
            tabIndex={-1}
            aria-label={`Select ${job.name || ID_COLUMN.text(job)}`}
            checked={checked}
            onChange={() => undefined}
            onClick={event => {
              event.stopPropagation();
              props.onClick(job.id, event, true);
            }}
          />
        </td>
      )}
      {props.columns.map(column => {
        const text = column.text(job);
        if (column.id === 'name' && props.idUnderName) {
          return <NameAndId key={column.id} job={job} name={text} />;
        }
        const className =
          `jp-FluxHub-col-${column.id}` +
          (column.numeric ? ' jp-FluxHub-numeric' : '');
        const title = column.title
          ? column.title(job)
          : why && column.id !== 'name'
            ? why
            : text;
        if (short && column.id === 'status' && props.idUnderName) {
          // Two lines: the status, and smaller under it the queue.
          return (
            <td key={column.id} className={className} title={title}>
              <span className="jp-FluxHub-statusLine">{text}</span>
              <span className="jp-FluxHub-waitingShort">{short}</span>
            </td>
          );
        }
        const shown =
          short && (column.id === 'status' || column.id === 'result')
            ? short
            : text;
        return (
          <td
            key={column.id}
            className={
              className + (shown !== text ? ' jp-FluxHub-waitingShort' : '')
            }
            title={title}
          >
            {shown}
          </td>
        );
      })}
    </tr>
  );
});

const ID_COLUMN = COLUMNS.find(c => c.id === 'id')!;

/**
 * The name on one line and, smaller under it, the ID as `flux jobs` shows it
 * (the exact decimal as its tooltip): where the panel has no room for an ID
 * column, the name keeps the width and the ID is still on screen.
 */
function NameAndId(props: { job: IJob; name: string }): JSX.Element {
  const { job, name } = props;
  return (
    <td className="jp-FluxHub-col-nameAndId">
      <span className="jp-FluxHub-col-name" title={name}>
        {name}
      </span>
      <span className="jp-FluxHub-col-id" title={ID_COLUMN.title!(job)}>
        {ID_COLUMN.text(job)}
      </span>
    </td>
  );
}
