import type { ApiRequest } from './http';
import { limit } from './schemas';
import { idOf, parse } from './validate';

/** `?limit=&cursor=`: how many items, and the id of the last item of the previous page. */
export interface Page {
  readonly limit: number;
  readonly cursor: number | undefined;
}

/** The page a request asks for, checked by the parameter schemas the OpenAPI document shows. */
export function pageOf(req: ApiRequest): Page {
  const { limit: limitText, cursor } = req.query;
  // A query value is text: digits are read as the number they spell, anything else is refused as it is.
  const asked = limitText !== undefined && /^\d+$/.test(limitText) ? Number(limitText) : limitText;
  return {
    limit: parse(limit, asked, 'limit'),
    cursor: cursor === undefined ? undefined : idOf(cursor, 'cursor'),
  };
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
