// Reads config.json (written per tenant by the "Publish frontend" step) and shows who this shop is and
// whether its API answers. Text only: nothing from config or the API is ever parsed as HTML.
(async function main() {
  const show = (id, text, className) => {
    const el = document.getElementById(id);
    el.textContent = text;
    if (className) el.className = className;
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
  try {
    const response = await fetch(new URL('/health', apiUrl), { cache: 'no-store' });
    const health = await response.json();
    const ok = response.ok && health.database === 'ok';
    show(
      'health',
      ok ? `healthy (schema v${health.schemaVersion})` : 'database unreachable',
      ok ? 'ok' : 'bad',
    );
  } catch {
    show('health', 'API unreachable', 'bad');
  }
})();
