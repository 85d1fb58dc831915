import { FluxHubAPI, IClusterInfo, IJob } from '../api';
import { JobsModel } from '../model';
import { job, json, settingsWith } from './fakes';

/** A stand-in for the server extension: answers as Interface 4 says, and counts requests. */
class FakeServer {
  cluster: IClusterInfo = {
    account: 'alice',
    url: 'http://127.0.0.1:5000',
    nodes: ['node-0', 'node-1'],
    reachable: true,
    error: null
  };
  jobs: IJob[] = [];
  jobsAnswer: { status: number; message: string } | null = null;
  requests: string[] = [];

  api(): FluxHubAPI {
    return new FluxHubAPI(
      settingsWith(async request => {
        const path = new URL(request.url).pathname.replace(
          '/user/alice/flux-hub/api/',
          ''
        );
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
          return json(200, { jobs: this.jobs.map(j => ({ ...j })) });
        }
        const match = /^jobs\/(\d+)$/.exec(path);
        const found = match && this.jobs.find(j => j.id === Number(match[1]));
        return found
          ? json(200, { ...found })
          : json(404, { message: 'no such job', reasons: [] });
      })
    );
  }
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
    server.jobs = [job({ id: 1 }), job({ id: 2, state: 'RUN', result: '' })];
    await model.refresh();
    expect(model.loading).toBe(false);
    expect(model.error).toBeNull();
    expect(model.cluster?.account).toBe('alice');
    expect(model.jobs.map(j => j.id)).toEqual([1, 2]);
  });

  it("shows the server's message while the cluster is down and clears it when it is back", async () => {
    server.jobs = [job({ id: 1 })];
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
    expect(model.jobs.map(j => j.id)).toEqual([1]);

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

  it('keeps the objects of finished jobs, so their rows need no re-render', async () => {
    server.jobs = [job({ id: 1 }), job({ id: 2, state: 'RUN', result: '' })];
    await model.refresh();
    const [done, running] = model.jobs;
    await model.refresh();
    expect(model.jobs[0]).toBe(done);
    expect(model.jobs[1]).not.toBe(running);
  });

  it('announces once a job it saw running when it ends, and never old finished jobs', async () => {
    const finished: number[] = [];
    model.jobFinished.connect((_, j) => finished.push(j.id));
    server.jobs = [job({ id: 1 }), job({ id: 2, state: 'RUN', result: '' })];
    await model.refresh();
    expect(finished).toEqual([]);
    server.jobs[1] = { ...server.jobs[1], state: 'INACTIVE', result: 'FAILED' };
    await model.refresh();
    await model.refresh();
    expect(finished).toEqual([2]);
  });

  it('announces a job submitted from the panel even if it ended before the next refresh', async () => {
    const finished: number[] = [];
    model.jobFinished.connect((_, j) => finished.push(j.id));
    await model.refresh();
    server.jobs = [job({ id: 7, result: 'COMPLETED' })];
    model.watch(7);
    await model.refresh();
    expect(finished).toEqual([7]);
  });

  it('stands by while hidden with nothing running', async () => {
    server.jobs = [job({ id: 1 })];
    await model.refresh();
    model.visible = false;
    server.requests = [];
    await model.refresh();
    expect(server.requests).toEqual([]);
    expect(model.poll.state.phase).toBe('standby');
  });

  it('while hidden, asks only about the jobs it saw running', async () => {
    const finished: number[] = [];
    model.jobFinished.connect((_, j) => finished.push(j.id));
    server.jobs = [job({ id: 1 }), job({ id: 2, state: 'RUN', result: '' })];
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
    expect(finished).toEqual([2]);
    server.requests = [];
    await model.refresh();
    expect(server.requests).toEqual([]);
  });

  it('stops watching a job the cluster no longer knows', async () => {
    server.jobs = [job({ id: 2, state: 'RUN', result: '' })];
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
    server.jobs = [job({ id: 2, state: 'RUN', result: '' })];
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
});
