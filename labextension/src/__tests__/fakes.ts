import { ServerConnection } from '@jupyterlab/services';
import { LosslessNumber, stringify } from 'lossless-json';
// jsdom lacks web streams; Node's are the ones its fetch Response reads.
import { ReadableStream } from 'stream/web';

import { IJob } from '../api';

/**
 * A JSON answer as the server extension writes it: job ids, kept here as
 * decimal text, go out as JSON integers (`id` fields and the `ids` list),
 * however big.
 */
export function json(status: number, body: unknown): Response {
  return rawJson(status, stringify(body, serverIds)!);
}

/** A JSON answer of exactly this text. */
export function rawJson(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

const DECIMAL = /^[0-9]+$/;

function serverIds(key: string, value: unknown): unknown {
  const integer = (v: unknown) =>
    typeof v === 'string' && DECIMAL.test(v) ? new LosslessNumber(v) : v;
  if (key === 'id') {
    return integer(value);
  }
  if (key === 'ids' && Array.isArray(value)) {
    return value.map(integer);
  }
  return value;
}

/** Ids above 2^53 (Number.MAX_SAFE_INTEGER), as an instance up for weeks gives. */
export const BIG = {
  /** 2^53 + 1: the smallest integer a number cannot hold. */
  a: '9007199254740993',
  /** 2^60 + 12345 (F58 ƒ3gDmDv6tnx8). */
  b: '1152921504606859321',
  /** 2^60 + 12346: rounds to the same number as `b`. */
  c: '1152921504606859322',
  /** A job id of an instance up for 30 days (F58 ƒ6ra9Ab2w9q). */
  d: '43486559021826048'
};

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
  const n = nextId++;
  const id = fields.id ?? String(n);
  // Submitted in the order of small ids, and of creation for big ones.
  const order = Number.isSafeInteger(Number(id)) ? Number(id) : n;
  return {
    id,
    name: 'hostname',
    state: 'INACTIVE',
    result: 'COMPLETED',
    nnodes: 1,
    ntasks: 1,
    runtime: 0.5,
    t_submit: 1700000000 + order,
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
