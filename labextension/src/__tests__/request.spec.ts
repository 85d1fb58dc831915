import { ServerConnection } from '@jupyterlab/services';

import { FluxHubAPI } from '../api';
import { FluxHubError, requestAPI } from '../request';
import { controlledStream, failure, flush, json, settingsWith } from './fakes';

describe('requestAPI', () => {
  it('calls the flux-hub API under the server base URL and returns its JSON', async () => {
    const seen: Request[] = [];
    const settings = settingsWith(async request => {
      seen.push(request);
      return json(200, { jobs: [] });
    });
    const body = await requestAPI<{ jobs: unknown[] }>('jobs', settings);
    expect(body).toEqual({ jobs: [] });
    const url = new URL(seen[0].url);
    expect(url.origin + url.pathname).toBe(
      'http://localhost:8888/user/alice/flux-hub/api/jobs'
    );
    expect(seen[0].method).toBe('GET');
  });

  it("throws the server's message and reasons when it refuses", async () => {
    const settings = settingsWith(async () =>
      json(400, {
        message: 'The cluster refused the job.',
        reasons: ['The server only has 2 nodes, you requested 5']
      })
    );
    const error = await failure(
      requestAPI('jobs', settings, { method: 'POST' })
    );
    expect(error).toBeInstanceOf(FluxHubError);
    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    expect(error.status).toBe(400);
    expect(error.message).toBe('The cluster refused the job.');
    expect(error.reasons).toEqual([
      'The server only has 2 nodes, you requested 5'
    ]);
  });

  it('names the cluster URL when the cluster is unreachable (503)', async () => {
    const settings = settingsWith(async () =>
      json(503, {
        message: 'The Flux cluster at http://127.0.0.1:5999 does not answer.',
        reasons: []
      })
    );
    const error = await failure(requestAPI('jobs', settings));
    expect(error.status).toBe(503);
    expect(error.message).toContain('http://127.0.0.1:5999');
  });

  it('shows a short plain-text error body, or the status when there is none', async () => {
    const plain = settingsWith(
      async () => new Response('Bad gateway', { status: 502 })
    );
    expect((await failure(requestAPI('cluster', plain))).message).toBe(
      'Bad gateway'
    );
    const empty = settingsWith(
      async () =>
        new Response('', { status: 500, statusText: 'Internal Server Error' })
    );
    expect((await failure(requestAPI('cluster', empty))).message).toBe(
      'The server answered 500 Internal Server Error'
    );
  });

  it('turns a failed connection into a NetworkError', async () => {
    const settings = settingsWith(async () => {
      throw new TypeError('Failed to fetch');
    });
    const error = await failure(requestAPI('cluster', settings));
    expect(error).toBeInstanceOf(ServerConnection.NetworkError);
  });
});

describe('FluxHubAPI', () => {
  it('submits the form fields as one JSON body and returns the new id', async () => {
    let sent: any = null;
    const api = new FluxHubAPI(
      settingsWith(async request => {
        sent = {
          url: request.url,
          method: request.method,
          body: await request.json()
        };
        return json(201, { id: 321032028160 });
      })
    );
    const id = await api.submit({
      command: 'sleep 1',
      name: 'nap',
      num_nodes: 2,
      envars: { A: '1' }
    });
    expect(id).toBe(321032028160);
    expect(sent.method).toBe('POST');
    expect(new URL(sent.url).pathname).toBe('/user/alice/flux-hub/api/jobs');
    expect(sent.body).toEqual({
      command: 'sleep 1',
      name: 'nap',
      num_nodes: 2,
      envars: { A: '1' }
    });
  });

  it('asks for the job list whole, or since a version (encoded)', async () => {
    const seen: URL[] = [];
    const answer = {
      version: 'p1/2',
      complete: false,
      jobs: [],
      ids: [1],
      names: { '1': 'train' }
    };
    const api = new FluxHubAPI(
      settingsWith(async request => {
        seen.push(new URL(request.url));
        return json(200, answer);
      })
    );
    expect(await api.jobs()).toEqual(answer);
    await api.jobs('p1/2?a=b&c d#e');
    expect(seen.map(url => url.pathname)).toEqual([
      '/user/alice/flux-hub/api/jobs',
      '/user/alice/flux-hub/api/jobs'
    ]);
    // (ServerConnection adds a cache-busting parameter of its own to a GET.)
    expect(seen[0].searchParams.has('since')).toBe(false);
    expect(seen[1].searchParams.get('since')).toBe('p1/2?a=b&c d#e');
  });

  it('joins the output chunks and cancels with POST', async () => {
    const calls: string[] = [];
    const api = new FluxHubAPI(
      settingsWith(async request => {
        calls.push(`${request.method} ${new URL(request.url).pathname}`);
        if (new URL(request.url).pathname.endsWith('/output')) {
          return json(200, { output: ['a\n', 'b\n'] });
        }
        return json(200, { message: 'Job is requested to cancel.' });
      })
    );
    expect(await api.output(7)).toBe('a\nb\n');
    expect(await api.cancel(7)).toBe('Job is requested to cancel.');
    expect(calls).toEqual([
      'GET /user/alice/flux-hub/api/jobs/7/output',
      'POST /user/alice/flux-hub/api/jobs/7/cancel'
    ]);
  });

  it('hands over streamed output chunk by chunk as it arrives', async () => {
    const stream = controlledStream();
    const api = new FluxHubAPI(settingsWith(async () => stream.response));
    const chunks: string[] = [];
    const done = api.streamOutput(
      9,
      c => chunks.push(c),
      new AbortController().signal
    );
    stream.push('line 1\n');
    await flush(10);
    expect(chunks).toEqual(['line 1\n']);
    stream.push('line 2\n');
    stream.end();
    await done;
    expect(chunks).toEqual(['line 1\n', 'line 2\n']);
  });

  it('stops reading the stream when aborted', async () => {
    const stream = controlledStream();
    let signal: AbortSignal | null = null;
    const api = new FluxHubAPI(
      settingsWith(async request => {
        signal = request.signal;
        return stream.response;
      })
    );
    const controller = new AbortController();
    const chunks: string[] = [];
    const done = api.streamOutput(9, c => chunks.push(c), controller.signal);
    stream.push('first\n');
    await flush(10);
    controller.abort();
    await expect(done).rejects.toBeTruthy();
    expect(signal!.aborted).toBe(true);
    expect(chunks).toEqual(['first\n']);
  });

  it("reports a refused stream (another user's job) with the server message", async () => {
    const api = new FluxHubAPI(
      settingsWith(async () =>
        json(403, { message: 'bob does not own job 5', reasons: [] })
      )
    );
    const error = await failure(
      api.streamOutput(5, () => undefined, new AbortController().signal)
    );
    expect(error).toBeInstanceOf(FluxHubError);
    expect(error.status).toBe(403);
    expect(error.message).toBe('bob does not own job 5');
  });
});
