/**
 * The tenants' pages: the registry as a table, and a page per tenant (status and tier, its resources, its
 * version ledger, its export, every execution that concerned it, and the actions its state allows, each
 * confirmed before it starts, then followed on the execution's page).
 */
import type { ActionOffer } from '../actions';
import type { ConsoleTenant, TenantDetail } from '../registry';
import {
  api,
  enc,
  executionHref,
  executionsTable,
  h,
  page,
  statusBadge,
  table,
  type Child,
  type ExecutionItem,
} from './ui';
import { relativeTime } from '../../common/relative-time';

export async function tenantsPage(): Promise<void> {
  const listed = await api<{ tenants?: ConsoleTenant[]; unavailable?: string }>('/api/tenants');
  if (!listed.tenants)
    return page(
      'Tenants',
      h('p', { role: 'status' }, listed.unavailable ?? 'The registry is not reachable.'),
    );
  page(
    'Tenants',
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Tenant', 'Status', 'Tier', 'Domain', 'Code', 'Schema', 'Site', 'API'].map((c) =>
            h('th', {}, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...listed.tenants.map((t) =>
          h(
            'tr',
            { 'data-tenant': t.tenantId },
            h('td', {}, h('a', { href: `/tenants/${enc(t.tenantId)}` }, t.tenantId)),
            h('td', {}, statusBadge(t.status)),
            h('td', {}, t.tier),
            h('td', {}, t.domain ?? '-'),
            h('td', { class: 'mono' }, t.codeVersion ?? '-'),
            h('td', {}, String(t.schemaVersion ?? '-')),
            h('td', {}, t.site ? h('a', { href: t.site }, 'site') : '-'),
            h('td', {}, t.api ? h('a', { href: t.api }, 'API health') : '-'),
          ),
        ),
      ),
    ),
  );
}

export async function tenantPage(tenantId: string): Promise<void> {
  const {
    tenant: t,
    actions,
    executions,
    awsRegion,
  } = await api<{
    tenant?: TenantDetail;
    actions: ActionOffer[];
    executions: ExecutionItem[];
    awsRegion?: string;
  }>(`/api/tenants/${enc(tenantId)}`);
  if (!t)
    return page(
      tenantId,
      h('p', {}, 'Not in the registry (or the registry is not reachable from here).'),
      h('h2', {}, 'Executions that concerned it'),
      executionsTable(executions),
    );
  page(
    tenantId,
    h('p', { class: 'subtitle' }, t.companyName, ' ', statusBadge(t.status), ` ${t.tier} tier`),
    actionBar(t, actions),
    h('h2', {}, 'Resources'),
    resources(t, awsRegion),
    h('h2', {}, 'Domain'),
    domains(t),
    h('h2', {}, 'Versions'),
    ledger(t),
    h('h2', {}, 'Export'),
    exported(t),
    h('h2', {}, 'Executions that concerned it'),
    executionsTable(executions),
  );
}

/** The actions its state allows; each asks for confirmation, then shows the execution it started. */
function actionBar(t: TenantDetail, actions: ActionOffer[]): HTMLElement {
  const message = h('p', { role: 'alert', id: 'action-error' });
  const dialog = h('dialog', { id: 'confirm-action', 'aria-labelledby': 'confirm-title' });
  const ask = (offer: ActionOffer) => {
    const confirm = h(
      'button',
      { type: 'button', 'data-confirm': offer.action, class: 'danger' },
      offer.label,
    );
    const cancel = h('button', { type: 'button', 'data-cancel': '' }, 'Cancel');
    dialog.replaceChildren(
      h('h2', { id: 'confirm-title' }, `${offer.label} ${t.tenantId}?`),
      h('p', {}, offer.consequence),
      h('p', { class: 'buttons' }, confirm, ' ', cancel),
    );
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', () => {
      confirm.disabled = true;
      api<{ executionArn: string }>(`/api/tenants/${enc(t.tenantId)}/actions/${offer.action}`, {
        method: 'POST',
        body: '{}',
      }).then(
        ({ executionArn }) => location.assign(executionHref(executionArn)),
        (error: Error) => {
          dialog.close();
          message.textContent = error.message;
        },
      );
    });
    dialog.showModal();
    cancel.focus();
  };
  return h(
    'div',
    { class: 'actions' },
    ...(actions.length === 0
      ? [h('p', { class: 'muted' }, `Nothing can be started while it is ${t.status}.`)]
      : actions.map((offer) => {
          const button = h('button', { type: 'button', 'data-action': offer.action }, offer.label);
          button.addEventListener('click', () => ask(offer));
          return button;
        })),
    message,
    dialog,
  );
}

/**
 * Its resources by name; against an AWS account (`awsRegion`), each a link to its page in the AWS console.
 */
