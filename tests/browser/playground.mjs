// Headless-browser test of the offline GraphQL playground (GraphiQL on GET /graphql) and of
// Swagger UI (/docs/) under its Content-Security-Policy.
//
//   node tests/browser/playground.mjs http://127.0.0.1:18433 [screenshot.png]
//
// Environment:
//   CHROMIUM               the browser to drive (default /usr/bin/chromium, Debian's package)
//   PLAYGROUND_SCREENSHOT  where to save a screenshot, if not given as the second argument
//   PLAYGROUND_TOKEN       a bearer token the server accepts: enables the Headers-editor checks
//
// Every request that would leave the machine is aborted and counted; any such request, any
// Content-Security-Policy violation, console error or failed same-origin load fails the test.
// Exits 0 when every check passed, 1 otherwise (2 on bad usage).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const DEFAULT_QUERY = '{ integratedCareTeams(first: 2) { edges { node { code name status } } } }';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const TIMEOUT_MS = 30_000;

const base = (process.argv[2] || '').replace(/\/+$/, '');
const screenshot = process.argv[3] || process.env.PLAYGROUND_SCREENSHOT || '';
const token = process.env.PLAYGROUND_TOKEN || '';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!/^https?:\/\//.test(base) || !LOCAL_HOSTS.has(new URL(base).hostname)) {
  console.error('usage: node playground.mjs http://127.0.0.1:PORT [screenshot.png]  (the server must be on this machine)');
  process.exit(2);
}

const results = []; // { name, ok: true | false | null (skipped), detail }
const check = (name, ok, detail = '') => {
  results.push({ name, ok, detail });
  const mark = ok === null ? 'SKIP' : ok ? 'ok  ' : 'FAIL';
  console.log(`${mark} ${name}${detail ? ` — ${detail}` : ''}`);
};

const offMachine = []; // requests we aborted
const cspViolations = [];
const consoleErrors = [];
const pageErrors = [];
const badLocalLoads = [];

