import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { isInteger, parse as parseLossless } from 'lossless-json';

/** The flux-hub server extension's API namespace under the server's base URL. */
export const API_NAMESPACE = 'flux-hub/api';

/**
 * An error answered by the flux-hub server extension.
 *
 * `message` is the server's sentence for a person; `reasons` are the cluster's
 * own explanations when it refused a request (e.g. "The server only has 2 nodes");
 * `field`, when the server names one, is the request field it refused
 * (e.g. "workdir").
 */
export class FluxHubError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string,
    reasons: string[] = [],
    field: string | null = null
  ) {
    super(response, message);
    this.name = 'FluxHubError';
    this.reasons = reasons;
    this.field = field;
  }

  readonly reasons: string[];
  readonly field: string | null;

  get status(): number {
    return this.response.status;
  }
}

/** The full URL of an API endpoint. */
export function apiUrl(
  endPoint: string,
  settings: ServerConnection.ISettings
): string {
  return URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
}

async function send(
  endPoint: string,
  settings: ServerConnection.ISettings,
  init: RequestInit
): Promise<Response> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      apiUrl(endPoint, settings),
      init,
      settings
    );
  } catch (error) {
    throw error instanceof ServerConnection.NetworkError
      ? error
      : new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    throw await errorFrom(response);
  }
  return response;
}

/** Turn an error response into a FluxHubError carrying the server's words. */
async function errorFrom(response: Response): Promise<FluxHubError> {
  const text = await response.text();
  let message = '';
  let reasons: string[] = [];
  let field: string | null = null;
  try {
    const body = JSON.parse(text);
    message = typeof body.message === 'string' ? body.message : '';
    reasons = Array.isArray(body.reasons) ? body.reasons.map(String) : [];
    field = typeof body.field === 'string' ? body.field : null;
  } catch {
    // Not JSON (a proxy's page, say): a short plain text is still worth showing.
    message = text.length < 300 ? text.trim() : '';
  }
  if (!message) {
    message =
      `The server answered ${response.status} ${response.statusText}`.trim();
  }
  return new FluxHubError(response, message, reasons, field);
}

/**
 * Any integer that a number cannot hold exactly (beyond 2^53) has at least 16
 * digits, and no "." or digit before them (unlike the digits of a fraction
 * such as 0.014105081558227539): a text without such a run is read exactly by
 * JSON.parse. (A run inside a string only sends the text the exact way.)
 */
const LONG_INTEGER = /(?:^|[^.0-9])[0-9]{16}/;

/**
 * Parse JSON without losing any integer: those a number cannot hold exactly
 * (Flux job ids of instances up for more than 6.2 days) are kept as their
 * decimal text; every other value is what JSON.parse gives.
 *
 * lossless-json is exact but about five times slower than the native parser,
 * so the native one reads the answers that hold no integer of 16 digits or
 * more (all those of an instance up for less than 6.2 days).
 */
export function parseExact(text: string): unknown {
  if (!LONG_INTEGER.test(text)) {
    return JSON.parse(text);
  }
  // No reviver: it would walk the whole answer once more.
  return parseLossless(text, null, keepUnsafeIntegers);
}

function keepUnsafeIntegers(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) || !isInteger(text) ? value : text;
}

/**
 * Call the flux-hub server extension and return its JSON answer, read by
 * `parse` (by default exactly: see parseExact).
 *
 * Throws FluxHubError (with the server's `message` and `reasons`) on an error
 * status, and ServerConnection.NetworkError when the server cannot be reached.
 */
export async function requestAPI<T>(
  endPoint: string,
  settings: ServerConnection.ISettings,
  init: RequestInit = {},
  parse: (text: string) => unknown = parseExact
): Promise<T> {
  const response = await send(endPoint, settings, init);
  const text = await response.text();
  return (text ? parse(text) : null) as T;
}

/**
 * Read a streamed text endpoint chunk by chunk as the server writes it.
 *
 * Resolves when the stream ends; abort `signal` to stop following it (the
 * promise then rejects; check `signal.aborted` to tell that from a failure).
 */
export async function streamAPI(
  endPoint: string,
  settings: ServerConnection.ISettings,
  onChunk: (text: string) => void,
  signal: AbortSignal
): Promise<void> {
  const response = await send(endPoint, settings, { signal });
  if (!response.body) {
    // No streaming support in this browser: take the whole answer at once.
    const text = await response.text();
    if (text) {
      onChunk(text);
    }
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  // Cancel the reader ourselves: not every fetch ties the abort to the body.
  const stop = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      const text = decoder.decode(value, { stream: true });
      if (text) {
        onChunk(text);
      }
    }
    if (signal.aborted) {
      throw new DOMException('Stopped following the stream.', 'AbortError');
    }
    const rest = decoder.decode();
    if (rest) {
      onChunk(rest);
    }
  } finally {
    signal.removeEventListener('abort', stop);
    reader.releaseLock();
  }
}
