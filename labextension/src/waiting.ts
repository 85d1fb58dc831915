import { IClusterInfo, ICounts, IJob, IWaiting } from './api';
import { statusOf } from './jobs';

/**
 * Why a job waits and when it should start, as the panel words it: the
 * server's `waiting` (flux_hub/waiting.py: its reason, position, jobs ahead
 * and the scheduler's estimate) made into a short status for the table, a
 * tooltip, and the sentences of the job's detail; and the cluster strip's
 * counts.
 */

/**
 * The job's `waiting`, when it is pending and the server said why; else
 * null. A held job's row (holds.ts) has one in every state: what it waits
 * for, or why it never ran.
 */
export function waitingOf(job: IJob): IWaiting | null {
  if (statusOf(job) !== 'PENDING' && !job.hold) {
    return null;
  }
  const waiting = job.waiting;
  if (!waiting || typeof waiting !== 'object') {
    return null;
  }
  const w = waiting as Partial<IWaiting>;
  return {
    reason: typeof w.reason === 'string' ? w.reason : '',
    position: count(w.position),
    ahead: count(w.ahead),
    t_estimate:
      typeof w.t_estimate === 'number' && w.t_estimate > 0
        ? w.t_estimate
        : null,
    ...(typeof w.short === 'string' ? { short: w.short } : {}),
    ...(typeof w.title === 'string' ? { title: w.title } : {})
  };
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
    ? Math.round(value)
    : null;
}

const shortClock = new Intl.DateTimeFormat(undefined, {
  hour: 'numeric',
  minute: '2-digit'
});
const shortDay = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric'
});
const dayAndClock = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit'
});

/** A time to come, short: the clock time today, else the day. */
export function shortWhen(
  epochSeconds: number,
  now: Date = new Date()
): string {
  const date = new Date(epochSeconds * 1000);
  return date.toDateString() === now.toDateString()
    ? shortClock.format(date)
    : shortDay.format(date);
}

/** A time to come in full: the clock time today, else the day and the time. */
export function fullWhen(epochSeconds: number, now: Date = new Date()): string {
  const date = new Date(epochSeconds * 1000);
  return date.toDateString() === now.toDateString()
    ? shortClock.format(date)
    : dayAndClock.format(date);
}

/** How long until then, in words: "in 12 min", "in 2 h 5 min", "in 3 days"; "now" once past. */
export function untilWords(
  epochSeconds: number,
  now: Date = new Date()
): string {
  const seconds = epochSeconds - now.getTime() / 1000;
  if (seconds < 30) {
    return 'any moment now';
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `in ${Math.max(minutes, 1)} min`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return rest ? `in ${hours} h ${rest} min` : `in ${hours} h`;
  }
  return `in ${Math.round(hours / 24)} days`;
}

/**
 * What the table shows of a waiting job, short enough for the status column:
 * under PENDING (`under`), the estimated start where the scheduler gives one
 * ("~2:05 PM", "~Dec 8"), else the place in the queue ("#3 in queue");
 * instead of PENDING, where a bare time would not say what it is, the place
 * first. Else "held", or "" when the server knows none of these. The rest is
 * in the tooltip.
 */
export function shortWaiting(
  job: IJob,
  now: Date = new Date(),
  under = true
): string {
  const waiting = waitingOf(job);
  if (!waiting) {
    return '';
  }
  if (waiting.short !== undefined) {
    return waiting.short;
  }
  const { position, t_estimate } = waiting;
  const start = t_estimate === null ? '' : `~${shortWhen(t_estimate, now)}`;
  const place = position === null ? '' : `#${position} in queue`;
  const first = under ? start || place : place || start;
  if (first) {
    return first;
  }
  return job.urgency === 0 ? 'held' : '';
}

/** "3 (2 ahead)": the job's place in the whole queue; "" when unknown. */
export function positionWords(waiting: IWaiting): string {
  const { position, ahead } = waiting;
  const before =
    ahead === null ? '' : ahead === 0 ? 'none ahead' : `${ahead} ahead`;
  if (position !== null) {
    return before ? `${position} (${before})` : String(position);
  }
  return ahead === null ? '' : ahead === 0 ? 'first' : `${ahead} jobs ahead`;
}

/**
 * "2:05 PM (in 12 min)": when the scheduler expects it to start, and how long
 * until then unless `relative` is false (text that is not redrawn as time
 * goes by); "" without an estimate.
 */
