import * as React from 'react';

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
import { shortWaiting, waitingTooltip } from '../waiting';

/** Row height in pixels; fixed so that the visible window is a simple division. */
export const ROW_HEIGHT = 26;
/** A row with the ID under the name: two lines. The header stays ROW_HEIGHT. */
export const TWO_LINE_ROW_HEIGHT = 34;
/** Rows rendered above and below the visible ones, so fast scrolling shows no gaps. */
const OVERSCAN = 10;
/** Assumed viewport before the first layout (and in layout-less test DOMs). */
const FALLBACK_HEIGHT = 600;

export interface IJobTableProps {
  jobs: IJob[];
  columns: ColumnId[];
  /** Each job's ID under its name, smaller, for want of room for an ID column. */
  idUnderName?: boolean;
  sort: ISortState;
  selected: JobId | null;
  onSort: (column: ColumnId) => void;
  onSelect: (id: JobId) => void;
  onOpen: (id: JobId) => void;
}

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
    current.current = jobs[next].id;
    onSelect(jobs[next].id);
    scrollIntoView(scroller.current, next, rowHeight);
  };

  return (
    <div
      className="jp-FluxHub-tableScroller"
      ref={scroller}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
    >
      <table
        className={
          'jp-FluxHub-table' + (idUnderName ? ' jp-mod-idUnderName' : '')
        }
        aria-label="Flux jobs"
        aria-rowcount={jobs.length + 1}
      >
        <thead>
          <tr>
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
              selected={job.id === selected}
              onSelect={onSelect}
              onOpen={onOpen}
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

interface IJobRowProps {
  job: IJob;
  index: number;
  columns: IColumn[];
  idUnderName: boolean;
  height: number;
  selected: boolean;
  onSelect: (id: JobId) => void;
  onOpen: (id: JobId) => void;
}

/**
 * One job; memoised, so rows whose job object did not change are not
 * re-rendered. A waiting job says why in the tooltip of the row (and of its
 * cells but the name and ID), and shows its place in the queue or its
 * estimated start beside its status (under it where rows have two lines).
 */
const JobRow = React.memo(function JobRow(props: IJobRowProps): JSX.Element {
  const { job, selected } = props;
  const status = statusOf(job).toLowerCase();
  const why = waitingTooltip(job) || undefined;
  const short = why ? shortWaiting(job, undefined, props.idUnderName) : '';
  return (
    <tr
      className={
        `jp-FluxHub-row jp-FluxHub-status-${status}` +
        (why ? ' jp-mod-waiting' : '') +
        (selected ? ' jp-mod-selected' : '')
      }
      data-job-id={job.id}
      aria-rowindex={props.index + 2}
      aria-selected={selected}
      style={{ height: props.height }}
      title={why}
      onClick={() => {
        props.onSelect(job.id);
        props.onOpen(job.id);
      }}
    >
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
