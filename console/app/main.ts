/**
 * The console's pages (served by console/server.ts, one bundle): the fleet (fleet.ts), the tenants
 * (tenant.ts), state machines, a state machine's executions, an execution as a graph with its events
 * (followed live while it runs). Data comes
 * from the console's `/api/*`, which asks the Step Functions API. Everything is built with DOM calls:
 * text from the API never becomes HTML.
 */
import { readExecution, type Fate, type HistoryEvent, type IterationView, type StateView } from './fates';
import { fleetPage } from './fleet';
import { tenantPage, tenantsPage } from './tenant';
import {
  api,
  duration,
  enc,
  executionHref,
  executionsTable,
  failure,
  h,
  machineHref,
  page,
  statusBadge,
  type Child,
  type ExecutionItem,
} from './ui';
import { graphStates, type AslDefinition } from './asl';
import { layout } from './graph';

const SVG = 'http://www.w3.org/2000/svg';
function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

async function stateMachines(): Promise<void> {
  const { stateMachines } = await api<{
    stateMachines: { stateMachineArn: string; name: string; type: string }[];
  }>('/api/state-machines');
  page(
    'State machines',
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, 'ARN'))),
      h(
        'tbody',
        {},
        ...stateMachines.map((m) =>
          h(
            'tr',
            { 'data-state-machine-arn': m.stateMachineArn },
            h('td', {}, h('a', { href: machineHref(m.stateMachineArn) }, m.name)),
            h('td', {}, m.type),
            h('td', { class: 'mono' }, m.stateMachineArn),
          ),
        ),
      ),
    ),
  );
}

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

async function stateMachine(arn: string): Promise<void> {
  const query = new URLSearchParams(location.search);
  const status = query.get('status') ?? '';
  const nextToken = query.get('nextToken') ?? '';
  const params = new URLSearchParams({
    stateMachineArn: arn,
    ...(status ? { status } : {}),
    ...(nextToken ? { nextToken } : {}),
  });
  const listed = await api<{ executions: ExecutionItem[]; nextToken?: string }>(`/api/executions?${params}`);
  const name = arn.split(':').pop() ?? arn;

  const filter = h(
    'select',
    { id: 'status-filter' },
    h('option', { value: '' }, 'All'),
    ...STATUSES.map((st) => {
      const option = h('option', { value: st }, st);
      option.selected = st === status;
      return option;
    }),
  );
  filter.addEventListener('change', () => {
    const next = new URLSearchParams(filter.value ? { status: filter.value } : {});
    location.assign(`${machineHref(arn)}${filter.value ? `?${next}` : ''}`);
  });
  const pager = h(
    'p',
    { class: 'pager' },
    nextToken
      ? h('a', { href: `${machineHref(arn)}${status ? `?status=${status}` : ''}` }, 'First page')
      : null,
    listed.nextToken
      ? h(
          'a',
          {
            href: `${machineHref(arn)}?${new URLSearchParams({ ...(status ? { status } : {}), nextToken: listed.nextToken })}`,
          },
          'Next page',
        )
      : null,
  );
  page(
    name,
    h('p', { class: 'mono' }, arn),
    startForm(arn),
    h('h2', {}, 'Executions'),
    h('p', {}, h('label', { for: 'status-filter' }, 'Status '), filter),
    executionsTable(listed.executions),
    pager,
  );
}

function startForm(stateMachineArn: string): HTMLElement {
  const input = h('textarea', { id: 'start-input', rows: '6', spellcheck: 'false' });
  input.value = '{\n  "tenantId": ""\n}';
  const name = h('input', { id: 'start-name', type: 'text', placeholder: 'a unique name, or empty' });
  const message = h('p', { role: 'alert', class: 'error' });
  const button = h('button', { type: 'submit' }, 'Start execution');
  const form = h(
    'form',
    { 'aria-label': 'Start an execution' },
    h('label', { for: 'start-input' }, 'Input (JSON)'),
    input,
    h('label', { for: 'start-name' }, 'Name (optional)'),
    name,
    button,
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    message.textContent = '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(input.value);
    } catch (error) {
      message.textContent = `The input is not JSON: ${(error as Error).message}`;
      return;
    }
    button.disabled = true;
    api<{ executionArn: string }>('/api/executions', {
      method: 'POST',
      body: JSON.stringify({
        stateMachineArn,
        input: JSON.stringify(parsed),
        ...(name.value ? { name: name.value } : {}),
      }),
    })
      .then(({ executionArn }) => location.assign(executionHref(executionArn)))
      .catch((error: Error) => {
        message.textContent = error.message;
        button.disabled = false;
      });
  });
  return h('details', {}, h('summary', {}, 'Start an execution'), form);
}