export function startWords(
  waiting: IWaiting,
  now: Date = new Date(),
  relative = true
): string {
  if (waiting.t_estimate === null) {
    return '';
  }
  const when = fullWhen(waiting.t_estimate, now);
  return relative
    ? `${when} (${untilWords(waiting.t_estimate, now)})`
    : `about ${when}`;
}

/**
 * The tooltip of a waiting job's row: why, its position and its estimated
 * start, one a line (the time itself: a row is redrawn only when its job
 * changes).
 */
export function waitingTooltip(job: IJob, now: Date = new Date()): string {
  const waiting = waitingOf(job);
  if (!waiting) {
    return '';
  }
  if (waiting.title) {
    return waiting.title;
  }
  const lines = [
    `Why it waits: ${waiting.reason || 'the server does not say.'}`
  ];
  const position = positionWords(waiting);
  if (position) {
    lines.push(`Position: ${position}`);
  }
  const start = startWords(waiting, now, false);
  if (start) {
    lines.push(`Should start: ${start}`);
  }
  return lines.join('\n');
}

/** One count of the cluster strip: what it shows and what its tooltip says. */
export interface IStripItem {
  key: string;
  label: string;
  value: string;
  /** After the value ("free / 16", "nodes up"). */
  rest: string;
  title: string;
  /** Shown first and without the label, as "2 nodes up". */
  valueFirst?: boolean;
  /** Bad news after the rest, in the warning colour (", 1 down"). */
  warn?: string;
  /** Resources or the queue: each group kept together where it fits. */
  group: 'resources' | 'queue';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function pool(counts: ICounts | undefined, word: string): IStripItem | null {
  if (!counts) {
    return null;
  }
  const total = num(counts.total);
  const free = num(counts.free);
  const busy = num(counts.busy);
  const down = num(counts.down);
  const label = word === 'core' ? 'Cores' : 'GPUs';
  const noun = word === 'core' ? 'core' : 'GPU';
  return {
    key: `${word}s`,
    group: 'resources',
    label,
    value: String(free),
    rest: `free / ${total}`,
    title:
      `${free} of the cluster's ${plural(total, noun)} free now: ` +
      `${busy} busy` +
      (down ? `, ${down} on nodes that are down.` : '.')
  };
}

/**
 * The cluster strip's counts: cores (and GPUs where the cluster has any)
 * free of all, jobs running and waiting (everyone's, no more than counts),
 * and the nodes up. From a server without the reader, only the nodes up.
 */
export function stripItems(cluster: IClusterInfo): IStripItem[] {
  const items: IStripItem[] = [];
  const reachable = cluster.reachable;
  const resources = reachable ? (cluster.resources ?? null) : null;
  if (resources) {
    const cores = pool(resources.cores, 'core');
    if (cores) {
      items.push(cores);
    }
    if (num(resources.gpus?.total) > 0) {
      items.push(pool(resources.gpus, 'gpu')!);
    }
  }
  const queue = reachable ? (cluster.queue ?? null) : null;
  if (queue) {
    const running = num(queue.running);
    const waiting = num(queue.waiting);
    items.push({
      key: 'running',
      group: 'queue',
      label: 'Running',
      value: String(running),
      rest: '',
      title: `${plural(running, 'job')} running on the cluster now, everyone's.`
    });
    items.push({
      key: 'waiting',
      group: 'queue',
      label: 'Waiting',
      value: String(waiting),
      rest: '',
      title: `${plural(waiting, 'job')} waiting to start, everyone's.`
    });
  }
  const nodes = resources?.nodes;
  const up = nodes
    ? num(nodes.up)
    : reachable
      ? (cluster.nodes?.length ?? 0)
      : 0;
  const down = nodes ? num(nodes.down) : 0;
  const hosts = nodes ? (resources?.hosts_up ?? []) : (cluster.nodes ?? []);
  const names = hosts.length
    ? `: ${hosts.slice(0, 12).join(', ')}${hosts.length > 12 ? ', …' : ''}`
    : '';
  const nodesItem: IStripItem = {
    key: 'nodes',
    group: 'resources',
    label: '',
    value: String(up),
    rest: up === 1 ? 'node up' : 'nodes up',
    valueFirst: true,
    warn: down ? `, ${down} down` : undefined,
    title:
      (nodes
        ? `${up} of the cluster's ${plural(num(nodes.total), 'node')} up` +
          (down ? `, ${down} down` : '')
        : `${plural(up, 'node')} of the cluster up`) + names
  };
  // After the cores and GPUs, before the queue.
  const queueAt = items.findIndex(item => item.group === 'queue');
  items.splice(queueAt < 0 ? items.length : queueAt, 0, nodesItem);
  return items;
}