const profile = mkdtempSync(join(tmpdir(), 'pcr-playground-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 720 },
    timeout: TIMEOUT_MS,
  });
  context.setDefaultTimeout(TIMEOUT_MS);

  // Cut the network: only this machine answers.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOCAL_HOSTS.has(url.hostname)) return route.continue();
    offMachine.push(`${route.request().method()} ${url.href}`);
    return route.abort('blockedbyclient');
  });
  context.on('websocket', (ws) => {
    if (!LOCAL_HOSTS.has(new URL(ws.url()).hostname)) offMachine.push(`WEBSOCKET ${ws.url()}`);
  });
  // Reported by the page itself, so violations of any directive are seen, whatever the console says.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = { directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample };
      console.error(`CSP violation: ${JSON.stringify(report)}`);
    });
  });

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const report = text.match(/^CSP violation: (\{.*\})$/);
    if (report) {
      // A load the policy stopped is still an attempt to leave the machine.
      const { directive, blocked } = JSON.parse(report[1]);
      if (/^(https?|wss?):/.test(blocked) && !LOCAL_HOSTS.has(new URL(blocked).hostname)) {
        offMachine.push(`${blocked} (stopped by the CSP)`);
      }
      cspViolations.push(`${directive} blocked ${blocked || 'inline'}`);
    } else if (/Content Security Policy/i.test(text)) {
      cspViolations.push(text);
    } else {
      consoleErrors.push(text);
    }
  });
  page.on('pageerror', (err) => pageErrors.push(String(err && err.message ? err.message : err)));
  page.on('requestfailed', (req) => {
    if (LOCAL_HOSTS.has(new URL(req.url()).hostname)) badLocalLoads.push(`${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) badLocalLoads.push(`${res.request().method()} ${res.url()}: HTTP ${res.status()}`);
  });

  // 1. The page and its policy.
  const response = await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  const csp = (response && response.headers()['content-security-policy']) || '';
  const scriptSrc = (csp.match(/(?:^|;)\s*script-src ([^;]*)/) || [])[1] || '';
  const cspOk =
    response?.status() === 200 &&
    /^\s*'self'\s*$/.test(scriptSrc) &&
    /default-src 'none'/.test(csp) &&
    !/https?:|\*/.test(csp) &&
    !/'unsafe-(eval|inline)'/.test(csp);
  check('GET /graphql serves the page with a strict CSP', cspOk, `HTTP ${response?.status()}; ${csp || 'no CSP header'}`);

  // 2. GraphiQL renders, with our default query in its editor.
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror');
  const editorText = () =>
    page.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror?.getValue() ?? '');
  const initial = await editorText();
  check('GraphiQL renders with the default query', initial === DEFAULT_QUERY, JSON.stringify(initial));

  // Runs what is in the query editor and returns the POST it sent and the response pane's text.
  const run = async (label) => {
    const sent = page.waitForRequest(
      (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql' && /integratedCareTeams/.test(r.postData() || ''),
    );
    await page.click('.graphiql-execute-button');
    const request = await sent;
    try {
      await page.waitForFunction(
        () => {
          const t = document.querySelector('.graphiql-response')?.innerText || '';
          return t.includes('"integratedCareTeams"') && t.includes('ICT-');
        },
        null,
        { timeout: TIMEOUT_MS },
      );
    } catch {
      // fall through: the check below reports what the pane shows
    }
    const pane = await page.evaluate(() => document.querySelector('.graphiql-response')?.innerText || '');
    const shown = pane.includes('"integratedCareTeams"') && pane.includes('ICT-');
    check(`${label}: the response pane shows integrated care teams`, shown, shown ? '' : JSON.stringify(pane.slice(0, 300)));
    return { request, headers: await request.allHeaders() };
  };

  // 3. Run the default query (anonymous: the Headers editor's placeholder is not sent).
  const first = await run('default query');
  check(
    'default query: posted as JSON to /graphql on our origin',
    first.request.url() === `${base}/graphql` && JSON.parse(first.request.postData() || '{}').query === DEFAULT_QUERY,
    first.request.url(),
  );
  check('default query: no placeholder Authorization header sent', !('authorization' in first.headers), first.headers.authorization || '');

  // 4. A bearer token typed into the Headers editor is sent, and kept across a reload.
  if (token) {
    const headersJson = JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
    await page.click('.graphiql-editor-tools button[data-name="headers"]').catch(() => {});
    const set = await page.evaluate((value) => {
      const cm = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')?.CodeMirror;
      if (!cm) return false;
      cm.setValue(value);
      return true;
    }, headersJson);
    check('headers editor: found and filled', set);
    const withToken = await run('with a bearer token');
    check('with a bearer token: Authorization header sent', withToken.headers.authorization === `Bearer ${token}`);

    // GraphiQL saves its tabs to local storage after a short debounce: wait for the token to land.
    const stored = await page
      .waitForFunction((t) => (localStorage.getItem('graphiql:tabState') || '').includes(t), token, { timeout: 5000 })
      .then(() => true, () => false);
    check('headers editor: the token is kept in local storage', stored);
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror');
    const afterReload = await run('after a reload');
    check(
      'after a reload: the token is still in the Headers editor and sent (shouldPersistHeaders)',
      afterReload.headers.authorization === `Bearer ${token}`,
    );
  } else {
    check('Headers editor with a bearer token', null, 'set PLAYGROUND_TOKEN to a token the server accepts');
  }

  // 5. The explorer loaded the schema (the standard introspection query was answered).
  await page.click('button[aria-label="Show Documentation Explorer"]').catch(() => {});
  const explorer = await page
    .waitForFunction(
      () => {
        const t = document.querySelector('.graphiql-doc-explorer')?.innerText || '';
        return t.includes('Query') && t.includes('Mutation') ? t : false;
      },
      null,
      { timeout: TIMEOUT_MS },
    )
    .then((h) => h.jsonValue(), () => '');
  const noSchemaError = !(await page.evaluate(() => document.body.innerText.includes('Error fetching schema')));
  check('the docs explorer loaded the schema (root types Query and Mutation)', Boolean(explorer) && noSchemaError, explorer ? '' : 'no explorer content');
  if (explorer) {
    await page.click('.graphiql-doc-explorer a:has-text("Query")').catch(() => {});
    const fields = await page
      .waitForFunction(() => (document.querySelector('.graphiql-doc-explorer')?.innerText || '').includes('integratedCareTeam'), null, { timeout: 10_000 })
      .then(() => true, () => false);
    check('the docs explorer lists the query fields', fields);
  }

  if (screenshot) {
    await page.screenshot({ path: screenshot });
    console.log(`screenshot: ${screenshot}`);
  }

  // 6. Swagger UI at /docs/ works under its own Content-Security-Policy, offline.
  const docs = await page.goto(`${base}/docs/`, { waitUntil: 'load' });
  const docsCsp = (docs && docs.headers()['content-security-policy']) || '';
  check(
    'GET /docs/ carries a CSP with frame-ancestors',
    /frame-ancestors 'none'/.test(docsCsp) && !/'unsafe-(eval|inline)'/.test(docsCsp),
    docsCsp || 'no CSP header',
  );
  const operations = await page
    .waitForFunction(() => document.querySelectorAll('.swagger-ui .opblock').length, null, { timeout: TIMEOUT_MS })
    .then((h) => h.jsonValue(), () => 0);
  const title = await page.evaluate(() => document.querySelector('.swagger-ui .info .title')?.innerText || '');
  check('Swagger UI renders the document', operations > 50 && title.includes('Primary care roles API'), `${operations} operations; title ${JSON.stringify(title)}`);
  await page.waitForTimeout(300); // let late console messages arrive
} catch (err) {
  check('the browser session ran to the end', false, String(err && err.stack ? err.stack : err));
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}

const unique = (list) => [...new Set(list)];
check('no request tried to leave the machine', offMachine.length === 0, unique(offMachine).join('; '));
check('no Content-Security-Policy violations', cspViolations.length === 0, unique(cspViolations).join('; '));
check('no console errors or uncaught exceptions', consoleErrors.length + pageErrors.length === 0, unique([...consoleErrors, ...pageErrors]).join('; '));
check('every same-origin load succeeded', badLocalLoads.length === 0, unique(badLocalLoads).join('; '));

const passed = results.filter((r) => r.ok === true).length;
const failed = results.filter((r) => r.ok === false).length;
const skipped = results.filter((r) => r.ok === null).length;
console.log(failed ? `playground test FAILED (${base}/graphql)` : `playground test passed (${base}/graphql)`);
console.log(`playground: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
