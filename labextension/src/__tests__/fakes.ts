import { ServerConnection } from '@jupyterlab/services';
// jsdom lacks web streams; Node's are the ones its fetch Response reads.
import { ReadableStream } from 'stream/web';

import { IJob } from '../api';

/** A JSON answer as the server extension writes it. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** Settings whose fetch is `fetch`, so every request of the panel can be seen and answered. */
export function settingsWith(
  fetch: (request: Request) => Promise<Response>
): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/alice/',
    fetch: fetch as any
  });
}

/** A streamed text answer whose chunks are released one at a time by `push`. */
export function controlledStream(): {
  response: Response;
  push: (text: string) => void;
  end: () => void;
} {
  let controller!: { enqueue(chunk: Uint8Array): void; close(): void };
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    }
  });
  const encoder = new TextEncoder();
  return {
    response: new Response(stream as any, { status: 200 }),
    push: text => controller.enqueue(encoder.encode(text)),
    end: () => controller.close()
  };
}

let nextId = 1000;

export function job(fields: Partial<IJob> = {}): IJob {
  const id = fields.id ?? nextId++;
  return {
    id,
    name: 'hostname',
    state: 'INACTIVE',
    result: 'COMPLETED',
    nnodes: 1,
    ntasks: 1,
    runtime: 0.5,
    t_submit: 1700000000 + id,
    ...fields
  };
}

/** Resolve after pending promises and React updates have run. */
export function flush(ms = 0): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