interface ExecutionDetail {
  execution: ExecutionItem & { input?: string; output?: string; error?: string; cause?: string };
  definition: AslDefinition;
  events: HistoryEvent[];
}

const FATE_LABEL: Record<Fate, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  caught: 'caught error',
  running: 'in progress',
  cancelled: 'cancelled',
  'not-started': 'not started',
};

async function execution(arn: string): Promise<void> {
  let detail = await api<ExecutionDetail>(`/api/execution?arn=${enc(arn)}`);
  const { definition } = detail;
  const states = graphStates(definition);
  const types = Object.fromEntries(Object.entries(states).map(([n, state]) => [n, state.Type]));
  const laid = layout(definition);
  let selected: string | undefined;

  const header = h('section', { class: 'summary', 'aria-label': 'Execution' });
  // Scaled to the page's width (the viewBox keeps the proportions): the whole graph at a glance.
  const svg = s('svg', {
    viewBox: `0 0 ${laid.width} ${laid.height}`,
    role: 'group',
    'aria-label': 'State machine graph',
  });
  const edgeEls = laid.edges.map(({ edge, points }) => {
    const path = s('path', {
      d: points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' '),
      class: `edge ${edge.kind}`,
      'marker-end': 'url(#arrow)',
    });
    return { edge, path };
  });
  const defs = s('defs');
  const marker = s('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto',
  });
  marker.append(s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs, ...edgeEls.map((e) => e.path));
  const nodeEls = new Map<string, { g: SVGGElement; badge: SVGTextElement }>();
  for (const [name, box] of laid.nodes) {
    const g = s('g', {
      'data-state': name,
      'data-status': 'not-started',
      class: `node ${types[name]?.toLowerCase() ?? ''}`,
      tabindex: 0,
      role: 'button',
      transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})`,
    });
    const rect = s('rect', { width: box.width, height: box.height, rx: types[name] === 'Choice' ? 16 : 6 });
    const label = s('text', { x: box.width / 2, y: box.height / 2 + 4, 'text-anchor': 'middle' });
    label.textContent = name;
    const badge = s('text', { x: box.width - 4, y: 11, 'text-anchor': 'end', class: 'retries' });
    g.append(rect, label, badge);
    const choose = () => {
      selected = name;
      render();
    };
    g.addEventListener('click', choose);
    g.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        choose();
      }
    });
    svg.append(g);
    nodeEls.set(name, { g, badge });
  }
  const panel = h('aside', { class: 'state-detail', 'aria-live': 'polite', 'aria-label': 'Selected state' });
  const events = h('tbody');
  page(
    detail.execution.name,
    header,
    h('div', { class: 'execution' }, h('div', { class: 'graph' }, svg), panel),
    h('h2', {}, 'Events'),
    h(
      'table',
      { class: 'events' },
      h(
        'thead',
        {},
        h('tr', {}, ...['ID', 'Type', 'State', 'Since start', 'Details'].map((c) => h('th', {}, c))),
      ),
      events,
    ),
  );

  function render(): void {
    const { execution: e } = detail;
    const view = readExecution(definition, detail.events, e.status);
    header.replaceChildren(
      h('p', {}, statusBadge(e.status), ' ', h('span', { 'data-execution-status': e.status }, e.status)),
      h(
        'dl',
        {},
        h('dt', {}, 'State machine'),
        h(
          'dd',
          {},
          e.stateMachineArn
            ? h('a', { href: machineHref(e.stateMachineArn) }, e.stateMachineArn.split(':').pop() ?? '')
            : '-',
        ),
        h('dt', {}, 'Tenant'),
        h('dd', {}, e.tenantId ? h('a', { href: `/tenants/${enc(e.tenantId)}` }, e.tenantId) : '-'),
        h('dt', {}, 'Started'),
        h('dd', {}, new Date(e.startDate).toLocaleString()),
        h('dt', {}, 'Duration'),
        h('dd', {}, duration(e.startDate, e.stopDate)),
        e.error ? h('dt', {}, 'Error') : null,
        e.error ? h('dd', { class: 'error' }, `${e.error}: ${causeMessage(e.cause)}`) : null,
      ),
    );
    for (const [name, { g, badge }] of nodeEls) {
      const state = view.states.get(name)!;
      g.setAttribute('data-status', state.fate);
      g.setAttribute(
        'aria-label',
        `${name}: ${FATE_LABEL[state.fate]}${state.retries ? `, ${state.retries} retries` : ''}`,
      );
      g.classList.toggle('selected', name === selected);
      badge.textContent = state.retries ? `↻${state.retries}` : '';
    }
    for (const { edge, path } of edgeEls)
      path.classList.toggle('taken', view.taken.has(`${edge.from} -> ${edge.to}`));
    panel.replaceChildren(
      ...stateDetail(
        selected,
        selected ? view.states.get(selected) : undefined,
        view.iterations.get(selected ?? ''),
      ).filter((c): c is Node | string => Boolean(c)),
    );
    const start = Date.parse(e.startDate);
    let current = '';
    events.replaceChildren(
      ...detail.events.map((ev) => {
        current = ev.stateEnteredEventDetails?.name ?? ev.stateExitedEventDetails?.name ?? current;
        return h(
          'tr',
          { 'data-event-type': ev.type },
          h('td', {}, String(ev.id)),
          h('td', {}, ev.type),
          h('td', {}, current),
          h('td', {}, `${Math.max(0, new Date(ev.timestamp).getTime() - start)} ms`),
          h('td', { class: 'mono' }, eventDetail(ev)),
        );
      }),
    );
  }

  render();
  // Follow a running execution without reloading the page.
  while (detail.execution.status === 'RUNNING') {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    detail = await api<ExecutionDetail>(`/api/execution?arn=${enc(arn)}`);
    render();
  }
}

function stateDetail(
  name: string | undefined,
  state: StateView | undefined,
  iterations: IterationView[] | undefined,
): Child[] {
  if (!name || !state)
    return [
      h('p', {}, 'Select a state (click it, or Tab to it and press Enter) to see its input and output.'),
    ];
  const block = (label: string, text: string | undefined) =>
    text === undefined ? null : h('section', {}, h('h3', {}, label), h('pre', {}, pretty(text)));
  return [
    h('h2', {}, name),
    h(
      'p',
      {},
      `Status: ${FATE_LABEL[state.fate]}`,
      state.retries ? ` · retries: ${state.retries}` : '',
      state.visits > 1 ? ` · visits: ${state.visits}` : '',
    ),
    block('Error', state.error),
    block('Cause', state.cause),
    block('Input', state.input),
    block('Output', state.output),
    iterations?.length
      ? h(
          'section',
          {},
          h('h3', {}, `Iterations (${iterations.length})`),
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Visit', 'Index', 'Item', 'Status'].map((c) => h('th', {}, c)))),
            h(
              'tbody',
              {},
              ...iterations.map((i) =>
                h(
                  'tr',
                  { 'data-iteration': `${i.run}:${i.index}`, 'data-status': i.fate },
                  h('td', {}, String(i.run)),
                  h('td', {}, String(i.index)),
                  h('td', {}, i.item ?? '-'),
                  h('td', {}, FATE_LABEL[i.fate]),
                ),
              ),
            ),
          ),
        )
      : null,
  ];
}

/** A Lambda error's Cause is `{errorType, errorMessage, trace}` JSON: its message is what a person reads. */
function causeMessage(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? '') as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: shown as it is
  }
  return cause ?? '';
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function eventDetail(ev: HistoryEvent): string {
  const failed =
    ev.taskFailedEventDetails ??
    ev.taskTimedOutEventDetails ??
    ev.lambdaFunctionFailedEventDetails ??
    ev.executionFailedEventDetails;
  if (failed) return `${failed.error ?? ''}: ${causeMessage(failed.cause).slice(0, 300)}`;
  const iteration =
    ev.mapIterationStartedEventDetails ??
    ev.mapIterationSucceededEventDetails ??
    ev.mapIterationFailedEventDetails;
  if (iteration) return `iteration ${iteration.index ?? ''}`;
  return '';
}

async function route(): Promise<void> {
  const path = location.pathname;
  const rest = (prefix: string) => decodeURIComponent(path.slice(prefix.length));
  if (path.startsWith('/executions/')) return execution(rest('/executions/'));
  if (path.startsWith('/state-machines/')) return stateMachine(rest('/state-machines/'));
  if (path.startsWith('/tenants/')) return tenantPage(rest('/tenants/'));
  if (path === '/tenants') return tenantsPage();
  if (path === '/state-machines') return stateMachines();
  return fleetPage();
}

route().catch(failure);
