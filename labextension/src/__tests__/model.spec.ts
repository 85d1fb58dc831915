import { Poll } from '@lumino/polling';

import { FluxHubAPI, IClusterInfo, IJob, IJobsAnswer } from '../api';
import { JobId } from '../jobid';
import { JobsModel } from '../model';
import { BIG, flush, job, json, settingsWith } from './fakes';

/** What the server sent as of one version: each job's record, and the names. */
interface ISnapshot {
  records: Map<JobId, string>;
  names: Map<JobId, string>;
  order: string;
}

/**
 * A stand-in for the server extension: answers as docs/server-extension-api.md
 * says, and counts requests. The job list answers with deltas: each answer gets
 * a version, and a request with a `since` it knows gets only what changed since
 * then.
 */
class FakeServer {
  cluster: IClusterInfo = {
    account: 'alice',
    url: 'http://127.0.0.1:5000',
    nodes: ['node-0', 'node-1'],
    reachable: true,
    error: null
  };
  /** The user's whole list, in the server's order. */
  jobs: IJob[] = [];
  /** Names given in flux-hub, by job id. */
  names: Record<JobId, string> = {};
  jobsAnswer: { status: number; message: string } | null = null;
  requests: string[] = [];
  /** The `since` of every job list request (null without one) ... */
  sinces: (string | null)[] = [];
  /** ... whether it asked for the complete listing (rescan=1) ... */
  rescans: boolean[] = [];
  /** ... and what it was answered. */
  answers: IJobsAnswer[] = [];
  /** A job whose record the next delta leaves out, as a faulty server might. */
  loseFromNextDelta: JobId | null = null;
  sendIdsAlways = false;

  /** The Jupyter server restarted: the versions it gave mean nothing now. */
  restart(): void {
    this._process++;
    this._versions.clear();
  }

  /** Hold back the next job list answer (taken now) until the call returned. */
  delayNext(): () => void {
    let release!: () => void;
    this._delay = new Promise<void>(resolve => (release = resolve));
    return release;
  }

  api(): FluxHubAPI {
    return new FluxHubAPI(
      settingsWith(async request => {
        const url = new URL(request.url);
        const path = url.pathname.replace('/user/alice/flux-hub/api/', '');
        this.requests.push(path);
        if (path === 'cluster') {
          return json(200, this.cluster);
        }
        if (path === 'jobs') {
          if (!this.cluster.reachable) {
            return json(503, { message: 'unreachable', reasons: [] });
          }
          if (this.jobsAnswer) {
            return json(this.jobsAnswer.status, {
              message: this.jobsAnswer.message,
              reasons: []
            });
          }
          const since = url.searchParams.get('since');
          this.sinces.push(since);
          this.rescans.push(url.searchParams.get('rescan') === '1');
          const answer = this._answerJobs(since);
          this.answers.push(answer);
          const delay = this._delay;
          this._delay = null;
          await delay;
          return json(200, answer);
        }
        const match = /^jobs\/(\d+)$/.exec(path);
        const found = match && this.jobs.find(j => j.id === match[1]);
        if (!found) {
          return json(404, { message: 'no such job', reasons: [] });
        }
        const name = this.names[found.id];
        return json(200, name ? { ...found, name } : { ...found });
      })
    );
  }

  private _answerJobs(since: string | null): IJobsAnswer {
    const records = new Map(this.jobs.map(j => [j.id, JSON.stringify(j)]));
    const names = new Map(Object.entries(this.names));
    const base = since === null ? undefined : this._versions.get(since);
    // Opaque to the client, with a character that must be encoded in a query.
    const version = `p${this._process}/${++this._count}`;
    const order = this.jobs.map(j => j.id).join(',');
    this._versions.set(version, { records, names, order });
    if (!base) {
      // Every name, also of jobs not listed (the client ignores those).
      return {
        version,
        complete: true,
        jobs: this.jobs.map(j => ({ ...j })),
        names: Object.fromEntries(names)
      };
    }
    const lost = this.loseFromNextDelta;
    this.loseFromNextDelta = null;
    const delta: IJobsAnswer = {
      version,
      complete: false,
      jobs: this.jobs
        .filter(j => j.id !== lost)
        .filter(j => base.records.get(j.id) !== records.get(j.id))
        .map(j => ({ ...j })),
      names: Object.fromEntries(
        Array.from(names).filter(([id, name]) => base.names.get(id) !== name)
      )
    };
    // As the server: the ids only when the list's jobs or order changed.
    if (base.order !== order || this.sendIdsAlways) {
      delta.ids = this.jobs.map(j => j.id);
    }
    return delta;
  }

