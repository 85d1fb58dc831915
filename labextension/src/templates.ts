import { ServerConnection } from '@jupyterlab/services';

import { ISubmitRequest } from './api';
import { requestAPI } from './request';

/**
 * A template of the submit form (`GET templates`): a request in the panel's
 * POST jobs body shape under a name. `published`: one of the hub's
 * (`c.FluxAccountsMixin.job_templates`), the same for everyone and read-only
 * here; otherwise the person's own, kept in their history file.
 */
export interface ITemplate {
  name: string;
  description?: string | null;
  request: Partial<ISubmitRequest>;
  published: boolean;
}

/** One record of `GET history`, as far as the form reads it. */
interface IHistoryRecord {
  /** The record's request in the POST jobs body shape; null for an imported record. */
  form?: Partial<ISubmitRequest> | null;
}

/**
 * What the submit form keeps on the server for the person: their templates
 * and the request of their last submission from the panel (which the form
 * starts from). Its own calls of the server extension (see
 * docs/server-extension-api.md), beside FluxHubAPI.
 */
export class TemplatesAPI {
  constructor(readonly settings: ServerConnection.ISettings) {}

  /** The hub's published templates first, then the person's own, each by name. */
  async templates(): Promise<ITemplate[]> {
    const answer = await requestAPI<{ templates?: ITemplate[] }>(
      'templates',
      this.settings
    );
    return (answer?.templates ?? []).map(template => ({
      ...template,
      request: template.request ?? {},
      published: Boolean(template.published)
    }));
  }

  /**
   * Keep `request` as the person's template `name`, replacing one of that
   * name; returns the name as kept (surrounding spaces dropped). Rejects with
   * the server's FluxHubError: 400 for a request the description refuses
   * (its reasons, per field), 409 for the name of a published template.
   */
  async save(name: string, request: ISubmitRequest): Promise<string> {
    const answer = await requestAPI<{ name?: string }>(
      `templates/${encodeURIComponent(name)}`,
      this.settings,
      { method: 'PUT', body: JSON.stringify({ request }) }
    );
    return answer?.name ?? name.trim();
  }

  /** Delete the person's template `name` (404: none; 409: a published one). */
  async remove(name: string): Promise<void> {
    await requestAPI<null>(
      `templates/${encodeURIComponent(name)}`,
      this.settings,
      { method: 'DELETE' }
    );
  }

  /**
   * The request of the person's last submission from the panel's form, or
   * null when there is none (or it was recorded without its request).
   */
  async lastRequest(): Promise<Partial<ISubmitRequest> | null> {
    const answer = await requestAPI<{ records?: IHistoryRecord[] }>(
      'history?origin=panel&limit=1',
      this.settings
    );
    return answer?.records?.[0]?.form ?? null;
  }
}
