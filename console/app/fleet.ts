/**
 * The console's home: is everything all right? Tenants by state, tier and version, what runs now, what
 * failed in the last 24 hours (tenant, step, error, linked to its graph), the last releases, the alarms in
 * ALARM, and a search that finds a tenant by id, company or domain. The numbers follow the fleet live.
 */
import type { ConsoleTenant } from '../registry';
import type { FleetFailure, FleetView } from '../fleet';
import { api, enc, executionHref, h, page, statusBadge, table, type Child } from './ui';
import { relativeTime } from '../../common/relative-time';

/** How often the numbers are read again. */
const REFRESH_MS = 2000;
const SEARCH_RESULTS = 20;

/** The registry states, grouped as an operator asks about them. */
const GROUPS: { group: string; label: string; statuses: string[] }[] = [
  { group: 'live', label: 'Live', statuses: ['ACTIVE'] },
  { group: 'suspended', label: 'Suspended', statuses: ['SUSPENDED'] },
  { group: 'provisioning', label: 'In progress', statuses: ['PROVISIONING', 'MOVING', 'OFFBOARDING'] },
  { group: 'failed', label: 'Failed', statuses: ['ROLLBACK_FAILED', 'OFFBOARDING_FAILED'] },
  { group: 'rolled-back', label: 'Rolled back', statuses: ['ROLLED_BACK'] },
  { group: 'offboarded', label: 'Offboarded', statuses: ['OFFBOARDED'] },
];

export async function fleetPage(): Promise<void> {
  const view = await api<FleetView>('/api/fleet');
  const sections = h('div', { id: 'fleet' });
  const updated = h('p', { class: 'muted', 'aria-live': 'polite', id: 'fleet-updated' });
  page('Fleet', search(), updated, sections);
  const render = (v: FleetView) => {
    sections.replaceChildren(...fleetSections(v));
    updated.textContent = `Updated ${new Date(v.generatedAt).toLocaleTimeString()}`;
  };
  render(view);
  // Live: read again REFRESH_MS after the last read ended (never two at once), while this page is shown; a
  // failed read says so and is tried again.
  const next = () =>
    setTimeout(() => {
      if (!document.body.contains(sections)) return;
      api<FleetView>('/api/fleet')
        .then(render, (error: Error) => {
          updated.textContent = `Could not read the fleet (${error.message}); trying again`;
        })
        .finally(next);
    }, REFRESH_MS);
  next();
}

/** The search box: tenants matching by id, company or domain, as links to their pages. */
function search(): HTMLElement {
  const input = h('input', {
    type: 'search',
    id: 'tenant-search',
    placeholder: 'tenant id, company or domain',
    autocomplete: 'off',
  });
  const results = h('ul', { id: 'search-results', class: 'search-results', 'aria-live': 'polite' });
  let tenants: Promise<ConsoleTenant[]> | undefined;
  const find = async () => {
    const query = input.value.trim().toLowerCase();
    if (!query) {
      results.removeAttribute('data-query');
      return results.replaceChildren();
    }
    tenants ??= api<{ tenants?: ConsoleTenant[] }>('/api/tenants').then((r) => r.tenants ?? []);
    const found = (await tenants).filter((t) =>
      [t.tenantId, t.companyName, t.domain ?? ''].some((field) => field.toLowerCase().includes(query)),
    );
    if (input.value.trim().toLowerCase() !== query) return; // typed on meanwhile
    results.setAttribute('data-query', query);
    results.replaceChildren(
      ...(found.length === 0
        ? [h('li', {}, 'No tenant matches.')]
        : found
            .slice(0, SEARCH_RESULTS)
            .map((t) =>
              h(
                'li',
                { 'data-tenant': t.tenantId },
                h('a', { href: `/tenants/${enc(t.tenantId)}` }, t.tenantId),
                ` ${t.companyName}`,
                t.domain ? ` · ${t.domain}` : '',
                ' ',
                statusBadge(t.status),
              ),
            )),
      ...(found.length > SEARCH_RESULTS ? [h('li', {}, `and ${found.length - SEARCH_RESULTS} more`)] : []),
    );
  };
  input.addEventListener('input', () => void find());
  return h('div', { role: 'search' }, h('label', { for: 'tenant-search' }, 'Find a tenant '), input, results);
}

function fleetSections(view: FleetView): HTMLElement[] {
  return [
    section('tenants', 'Tenants', tenantsSummary(view.tenants)),
    section(
      'running',
      `Running now (${view.running.length})`,
      view.running.length === 0
        ? h('p', {}, 'Nothing is running.')
        : table(
            ['Workflow', 'Tenant', 'Execution', 'Started'],
            view.running,
            (e) => [
              e.workflow,
              tenantLink(e.tenantId),
              h('a', { href: executionHref(e.executionArn) }, e.name),
              relativeTime(e.startDate),
            ],
            (e) => ({ 'data-running-arn': e.executionArn }),
          ),
    ),
    section(
      'failures',
      `Failures in the last 24 hours (${view.failures.total}${view.failures.atLeast ? '+' : ''})`,
      view.failures.total === 0 ? h('p', {}, 'No execution failed.') : failuresTable(view.failures.newest),
    ),
    section('releases', 'Recent releases', releasesTable(view.releases)),
    section('alarms', 'Alarms in ALARM', alarmsList(view.alarms)),
  ];
}

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { 'data-section': id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    ...children,
  );
}

