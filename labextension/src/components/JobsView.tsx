import * as React from 'react';

import { ISignal } from '@lumino/signaling';

import { IClusterInfo } from '../api';
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
import { JobsModel } from '../model';
import { IStripItem, stripItems } from '../waiting';
import { JobTable } from './JobTable';

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
  const columns = React.useMemo(
    () => columnsForWidth(props.columns, chars),
    [props.columns, chars]
  );
  const [text, setText] = React.useState('');
  const [state, setState] = React.useState<StateFilter>('all');
  const [sort, setSort] = React.useState<ISortState>({
    column: 'submitted',
    ascending: false
  });
  const [selected, setSelected] = React.useState<JobId | null>(null);

  const jobs = model.jobs;
  const rows = React.useMemo(
    () => visibleJobs(jobs, text, state, sort),
    [jobs, text, state, sort]
  );

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
      <JobTable
        jobs={rows}
        columns={columns}
        idUnderName={idUnderName(props.columns, columns)}
        sort={sort}
        selected={selected}
        onSort={onSort}
        onSelect={setSelected}
        onOpen={props.onOpen}
      />
      <div className="jp-FluxHub-footer" aria-live="polite">
        {model.loading
          ? 'Loading jobs…'
          : rows.length === jobs.length
            ? `${jobs.length} job${jobs.length === 1 ? '' : 's'}`
            : `${rows.length} of ${jobs.length} jobs shown`}
      </div>
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
