import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The flux-hub server extension's API namespace under the server's base URL. */
export const API_NAMESPACE = 'flux-hub/api';

/**
 * An error answered by the flux-hub server extension.
 *
 * `message` is the server's sentence for a person; `reasons` are the cluster's
 * own explanations when it refused a request (e.g. "The server only has 2 nodes").
 */
export class FluxHubError extends ServerConnection.ResponseError {
  constructor(response: Response, message: string, reasons: string[] = []) {
    super(response, message);
    this.name = 'FluxHubError';
    this.reasons = reasons;
  }

  readonly reasons: string[];

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
  try {
    const body = JSON.parse(text);
    message = typeof body.message === 'string' ? body.message : '';
    reasons = Array.isArray(body.reasons) ? body.reasons.map(String) : [];
  } catch {
    // Not JSON (a proxy's page, say): a short plain text is still worth showing.
    message = text.length < 300 ? text.trim() : '';
  }
  if (!message) {
    message =
      `The server answered ${response.status} ${response.statusText}`.trim();
  }
  return new FluxHubError(response, message, reasons);
}

/**
 * Call the flux-hub server extension and return its JSON answer.
 *
 * Throws FluxHubError (with the server's `message` and `reasons`) on an error
 * status, and ServerConnection.NetworkError when the server cannot be reached.
 */
export async function requestAPI<T>(
  endPoint: string,
  settings: ServerConnection.ISettings,
  init: RequestInit = {}
): Promise<T> {
  const response = await send(endPoint, settings, init);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
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
