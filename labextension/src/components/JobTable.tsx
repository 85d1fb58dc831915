import * as React from 'react';

import { IJob } from '../api';
import { rangeOf } from '../bulkcancel';
import { JobId } from '../jobid';
import {
  COLUMN_WIDTHS,
  COLUMNS,
  ColumnId,
  IColumn,
  ISortState,
  statusOf
} from '../jobs';
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
  /** The current row: the one the arrow keys move and Enter opens. */
  selected: JobId | null;
  onSort: (column: ColumnId) => void;
  onSelect: (id: JobId) => void;
  onOpen: (id: JobId) => void;
  /**
   * The jobs selected for an action (Shift/Ctrl-click, the checkboxes, Space,
   * Shift+arrows, Ctrl/Cmd+A); with `onChecked`, the table selects several.
   */
  checked?: ReadonlySet<JobId>;
  onChecked?: (ids: ReadonlySet<JobId>) => void;
  /** A checkbox on each row (and "all shown" in the header). */
  showChecks?: boolean;
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
  const current = React.useRef<JobId | null>(selected);
  current.current = selected;
  const checked = props.checked ?? NONE;
  const showChecks = !!props.showChecks && !!props.onChecked;
  // The latest props, for the handlers below: they stay the same functions,
  // so rows that did not change are not re-rendered.
  const latest = React.useRef(props);
  latest.current = props;
  const checkedNow = React.useRef(checked);
  checkedNow.current = checked;
  // Where a Shift-selection starts, and what was selected before it: Shift
  // selects that plus the rows from the anchor to the one reached.
  const anchor = React.useRef<{ id: JobId; base: ReadonlySet<JobId> } | null>(
    null
  );
  const setChecked = React.useCallback((next: ReadonlySet<JobId>) => {
    checkedNow.current = next;
    latest.current.onChecked?.(next);
  }, []);
  const gesture = React.useCallback(
    (id: JobId, how: IGesture) => {
      const { jobs: rows, onChecked } = latest.current;
      if (!onChecked) {
        return;
      }
      const before = checkedNow.current;
      if (how.extend) {
        const start =
          anchor.current && rows.some(j => j.id === anchor.current!.id)
            ? anchor.current
            : { id: current.current ?? id, base: before };
        anchor.current = start;
        const next = new Set(start.base);
        for (const each of rangeOf(rows, start.id, id)) {
          next.add(each);
        }
        setChecked(next);
      } else if (how.toggle) {
        const next = new Set(before);
        if (next.has(id)) {
          next.delete(id);
        } else {
          next.add(id);
        }
        anchor.current = { id, base: next };
        setChecked(next);
      } else {
        anchor.current = { id, base: before };
      }
    },
    [setChecked]
  );
  const onRowClick = React.useCallback(
    (id: JobId, event: React.MouseEvent, fromCheckbox: boolean) => {
      const { onSelect, onOpen, onChecked } = latest.current;
      const extend = event.shiftKey;
      const toggle = fromCheckbox || event.ctrlKey || event.metaKey;
      current.current = id;
      onSelect(id);
      if (onChecked && (extend || toggle)) {
        gesture(id, { extend, toggle });
        return;
      }
      gesture(id, { extend: false, toggle: false });
      onOpen(id);
    },
    [gesture]
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
    jobs.length,
    Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN
  );
  const visible = jobs.slice(first, last);

  const moveSelection = (event: React.KeyboardEvent) => {
    const index = jobs.findIndex(j => j.id === current.current);
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
    if (several && event.key === ' ') {
      event.preventDefault();
      if (current.current !== null) {
        gesture(current.current, { extend: false, toggle: true });
      }
      return;
    }
    switch (event.key) {
      case 'ArrowDown':
        next = Math.min(jobs.length - 1, index + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, index - 1);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = jobs.length - 1;
        break;
      case 'Enter':
        if (current.current !== null) {
          onOpen(current.current);
        }
        event.preventDefault();
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next < 0 || next >= jobs.length) {
      return;
    }
    const id = jobs[next].id;
    if (several && event.shiftKey) {
      if (!anchor.current && current.current !== null) {
        anchor.current = { id: current.current, base: checkedNow.current };
      }
      gesture(id, { extend: true, toggle: false });
    } else {
      anchor.current = { id, base: checkedNow.current };
    }
    current.current = id;
    onSelect(id);
    scrollIntoView(scroller.current, next, rowHeight);
  };

  const helpId = React.useMemo(() => `jp-FluxHub-tableHelp-${++tables}`, []);
  const shownChecked = showChecks
    ? jobs.reduce((n, j) => n + (checked.has(j.id) ? 1 : 0), 0)
    : 0;

  return (
    <div
      className="jp-FluxHub-tableScroller"
      ref={scroller}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
    >
      {props.onChecked && (
        <span id={helpId} className="jp-FluxHub-srOnly">
          Space selects the current job for an action, Shift with the arrows
          selects several, Ctrl+A all shown, Escape none.
        </span>
      )}
      <table
        className={
          'jp-FluxHub-table' + (idUnderName ? ' jp-mod-idUnderName' : '')
        }
        aria-label="Flux jobs"
        aria-rowcount={jobs.length + 1}
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
          aria-describedby={props.onChecked ? helpId : undefined}
          onKeyDown={moveSelection}
          onFocus={() => {
            if (current.current === null && jobs.length > 0) {
              current.current = jobs[0].id;
              onSelect(jobs[0].id);
            }
          }}
        >
          {first > 0 && (
            <tr aria-hidden="true" style={{ height: first * rowHeight }} />
          )}
          {visible.map((job, i) => (
            <JobRow
              key={job.id}
              job={job}
              index={first + i}
              columns={columns}
              idUnderName={idUnderName}
              height={rowHeight}
              current={job.id === selected}
              checked={checked.has(job.id)}
              showCheck={showChecks}
              onClick={onRowClick}
            />
          ))}
          {last < jobs.length && (
            <tr
              aria-hidden="true"
              style={{ height: (jobs.length - last) * rowHeight }}
            />
          )}
        </tbody>
      </table>
    </div>
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
        (checked ? ' jp-mod-selected' : '')
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