function resources(t: TenantDetail, awsRegion: string | undefined): HTMLElement {
  const r = t.resources as Record<string, string | null | undefined>;
  const row = (label: string, ...value: Child[]): Child[] => [h('dt', {}, label), h('dd', {}, ...value)];
  const functionName = r.functionArn?.split(':').pop();
  const secretName = r.secretArn
    ?.split(':')
    .pop()
    ?.replace(/-[A-Za-z0-9]{6}$/, '');
  const consoleAt = (path: string) =>
    awsRegion
      ? `https://${awsRegion}.console.aws.amazon.com/${path.replace(/\{region\}/g, awsRegion)}`
      : undefined;
  const links: Record<string, string | undefined> = {
    [functionName ?? '']: consoleAt(`lambda/home?region={region}#/functions/${enc(functionName ?? '')}`),
    [r.apiId ?? '']: consoleAt(`apigateway/main/api-detail?api=${enc(r.apiId ?? '')}&region={region}`),
    [r.secretArn ?? '']: consoleAt(`secretsmanager/secret?name=${enc(secretName ?? '')}&region={region}`),
    [`tenant-${t.tenantId}`]: consoleAt(
      `rds/home?region={region}#database:id=tenant-${t.tenantId};is-cluster=false`,
    ),
  };
  const mono = (text: string | null | undefined) => {
    if (!text) return '-';
    const name = h('span', { class: 'mono' }, text);
    return links[text] ? h('a', { href: links[text] }, name) : name;
  };
  return h(
    'dl',
    { 'data-resources': '' },
    ...row('Function', mono(functionName), functionName ? ` (alias live, code ${t.codeVersion ?? '-'})` : ''),
    ...row('HTTP API', mono(r.apiId), r.apiEndpoint ? ` ${r.apiEndpoint}` : ''),
    ...row(
      t.tier === 'dedicated' ? 'Instance and database' : 'Database',
      t.tier === 'dedicated' ? mono(`tenant-${t.tenantId}`) : '',
      t.tier === 'dedicated' ? ' / ' : '',
      mono(r.database),
      r.role ? ' owned by ' : '',
      mono(r.role),
    ),
    ...row('Secret', mono(r.secretArn)),
    ...row('Site', mono(r.sitePrefix), ' ', t.site ? h('a', { href: t.site }, 'open the site') : ''),
    ...row('API health', t.api ? h('a', { href: t.api }, t.api) : '-'),
    ...row('Created', `${new Date(t.created).toLocaleString()} (${relativeTime(t.created)})`),
  );
}

/**
 * Its own domains: the status, the records the customer adds (while it waits for them), what the last
 * check saw and why one failed; none, the platform address is all it has.
 */
function domains(t: TenantDetail): HTMLElement {
  if (t.domains.length === 0)
    return h('p', {}, 'No domain of its own: it is served on its platform address.');
  return h(
    'div',
    {},
    ...t.domains.map((d) => {
      const seen = (d.lastSeen as { names?: { name: string; status: string; reason?: string }[] } | null)
        ?.names;
      return h(
        'section',
        { 'data-domain': d.domain },
        h(
          'p',
          {},
          h('strong', {}, d.displayName),
          d.displayName === d.domain ? '' : ` (${d.domain})`,
          ' ',
          statusBadge(d.status),
          d.status === 'PENDING_VALIDATION' ? ` until ${new Date(d.deadline).toLocaleString()}` : '',
        ),
        d.status === 'PENDING_VALIDATION'
          ? table(
              ['Name', 'Type', 'Value', 'Last seen'],
              d.records,
              (r) => [
                h('span', { class: 'mono' }, r.name),
                r.type,
                h('span', { class: 'mono' }, r.value),
                [seen?.find((n) => n.name === r.name)?.reason ?? '', r.note ? ` (${r.note})` : ''].join(''),
              ],
              (r) => ({ 'data-record': r.name }),
            )
          : '',
        d.reason ? h('p', { 'data-reason': '' }, d.reason) : '',
      );
    }),
  );
}

function ledger(t: TenantDetail): HTMLElement {
  return h(
    'div',
    {},
    h(
      'p',
      { 'data-ledger': '' },
      `Code ${t.codeVersion ?? '-'}, schema ${t.schemaVersion ?? '-'}, `,
      t.versionsRelease
        ? h('a', { href: executionHref(t.versionsRelease) }, 'set by a release')
        : 'set by its onboarding',
      t.versionsUpdatedAt ? ` ${relativeTime(t.versionsUpdatedAt)}` : '',
      '.',
    ),
    t.releases.length === 0
      ? h('p', {}, 'No release has concerned it.')
      : table(
          ['Release', 'Version', 'Outcome', 'Error or reason', 'When'],
          t.releases,
          (r) => [
            h('a', { href: executionHref(r.release) }, r.release.split(':').pop() ?? r.release),
            h('span', { class: 'mono' }, r.version),
            statusBadge(r.outcome),
            r.error ?? '',
            relativeTime(r.at),
          ],
          (r) => ({ 'data-tenant-release': r.release }),
        ),
  );
}

function exported(t: TenantDetail): HTMLElement {
  const e = t.offboarding?.export;
  if (!e) return h('p', {}, 'No export: one is made and verified when it is offboarded.');
  return h(
    'p',
    { 'data-export': e.key },
    h('span', { class: 'mono' }, e.key),
    `, kept until ${new Date(e.retainUntil).toLocaleDateString()}.`,
  );
}
