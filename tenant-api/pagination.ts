import { Problem, type ApiRequest } from './http';
import { idOf } from './validate';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** `?limit=&cursor=`: how many items, and the id of the last item of the previous page. */
export interface Page {
  readonly limit: number;
  readonly cursor: number | undefined;
}

export function pageOf(req: ApiRequest): Page {
  const { limit, cursor } = req.query;
  let parsed = DEFAULT_LIMIT;
  if (limit !== undefined) {
    parsed = /^\d{1,3}$/.test(limit) ? Number(limit) : 0;
    if (parsed < 1 || parsed > MAX_LIMIT)
      throw new Problem(400, 'validation-failed', `limit: must be an integer from 1 to ${MAX_LIMIT}`, {
        field: 'limit',
      });
  }
  return { limit: parsed, cursor: cursor === undefined ? undefined : idOf(cursor, 'cursor') };
}

/** A page of items (fetched with `limit + 1` rows) and the cursor of the next page, null on the last. */
export function listing<T extends { id: number }>(
  rows: T[],
  page: Page,
): { items: T[]; nextCursor: string | null } {
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  return { items, nextCursor: more ? String(items[items.length - 1]?.id) : null };
}