  private _process = 1;
  private _count = 0;
  private _versions = new Map<string, ISnapshot>();
  private _delay: Promise<void> | null = null;
}

describe('JobsModel', () => {
  let server: FakeServer;
  let model: JobsModel;

  beforeEach(() => {
    server = new FakeServer();
    model = new JobsModel(server.api(), { auto: false, interval: 60 });
    model.visible = true;
  });

  afterEach(() => model.dispose());

  it('loads the cluster summary and the jobs', async () => {
    server.jobs = [
      job({ id: '1' }),
      job({ id: '2', state: 'RUN', result: '' })
    ];
    await model.refresh();
    expect(model.loading).toBe(false);
    expect(model.error).toBeNull();
    expect(model.cluster?.account).toBe('alice');
    expect(model.jobs.map(j => j.id)).toEqual(['1', '2']);
  });

  it("shows the server's message while the cluster is down and clears it when it is back", async () => {
    server.jobs = [job({ id: '1' })];
    await model.refresh();
    server.cluster = {
      ...server.cluster,
      reachable: false,
      nodes: [],
      error: 'The Flux cluster at http://127.0.0.1:5000 does not answer.'
    };
    await model.refresh();
    expect(model.error).toBe(
      'The Flux cluster at http://127.0.0.1:5000 does not answer.'
    );
    expect(model.poll.state.phase).toBe('rejected');
    // The last known jobs stay on screen meanwhile.
    expect(model.jobs.map(j => j.id)).toEqual(['1']);

    server.cluster = {
      ...server.cluster,
      reachable: true,
      nodes: ['n0'],
      error: null
    };
    await model.refresh();
    expect(model.error).toBeNull();
  });

  it('backs off while the cluster is down, and recovers by itself', async () => {
    jest.useFakeTimers();
    // Poll draws each wait at random up to three times the last; take the top.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.9999999);
    try {
      const polled = new JobsModel(server.api(), { interval: 1 });
      polled.visible = true;
      server.cluster = { ...server.cluster, reachable: false, error: 'down' };
      const waits: number[] = [];
      polled.poll.ticked.connect((_, state) => {
        if (state.phase === 'rejected') {
          waits.push(state.interval);
        }
      });
      for (let i = 0; waits.length < 6 && i < 20; i++) {
        await jest.advanceTimersByTimeAsync(60000);
      }
      expect(waits.length).toBeGreaterThanOrEqual(6);
      expect(waits[0]).toBeLessThan(waits[1]);
      expect(waits[1]).toBeLessThan(waits[2]);
      expect(Math.max(...waits)).toBe(60000);
      expect(polled.error).toBe('down');

      server.cluster = { ...server.cluster, reachable: true, error: null };
      await jest.advanceTimersByTimeAsync(60000);
      expect(polled.error).toBeNull();
      expect(polled.poll.state.interval).toBe(1000);
      polled.dispose();
    } finally {
      random.mockRestore();
      jest.useRealTimers();
    }
  });

  it('shows why the credentials failed, as the server put it', async () => {
    server.jobsAnswer = {
      status: 401,
      message: 'Flux login failed for alice: Incorrect user or password'
    };
    await model.refresh();
    expect(model.error).toBe(
      'Flux login failed for alice: Incorrect user or password'
    );
  });

  it('keeps the objects of finished jobs in a complete answer, so their rows need no re-render', async () => {
    server.jobs = [
      job({ id: '1' }),
      job({ id: '2', state: 'RUN', result: '' })
    ];
    await model.refresh();
    const [done, running] = model.jobs;
    server.restart();
    await model.refresh();
    expect(server.answers[1].complete).toBe(true);
    expect(model.jobs[0]).toBe(done);
    expect(model.jobs[1]).not.toBe(running);
    expect(model.jobs[1]).toEqual(running);
  });

  it('announces once a job it saw running when it ends, and never old finished jobs', async () => {
    const finished: JobId[] = [];
    model.jobFinished.connect((_, j) => finished.push(j.id));
    server.jobs = [
      job({ id: '1' }),
      job({ id: '2', state: 'RUN', result: '' })
    ];
    await model.refresh();
    expect(finished).toEqual([]);
    server.jobs[1] = { ...server.jobs[1], state: 'INACTIVE', result: 'FAILED' };
    await model.refresh();
    await model.refresh();
    expect(finished).toEqual(['2']);
  });

  it('announces a job submitted from the panel even if it ended before the next refresh', async () => {
    const finished: JobId[] = [];
    model.jobFinished.connect((_, j) => finished.push(j.id));
    await model.refresh();
    server.jobs = [job({ id: '7', result: 'COMPLETED' })];
    model.watch('7');
    await model.refresh();
    expect(finished).toEqual(['7']);
  });

  it('stands by while hidden with nothing running', async () => {
    server.jobs = [job({ id: '1' })];
    await model.refresh();
    model.visible = false;
    server.requests = [];
    await model.refresh();
    expect(server.requests).toEqual([]);
    expect(model.poll.state.phase).toBe('standby');
  });

  it('while hidden, asks only about the jobs it saw running', async () => {
    const finished: JobId[] = [];
    model.jobFinished.connect((_, j) => finished.push(j.id));
    server.jobs = [
      job({ id: '1' }),
      job({ id: '2', state: 'RUN', result: '' })
    ];
    await model.refresh();
    model.visible = false;
    server.requests = [];
    server.jobs[1] = {
      ...server.jobs[1],
      state: 'INACTIVE',
      result: 'COMPLETED'
    };
    await model.refresh();
    expect(server.requests).toEqual(['jobs/2']);
    expect(finished).toEqual(['2']);
    server.requests = [];
    await model.refresh();
    expect(server.requests).toEqual([]);
  });

  it('stops watching a job the cluster no longer knows', async () => {
    server.jobs = [job({ id: '2', state: 'RUN', result: '' })];
    await model.refresh();
    model.visible = false;
    server.jobs = [];
    await model.refresh();
    expect(model.error).toBeNull();
    server.requests = [];
    await model.refresh();
    expect(server.requests).toEqual([]);
    expect(model.poll.state.phase).toBe('standby');
  });

  it('with notifications off, asks nothing while hidden', async () => {
    server.jobs = [job({ id: '2', state: 'RUN', result: '' })];
    await model.refresh();
    model.watchWhileHidden = false;
    model.visible = false;
    server.requests = [];
    await model.refresh();
    expect(server.requests).toEqual([]);
  });

  it('refreshes at once when shown again', async () => {
    await model.refresh();
    model.visible = false;
    server.requests = [];
    model.visible = true;
    await model.poll.tick;
    expect(server.requests).toEqual(['cluster', 'jobs']);
  });

  describe('delta refresh', () => {
    const ids = () => model.jobs.map(j => j.id);

    it('asks for the complete listing once when the Refresh button asks', async () => {
      server.jobs = [job({ id: '1' })];
      await model.refresh();
      await model.refresh({ rescan: true });
      await model.refresh();
      expect(server.rescans).toEqual([false, true, false]);
      // still a delta against what the panel has
      expect(server.sinces[1]).toBe(server.answers[0].version);
    });

    it("sends the first answer's version as since on the second refresh", async () => {
      server.jobs = [job({ id: '1' })];
      await model.refresh();
      await model.refresh();
      expect(server.sinces).toEqual([null, server.answers[0].version]);
      expect(server.answers[0].version).toContain('/');
      expect(server.answers.map(a => a.complete)).toEqual([true, false]);
      await model.refresh();
      expect(server.sinces[2]).toBe(server.answers[1].version);
    });

    it('replaces a changed job and keeps the objects of unchanged ones', async () => {
      server.jobs = [
        job({ id: '3', state: 'RUN', result: '' }),
        job({ id: '2', state: 'RUN', result: '' }),
        job({ id: '1' })
      ];
      await model.refresh();
      const before = model.jobs;
      server.jobs[1] = { ...server.jobs[1], runtime: 7 };
      await model.refresh();
      expect(server.answers[1].jobs.map(j => j.id)).toEqual(['2']);
      expect(ids()).toEqual(['3', '2', '1']);
      expect(model.jobs[0]).toBe(before[0]);
      expect(model.jobs[1]).not.toBe(before[1]);
      expect(model.jobs[1].runtime).toBe(7);
      expect(model.getJob('2')).toBe(model.jobs[1]);
      expect(model.jobs[2]).toBe(before[2]);

      // Nothing changed at all: the very same list.
      const list = model.jobs;
      await model.refresh();
      expect(server.answers[2].jobs).toEqual([]);
      expect(model.jobs).toBe(list);
    });

    it('drops a job that is gone from ids', async () => {
      server.jobs = [job({ id: '3' }), job({ id: '2' }), job({ id: '1' })];
      await model.refresh();
      const [three, , one] = model.jobs;
      server.jobs = [server.jobs[0], server.jobs[2]];
      await model.refresh();
      expect(server.answers[1].complete).toBe(false);
      expect(ids()).toEqual(['3', '1']);
      expect(model.jobs[0]).toBe(three);
      expect(model.jobs[1]).toBe(one);
      expect(model.getJob('2')).toBeUndefined();
    });

    it("adds a new job where the server's order puts it", async () => {
      server.jobs = [
        job({ id: '2', state: 'RUN', result: '' }),
        job({ id: '1' })
      ];
      await model.refresh();
      const [two, one] = model.jobs;
      // Active jobs first, then finished ones, newest first.
      server.jobs = [
        server.jobs[0],
        job({ id: '3', state: 'SCHED', result: '' }),
        server.jobs[1]
      ];
      await model.refresh();
      expect(server.answers[1].complete).toBe(false);
      expect(server.answers[1].jobs.map(j => j.id)).toEqual(['3']);
      expect(ids()).toEqual(['2', '3', '1']);
      expect(model.jobs[0]).toBe(two);
      expect(model.jobs[2]).toBe(one);
      expect(model.getJob('3')?.state).toBe('SCHED');
    });

    it('shows the names given in flux-hub in place of Flux names, across deltas', async () => {
      server.jobs = [
        job({ id: '2', name: 'python3', state: 'RUN', result: '' }),
        job({ id: '1', name: 'hostname' })
      ];
      // 99 is not listed: its name is ignored.
      server.names = { '2': 'training', '99': 'elsewhere' };
      await model.refresh();
      expect(model.jobs.map(j => j.name)).toEqual(['training', 'hostname']);
      expect(model.getJob('99')).toBeUndefined();

      // The job changes; the delta does not repeat its name, which stays.
      server.jobs[0] = { ...server.jobs[0], runtime: 30 };
      await model.refresh();
      expect(server.answers[1].names).toEqual({});
      expect(server.answers[1].jobs[0].name).toBe('python3');
      expect(model.getJob('2')?.name).toBe('training');
      expect(model.getJob('2')?.runtime).toBe(30);

      // And a later delta leaving it out changes nothing.
      const named = model.getJob('2');
      await model.refresh();
      expect(model.getJob('2')).toBe(named);
      expect(model.getJob('2')?.name).toBe('training');
    });

    it('shows a name given later to a finished job', async () => {
      server.jobs = [job({ id: '2', name: 'hostname' }), job({ id: '1' })];
      await model.refresh();
      const [two, one] = model.jobs;
      server.names = { '2': 'check nodes' };
      await model.refresh();
      expect(server.answers[1].jobs).toEqual([]);
      expect(server.answers[1].names).toEqual({ '2': 'check nodes' });
      expect(model.jobs[0]).not.toBe(two);
      expect(model.jobs[0]).toEqual({ ...two, name: 'check nodes' });
      expect(model.getJob('2')).toBe(model.jobs[0]);
      expect(model.jobs[1]).toBe(one);
    });

    it('takes the complete answer after a server restart and resyncs', async () => {
      server.jobs = [
        job({ id: '3', state: 'RUN', result: '' }),
        job({ id: '2' }),
        job({ id: '1' })
      ];
      server.names = { '3': 'long run' };
      await model.refresh();
      const one = model.getJob('1');
      server.restart();
      server.jobs = [
        { ...server.jobs[0], runtime: 99 },
        job({ id: '4' }),
        server.jobs[2]
      ];
      server.names = { '3': 'long run', '4': 'new' };
      await model.refresh();
      expect(server.sinces[1]).toBe(server.answers[0].version);
      expect(server.answers[1].complete).toBe(true);
      expect(ids()).toEqual(['3', '4', '1']);
      expect(model.jobs.map(j => j.name)).toEqual([
        'long run',
        'new',
        'hostname'
      ]);
      expect(model.getJob('3')?.runtime).toBe(99);
      expect(model.getJob('2')).toBeUndefined();
      expect(model.getJob('1')).toBe(one);

      // Deltas again, from the new version on.
      await model.refresh();
      expect(server.sinces[2]).toBe(server.answers[1].version);
      expect(server.answers[2].complete).toBe(false);
      expect(ids()).toEqual(['3', '4', '1']);
    });

    it('announces a job that finishes in a delta', async () => {
      const finished: string[] = [];
      model.jobFinished.connect((_, j) => finished.push(`${j.id} ${j.name}`));
      server.jobs = [
        job({ id: '2', state: 'RUN', result: '' }),
        job({ id: '1' })
      ];
      server.names = { '2': 'train' };
      await model.refresh();
      server.jobs[0] = {
        ...server.jobs[0],
        state: 'INACTIVE',
        result: 'FAILED'
      };
      await model.refresh();
      expect(server.answers[1].complete).toBe(false);
      expect(finished).toEqual(['2 train']);
      await model.refresh();
      expect(finished).toEqual(['2 train']);
    });

    it('takes a delta without ids as the same jobs in the same order', async () => {
      server.jobs = [
        job({ id: '2', state: 'RUN', result: '' }),
        job({ id: '1' })
      ];
      await model.refresh();
      const [, done] = model.jobs;
      server.jobs[0] = { ...server.jobs[0], runtime: 12.5 };
      await model.refresh();
      expect(server.answers[1].ids).toBeUndefined();
      expect(server.answers[1].jobs.map(j => j.id)).toEqual(['2']);
      expect(ids()).toEqual(['2', '1']);
      expect(model.jobs[0].runtime).toBe(12.5);
      expect(model.jobs[1]).toBe(done);
    });

    it('falls back to the whole list when a delta without ids sends a new job', async () => {
      server.jobs = [job({ id: '1' })];
      await model.refresh();
      // A server that (wrongly) leaves the ids out although a job is new
      const answer = (server as any)._answerJobs.bind(server);
      jest
        .spyOn(server as any, '_answerJobs')
        .mockImplementation((since: any) => {
          const a = answer(since);
          delete a.ids;
          return a;
        });
      server.jobs = [job({ id: '3' }), server.jobs[0]];
      server.requests = [];
      await model.refresh();
      expect(server.requests).toEqual(['cluster', 'jobs', 'jobs']);
      expect(ids()).toEqual(['3', '1']);
    });

    it('falls back to the whole list in the same refresh when a delta names an unknown job', async () => {
      server.jobs = [job({ id: '1' })];
      await model.refresh();
      server.jobs = [
        job({ id: '2', state: 'RUN', result: '' }),
        server.jobs[0]
      ];
      server.loseFromNextDelta = '2';
      server.requests = [];
      await model.refresh();
      expect(server.requests).toEqual(['cluster', 'jobs', 'jobs']);
      expect(server.sinces.slice(1)).toEqual([server.answers[0].version, null]);
      expect(server.answers[2].complete).toBe(true);
      expect(model.error).toBeNull();
      expect(ids()).toEqual(['2', '1']);
      await model.refresh();
      expect(server.sinces[3]).toBe(server.answers[2].version);
    });

    it('keeps the version when the job list fails, and forgets it when the fallback fails', async () => {
      server.jobs = [job({ id: '1' })];
      await model.refresh();
      server.jobsAnswer = { status: 502, message: 'Flux does not answer' };
      await model.refresh();
      expect(model.error).toBe('Flux does not answer');
      server.jobsAnswer = null;
      await model.refresh();
      expect(model.error).toBeNull();
      expect(server.sinces[1]).toBe(server.answers[0].version);

      // A delta the model cannot use, then the whole list fails too.
      server.jobs = [job({ id: '2' }), server.jobs[0]];
      server.loseFromNextDelta = '2';
      const api = model.api;
      const jobs = api.jobs.bind(api);
      const spy = jest.spyOn(api, 'jobs').mockImplementation(async since => {
        if (since === undefined) {
          throw new Error('gone again');
        }
        return jobs(since);
      });
      await model.refresh();
      expect(model.error).toBe('gone again');
      expect(ids()).toEqual(['1']);
      spy.mockRestore();
      await model.refresh();
      expect(server.sinces[server.sinces.length - 1]).toBeNull();
      expect(server.answers[server.answers.length - 1].complete).toBe(true);
      expect(ids()).toEqual(['2', '1']);
    });

    it('ignores an answer that comes after that of a later refresh', async () => {
      server.jobs = [job({ id: '1', state: 'RUN', result: '' })];
      await model.refresh();
      const release = server.delayNext();
      server.jobs = [{ ...server.jobs[0], runtime: 5 }];
      // A timed tick, held up; then a refresh (the button, say) overtakes it.
      void model.poll.schedule({ interval: Poll.IMMEDIATE, phase: 'resolved' });
      await flush(20);
      expect(server.answers.length).toBe(2);
      server.jobs = [
        job({ id: '2', state: 'RUN', result: '' }),
        server.jobs[0]
      ];
      server.jobs[1] = { ...server.jobs[1], runtime: 9 };
      await model.refresh();
      expect(ids()).toEqual(['2', '1']);
      release();
      await flush(20);
      expect(ids()).toEqual(['2', '1']);
      expect(model.getJob('1')?.runtime).toBe(9);
      await model.refresh();
      expect(server.sinces[3]).toBe(server.answers[2].version);
    });
  });

  describe('with job ids above 2^53', () => {
    const ids = () => model.jobs.map(j => j.id);

    it('keeps jobs whose ids one number cannot tell apart apart, through whole answers and deltas', async () => {
      // BIG.b and BIG.c are both 1152921504606859264 as numbers.
      server.jobs = [
        job({ id: BIG.c, state: 'RUN', result: '' }),
        job({ id: BIG.b, state: 'RUN', result: '' }),
        job({ id: BIG.a })
      ];
      server.names = { [BIG.b]: 'mine', [BIG.c]: 'other' };
      await model.refresh();
      expect(ids()).toEqual([BIG.c, BIG.b, BIG.a]);
      expect(model.getJob(BIG.b)?.name).toBe('mine');
      expect(model.getJob(BIG.c)?.name).toBe('other');
      const [c, , a] = model.jobs;

      // A delta: BIG.b finishes, a new big id arrives, BIG.a is purged.
      server.jobs = [
        server.jobs[0],
        job({ id: BIG.d, state: 'SCHED', result: '' }),
        { ...server.jobs[1], state: 'INACTIVE', result: 'CANCELED' }
      ];
      await model.refresh();
      const delta = server.answers[1];
      expect(delta.complete).toBe(false);
      expect(delta.ids).toEqual([BIG.c, BIG.d, BIG.b]);
      expect(delta.jobs.map(j => j.id)).toEqual([BIG.d, BIG.b]);
      expect(ids()).toEqual([BIG.c, BIG.d, BIG.b]);
      expect(model.jobs[0]).toBe(c);
      expect(model.getJob(BIG.c)?.state).toBe('RUN');
      expect(model.getJob(BIG.b)?.result).toBe('CANCELED');
      expect(model.getJob(BIG.b)?.name).toBe('mine');
      expect(model.getJob(BIG.a)).toBeUndefined();
      expect(model.jobs).not.toContain(a);
    });

    it('watches a submitted job by its exact id while hidden, and announces that id', async () => {
      const finished: JobId[] = [];
      model.jobFinished.connect((_, j) => finished.push(j.id));
      server.jobs = [job({ id: BIG.c, state: 'RUN', result: '' })];
      await model.refresh();
      model.visible = false;
      server.jobs = [
        job({ id: BIG.b, state: 'RUN', result: '' }),
        { ...server.jobs[0] }
      ];
      model.watch(BIG.b);
      server.requests = [];
      await model.refresh();
      expect(server.requests.sort()).toEqual([
        `jobs/${BIG.b}`,
        `jobs/${BIG.c}`
      ]);
      expect(finished).toEqual([]);
      server.jobs[0] = {
        ...server.jobs[0],
        state: 'INACTIVE',
        result: 'FAILED'
      };
      await model.refresh();
      expect(finished).toEqual([BIG.b]);
      expect(model.getJob(BIG.b)?.result).toBe('FAILED');
    });
  });
});
