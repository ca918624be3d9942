// Reads config.json (written per tenant by the "Publish frontend" step), shows who this shop is and whether
// its API answers, and lets staff sign in to manage products and orders. Text only: nothing from config or
// the API is ever parsed as HTML.
(async function main() {
  const $ = (id) => document.getElementById(id);
  const show = (id, text, className) => {
    $(id).textContent = text;
    if (className) $(id).className = className;
  };
  let config;
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    config = await response.json();
  } catch {
    show('company', 'This shop is not configured');
    show('health', 'no config.json', 'bad');
    return;
  }
  document.title = config.companyName;
  show('company', config.companyName);
  show('tenant', config.tenantId);
  // On the local platform the shop is <tenant>.localhost and its API api.<tenant>.localhost, on the same
  // gateway (as on AWS it is <domain> and api.<domain>); config.json names the deployed API.
  const apiUrl = location.hostname.endsWith('.localhost')
    ? `${location.protocol}//api.${location.host}`
    : config.apiUrl;
  show('api', apiUrl);
  let suspended = false;
  try {
    const response = await fetch(new URL('/health', apiUrl), { cache: 'no-store' });
    const health = await response.json();
    const ok = response.ok && health.database === 'ok';
    suspended = health.suspended === true;
    show(
      'health',
      suspended
        ? 'this shop is suspended'
        : ok
          ? `healthy (schema v${health.schemaVersion})`
          : 'database unreachable',
      ok && !suspended ? 'ok' : 'bad',
    );
  } catch {
    show('health', 'API unreachable', 'bad');
  }
  // A suspended shop keeps its data but serves nobody: no sign-in.
  if (suspended) return;

  // Staff: a bearer token from POST /auth/login, kept for this tab only.
  const tokenKey = `token:${config.tenantId}`;
  const api = async (method, path, body) => {
    const response = await fetch(new URL(path, apiUrl), {
      method,
      headers: {
        authorization: `Bearer ${sessionStorage.getItem(tokenKey) ?? ''}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const answer = response.status === 204 ? {} : await response.json();
    if (response.status === 401 && path !== '/auth/login') signedOut();
    if (!response.ok) throw new Error(answer.detail ?? answer.title ?? `HTTP ${response.status}`);
    return answer;
  };
  const money = (cents) => (cents / 100).toFixed(2);
  const cell = (row, text) => row.insertCell().append(String(text));
  const button = (row, label, onClick) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', () => onClick().catch((e) => show('shop-error', e.message)));
    row.insertCell().append(b);
  };

  async function refresh() {
    show('shop-error', '');
    const [products, orders] = await Promise.all([
      api('GET', '/products?limit=100'),
      api('GET', '/orders?limit=20'),
    ]);
    $('products').replaceChildren();
    for (const p of products.items) {
      const row = $('products').insertRow();
      [p.sku, p.name, money(p.priceCents), p.stock].forEach((v) => cell(row, v));
      button(row, 'Order 1', async () => {
        await api('POST', '/orders', { lines: [{ productId: p.id, quantity: 1 }] });
        await refresh();
      });
    }
    $('orders').replaceChildren();
    for (const o of orders.items) {
      const row = $('orders').insertRow();
      [
        o.id,
        o.status,
        money(o.totalCents),
        o.lines.map((l) => `${l.quantity} x #${l.productId}`).join(', '),
      ].forEach((v) => cell(row, v));
      if (o.status === 'PLACED')
        button(row, 'Cancel', async () => {
          await api('POST', `/orders/${o.id}/cancel`);
          await refresh();
        });
      else cell(row, '');
    }
  }
  function signedOut() {
    sessionStorage.removeItem(tokenKey);
    $('shop').hidden = true;
    $('login').hidden = false;
  }
  async function signedIn() {
    $('login').hidden = true;
    $('shop').hidden = false;
    await refresh().catch((e) => show('shop-error', e.message));
  }

  $('login').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const { token } = await api('POST', '/auth/login', {
        email: form.get('email'),
        password: form.get('password'),
      });
      sessionStorage.setItem(tokenKey, token);
      show('login-error', '');
      await signedIn();
    } catch (e) {
      show('login-error', e.message);
    }
  });
  $('new-product').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await api('POST', '/products', {
        sku: form.get('sku'),
        name: form.get('name'),
        priceCents: Number(form.get('priceCents')),
        stock: Number(form.get('stock')),
      });
      event.target.reset();
      await refresh();
    } catch (e) {
      show('shop-error', e.message);
    }
  });
  $('logout').addEventListener('click', signedOut);
  if (sessionStorage.getItem(tokenKey)) await signedIn();
  else signedOut();
})();