/** A tenant id as a link to its page; what an input named that is no tenant id (a refused input) as text. */
function tenantLink(tenantId: string | null): Child {
  if (!tenantId) return '-';
  return /^[a-z][a-z0-9-]*$/.test(tenantId)
    ? h('a', { href: `/tenants/${enc(tenantId)}` }, tenantId)
    : tenantId;
}

function tenantsSummary(tenants: FleetView['tenants']): HTMLElement {
  if ('unavailable' in tenants) return h('p', { role: 'status' }, tenants.unavailable);
  const counts = h(
    'ul',
    { class: 'counts' },
    h('li', { 'data-group': 'total' }, h('strong', {}, String(tenants.total)), ' tenants'),
    ...GROUPS.map(({ group, label, statuses }) =>
      h(
        'li',
        { 'data-group': group },
        h('strong', {}, String(statuses.reduce((n, st) => n + (tenants.byStatus[st] ?? 0), 0))),
        ` ${label.toLowerCase()}`,
      ),
    ),
  );
  const tiers = Object.entries(tenants.byTier)
    .map(([tier, n]) => `${n} ${tier}`)
    .join(', ');
  const versions =
    tenants.versions.length === 0
      ? h('p', {}, 'No tenant runs code yet.')
      : table(
          ['Code version', 'Schema', 'Tenants', ''],
          tenants.versions,
          (v) => [
            h('span', { class: 'mono' }, v.codeVersion),
            String(v.schemaVersion ?? '-'),
            String(v.tenants),
            v.current ? 'current release' : 'behind',
          ],
          (v) => ({ 'data-version': v.codeVersion, 'data-current': String(v.current) }),
        );
  return h(
    'div',
    {},
    counts,
    h('p', { 'data-tiers': '' }, `By tier: ${tiers || 'none'}`),
    h(
      'p',
      { 'data-on-current': String(tenants.onCurrent), 'data-behind': String(tenants.behind) },
      `${tenants.onCurrent} live on the current release${tenants.currentVersion ? ` (${tenants.currentVersion})` : ''}, ${tenants.behind} behind.`,
    ),
    versions,
  );
}

function failuresTable(failures: FleetFailure[]): HTMLTableElement {
  return table(
    ['When', 'Workflow', 'Tenant', 'Step', 'Error', 'Execution'],
    failures,
    (f) => [
      relativeTime(f.stopDate ?? f.startDate),
      f.workflow,
      tenantLink(f.tenantId),
      f.step ?? '-',
      errorText(f),
      h('a', { href: executionHref(f.executionArn) }, 'graph'),
    ],
    (f) => ({ 'data-failure-arn': f.executionArn, 'data-tenant': f.tenantId ?? undefined }),
  );
}

/** The error, and its cause when it says more than the error's name. */
function errorText(f: FleetFailure): string {
  const error = f.error ?? f.status;
  const cause = causeOf(f.cause);
  return cause && cause !== error ? `${error}: ${cause}` : error;
}

/** A task's cause is its error JSON: the message is what a person reads. */
function causeOf(cause: string | null): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return (parsed.errorMessage ?? cause).slice(0, 300);
  } catch {
    return cause.slice(0, 300);
  }
}

function releasesTable(releases: FleetView['releases']): HTMLElement {
  if ('unavailable' in releases) return h('p', { role: 'status' }, releases.unavailable);
  if (releases.length === 0) return h('p', {}, 'No release yet.');
  return table(
    ['Started', 'Version', 'Outcome', 'Updated', 'Failed', 'Skipped', 'Execution'],
    releases,
    (r) => [
      relativeTime(r.startedAt),
      h('span', { class: 'mono' }, r.version),
      statusBadge(r.status),
      String(r.updated),
      String(r.failed),
      String(r.skipped),
      h('a', { href: executionHref(r.release) }, r.name),
    ],
    (r) => ({ 'data-release-arn': r.release }),
  );
}

function alarmsList(alarms: FleetView['alarms']): HTMLElement {
  if ('unavailable' in alarms) return h('p', { role: 'status' }, alarms.unavailable);
  if (alarms.length === 0) return h('p', {}, 'No alarm is in ALARM.');
  return table(
    ['Alarm', 'Tenant', 'Since', 'Reason'],
    alarms,
    (a) => [a.name, tenantLink(a.tenantId), relativeTime(a.since), a.reason],
    (a) => ({ 'data-alarm': a.name }),
  );
}
