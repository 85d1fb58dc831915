import { ServerConnection } from '@jupyterlab/services';

import { FluxHubAPI } from '../api';
import { FluxHubError, parseExact, requestAPI } from '../request';
import {
  BIG,
  controlledStream,
  failure,
  flush,
  json,
  rawJson,
  settingsWith
} from './fakes';

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
    expect(id).toBe('321032028160');
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
      ids: ['1'],
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
    expect(await api.output('7')).toBe('a\nb\n');
    expect(await api.cancel('7')).toBe('Job is requested to cancel.');
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
      '9',
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
    const done = api.streamOutput('9', c => chunks.push(c), controller.signal);
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
      api.streamOutput('5', () => undefined, new AbortController().signal)
    );
    expect(error).toBeInstanceOf(FluxHubError);
    expect(error.status).toBe(403);
    expect(error.message).toBe('bob does not own job 5');
  });
});

describe('parseExact', () => {
  it('keeps integers beyond 2^53 as their decimal text, exactly', () => {
    const text =
      '{"a": 9007199254740993, "b": [1152921504606859321, 1152921504606859322],' +
      ' "c": -9007199254740993, "d": 18446744073709551615}';
    // What the native parser makes of them: other numbers.
    expect(JSON.parse(text).b[0]).toBe(JSON.parse(text).b[1]);
    expect(parseExact(text)).toEqual({
      a: '9007199254740993',
      b: ['1152921504606859321', '1152921504606859322'],
      c: '-9007199254740993',
      d: '18446744073709551615'
    });
  });

  it('reads everything else as JSON.parse does', () => {
    const text =
      '{"id": 1152921504606859321, "n": 4, "max": 9007199254740991, "neg": -3,' +
      ' "t": 1795838358.7588007, "e": 1e+16, "z": 0.0, "s": "12345678901234567890",' +
      ' "u": "\\u0192 \\n", "yes": true, "no": null, "o": {"x": [1.5, -0]}}';
    const { id, ...rest } = parseExact(text) as Record<string, unknown>;
    const { id: lossy, ...native } = JSON.parse(text);
    expect(id).toBe('1152921504606859321');
    expect(BigInt(lossy).toString()).toBe('1152921504606859264');
    expect(rest).toEqual(native);
    expect(rest.s).toBe('12345678901234567890');
    expect(rest.u).toBe('\u0192 \n');
  });

  it('answers the native parse for text with no long number, and rejects bad JSON', () => {
    const text = '{"jobs": [{"id": 63568871424, "t": 1795838358.7588007}]}';
    expect(parseExact(text)).toEqual(JSON.parse(text));
    // Long fractions are no integers; a big integer alone is one.
    const fraction = '{"runtime": 0.014105081558227539, "id": [63568871424]}';
    expect(parseExact(fraction)).toEqual(JSON.parse(fraction));
    expect(parseExact('9007199254740993')).toBe('9007199254740993');
    expect(parseExact('[9007199254740993]')).toEqual(['9007199254740993']);
    expect(() => parseExact('{"id": 9007199254740993,}')).toThrow(SyntaxError);
    expect(() => parseExact('{"id": 1}}')).toThrow(SyntaxError);
  });
});

describe('FluxHubAPI with job ids above 2^53', () => {
  /** An API whose every answer is `text`; the requests are recorded. */
  function answering(text: (path: string) => string) {
    const seen: string[] = [];
    const api = new FluxHubAPI(
      settingsWith(async request => {
        const path = new URL(request.url).pathname.replace(
          '/user/alice/flux-hub/api/',
          ''
        );
        seen.push(`${request.method} ${path}`);
        return rawJson(200, text(path));
      })
    );
    return { api, seen };
  }

  it('reads a whole job list exactly', async () => {
    const { api } = answering(
      () =>
        `{"version": "p1/1", "complete": true, "jobs": [` +
        `{"id": ${BIG.c}, "name": "b", "state": "RUN", "nnodes": 2},` +
        ` {"id": ${BIG.b}, "name": "a", "state": "INACTIVE", "t_submit": 1795838358.75},` +
        ` {"id": 42, "name": "small", "state": "INACTIVE"}],` +
        ` "names": {"${BIG.c}": "train"}}`
    );
    const answer = await api.jobs();
    expect(answer.jobs.map(j => j.id)).toEqual([BIG.c, BIG.b, '42']);
    expect(answer.jobs[0].nnodes).toBe(2);
    expect(answer.jobs[1].t_submit).toBe(1795838358.75);
    expect(answer.names).toEqual({ [BIG.c]: 'train' });
  });

  it("reads a delta's ids exactly", async () => {
    const { api } = answering(
      () =>
        `{"version": "p1/2", "complete": false,` +
        ` "jobs": [{"id": ${BIG.a}, "name": "new", "state": "SCHED"}],` +
        ` "ids": [${BIG.a}, ${BIG.c}, ${BIG.b}, 7], "names": {}}`
    );
    const answer = await api.jobs('p1/1');
    expect(answer.jobs[0].id).toBe(BIG.a);
    expect(answer.ids).toEqual([BIG.a, BIG.c, BIG.b, '7']);
  });

  it('reads a single job and the id of a submitted job exactly', async () => {
    const { api, seen } = answering(path =>
      path === 'jobs'
        ? `{"id": ${BIG.c}}`
        : `{"id": ${BIG.b}, "name": "sleep", "state": "RUN"}`
    );
    expect(await api.submit({ command: 'sleep 60' })).toBe(BIG.c);
    expect((await api.job(BIG.b)).id).toBe(BIG.b);
    expect(seen).toEqual(['POST jobs', `GET jobs/${BIG.b}`]);
  });

  it('names the exact decimal id in the URLs of job, output, stream and cancel', async () => {
    const { api, seen } = answering(path =>
      path.endsWith('/output')
        ? '{"output": ["hi\\n"]}'
        : path.endsWith('/cancel')
          ? '{"message": "Job is requested to cancel."}'
          : path.endsWith('/stream')
            ? 'hi\n'
            : `{"id": ${BIG.c}, "name": "x", "state": "RUN"}`
    );
    await api.job(BIG.c);
    expect(await api.output(BIG.c)).toBe('hi\n');
    await api.streamOutput(
      BIG.c,
      () => undefined,
      new AbortController().signal
    );
    expect(await api.cancel(BIG.c)).toBe('Job is requested to cancel.');
    expect(seen).toEqual([
      `GET jobs/${BIG.c}`,
      `GET jobs/${BIG.c}/output`,
      `GET jobs/${BIG.c}/output/stream`,
      `POST jobs/${BIG.c}/cancel`
    ]);
  });

  it('refuses an answer whose job id is not one', async () => {
    const { api } = answering(() => '{"id": 12.5, "name": "x"}');
    const error = await failure(api.job('12'));
    expect(error.message).toContain('not a Flux job id: 12.5');
    const negative = answering(() => '{"id": -1}');
    expect((await failure(negative.api.submit({ command: 'x' }))).message).toBe(
      'The server sent a job id that is not a Flux job id: -1'
    );
  });
});
