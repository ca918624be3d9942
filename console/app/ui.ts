/**
 * What every page of the console shares: building elements (text never becomes HTML), asking the console's
 * `/api/*`, the page frame with its navigation, status badges, times, and the executions table.
 */
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

export class ApiError extends Error {}

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: { 'content-type': 'application/json', 'x-console': '1', ...init?.headers },
  });
  const body = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new ApiError(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

export interface ExecutionItem {
  executionArn: string;
  name: string;
  status: string;
  startDate: string;
  stopDate?: string;
  tenantId?: string | null;
  stateMachineArn?: string;
}

export const enc = encodeURIComponent;
export const executionHref = (arn: string) => `/executions/${enc(arn)}`;
export const machineHref = (arn: string) => `/state-machines/${enc(arn)}`;

export function duration(start: string, stop?: string): string {
  const ms = (stop ? Date.parse(stop) : Date.now()) - Date.parse(start);
  return ms < 1000
    ? `${ms} ms`
    : ms < 120_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${Math.round(ms / 60_000)} min`;
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge ${status.toLowerCase()}` }, status);
}

export function page(title: string, ...children: Child[]): void {
  document.title = `${title} · tenant platform console`;
  const nav = h(
    'nav',
    { 'aria-label': 'Console' },
    h('a', { href: '/' }, 'Fleet'),
    h('a', { href: '/tenants' }, 'Tenants'),
    h('a', { href: '/state-machines' }, 'State machines'),
  );
  document.getElementById('app')!.replaceChildren(nav, h('main', {}, h('h1', {}, title), ...children));
}

export function failure(error: unknown): void {
  page('Something went wrong', h('p', { role: 'alert' }, (error as Error).message));
}

export function executionsTable(executions: ExecutionItem[]): HTMLTableElement {
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Name', 'Workflow', 'Status', 'Tenant', 'Started', 'Duration'].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      ...executions.map((e) =>
        h(
          'tr',
          { 'data-execution-arn': e.executionArn },
          h('td', {}, h('a', { href: executionHref(e.executionArn) }, e.name)),
          h('td', {}, e.stateMachineArn?.split(':').pop() ?? '-'),
          h('td', {}, statusBadge(e.status)),
          h('td', {}, e.tenantId ? h('a', { href: `/tenants/${enc(e.tenantId)}` }, e.tenantId) : '-'),
          h('td', {}, new Date(e.startDate).toLocaleString()),
          h('td', {}, duration(e.startDate, e.stopDate)),
        ),
      ),
    ),
  );
}

/** A table with a header row; `attrs` per row (its data-* hooks). */
export function table<T>(
  headers: string[],
  rows: T[],
  cells: (row: T) => Child[],
  attrs: (row: T) => Record<string, string | undefined> = () => ({}),
): HTMLTableElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headers.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows.map((row) => h('tr', attrs(row), ...cells(row).map((c) => h('td', {}, c))))),
  );
}
