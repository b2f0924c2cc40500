// The dashboard in headless Chromium (Debian's, driven by playwright-core; no browser download).
// Run by integration-tests' DashboardIT against a real cloud, which passes it through the
// environment: DASH_URL, CHROMIUM, MEMBER and ADMIN (user:password:project), IMAGE, FLAVOR and
// FLAVOR2 (what a resize goes to), HOST, UPLOAD_FILE, SHOTS, and PROMETHEUS (the URL of the
// Prometheus the scheduler names to the dashboard, empty when there is none) (where the README's screenshots go). Prints each step; exits 1 on the first
// failure, with a screenshot of the page as it was.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return v;
};
const URL_ = env('DASH_URL');
const [memberUser, memberPassword, memberProject] = env('MEMBER').split(':');
const [adminUser, adminPassword, adminProject] = env('ADMIN').split(':');
const IMAGE = env('IMAGE');
const FLAVOR = env('FLAVOR');
const FLAVOR2 = env('FLAVOR2');
const HOST = env('HOST');
const SHOTS = env('SHOTS');
const PROMETHEUS = process.env.PROMETHEUS ?? '';
mkdirSync(SHOTS, { recursive: true });

/** A guest booting under TCG takes its time; every wait is bounded and says what it waited for. */
const BOOT = 180_000;
const SHORT = 30_000;

const browser = await chromium.launch({ executablePath: env('CHROMIUM'), headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.on('dialog', (d) => d.accept());
page.on('pageerror', (e) => console.log(`page error: ${e.message}`));

let step = '';
/** Runs a step and prints how long it took: CI's time budget is watched step by step. */
async function run(name, fn) {
  step = name;
  console.log(`step: ${name}`);
  const start = Date.now();
  await fn();
  console.log(`  ${((Date.now() - start) / 1000).toFixed(1)} s`);
}
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

async function login(user, password, project) {
  await page.goto(URL_);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Project').fill(project);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Servers' }).waitFor({ timeout: SHORT });
}

async function logout() {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor({ timeout: SHORT });
}

/** Creates a server with the form and returns its status element. */
async function createServer(name) {
  await page.goto(`${URL_}#/servers`);
  await page.getByText('Create a server').click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  const flavor = await page.getByLabel('Flavor').locator('option', { hasText: `${FLAVOR} (` }).getAttribute('value');
  await page.getByLabel('Flavor').selectOption(flavor);
  await page.getByLabel('Image').selectOption({ label: IMAGE });
  await page.getByRole('button', { name: 'Create server' }).click();
  return page.locator(`[data-server="${name}"]`);
}

async function statusReaches(status, text, timeout) {
  await status.filter({ hasText: new RegExp(`^${text}`) }).waitFor({ timeout });
}

try {
  await run('a member logs in', async () => {
    await page.goto(URL_);
    await shot('login');
    await login(memberUser, memberPassword, memberProject);
  });

  await run('a bad password gets the API\'s message', async () => {
    await logout();
    await page.getByLabel('User').fill(memberUser);
    await page.getByLabel('Password').fill('wrong');
    await page.getByLabel('Project').fill(memberProject);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: /HTTP 401/ }).waitFor({ timeout: SHORT });
    await login(memberUser, memberPassword, memberProject);
  });

  await run('creates a server and watches it reach ACTIVE', async () => {
    const status = await createServer('web');
    await statusReaches(status, 'BUILD|ACTIVE', SHORT);
    await statusReaches(status, 'ACTIVE', BOOT);
    await shot('servers');
  });

  await run('types into its serial console and the guest answers', async () => {
    await page.getByRole('link', { name: 'web' }).click();
    await page.getByRole('button', { name: 'Connect to the serial console' }).click();
    await page.getByText('Connected: type into the console.').waitFor({ timeout: SHORT });
    const screen = page.getByRole('region', { name: 'Serial console' }).locator('.xterm-rows');
    // The shell reads the console once init started it; what is typed before would be lost.
    await screen.filter({ hasText: 'STRATUS-RUN-BEGIN /bin/sh' }).waitFor({ timeout: BOOT });
    await page.getByRole('region', { name: 'Serial console' }).click();
    await page.keyboard.type('echo STRATUS-$((6*7))');
    await page.keyboard.press('Enter');
    // The shell's answer: the echo of the typed line says $((6*7)), not 42.
    await screen.filter({ hasText: 'STRATUS-42' }).waitFor({ timeout: SHORT });
    await shot('console');
  });

  await run('reads the console log', async () => {
    await page.getByRole('button', { name: 'Show console log' }).click();
    await page.getByLabel('Console log').filter({ hasText: 'STRATUS-GUEST-READY' }).waitFor({ timeout: SHORT });
  });

  // The volume and the resize use the server booted above: no guest boots for them alone.
  await run('creates a volume, attaches it to the server, sees it in-use, detaches and deletes it', async () => {
    await page.getByRole('link', { name: 'Volumes' }).click();
    await page.getByText('Create a volume').click();
    await page.getByLabel('Volume name').fill('data');
    await page.getByRole('button', { name: 'Create volume' }).click();
    const status = page.locator('[data-volume="data"]');
    await statusReaches(status, 'available', SHORT);
    await page.getByLabel('Server for data').selectOption({ label: 'web' });
    await page.getByRole('button', { name: 'Attach data' }).click();
    await statusReaches(status, 'in-use', BOOT);
    await page.getByRole('row', { name: /data/ }).getByText(/web on \/dev\/vd/).waitFor({ timeout: SHORT });
    await shot('volumes');
    await page.getByRole('button', { name: 'Detach data' }).click();
    await statusReaches(status, 'available', BOOT);
    await page.getByRole('button', { name: 'Delete data' }).click();
    await status.waitFor({ state: 'detached', timeout: BOOT });
  });

  await run('stops the server', async () => {
    await page.getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('button', { name: 'Stop web' }).click();
    await statusReaches(page.locator('[data-server="web"]'), 'SHUTOFF', BOOT);
  });

  // Stopped, the resize needs no boot; Nova's VERIFY_RESIZE then asks to confirm or revert.
  await run('resizes the server and confirms', async () => {
    await page.getByRole('link', { name: 'web' }).click();
    await page.locator('summary', { hasText: 'Resize' }).click();
    const choice = await page.getByLabel('New flavor').locator('option', { hasText: `${FLAVOR2} (` })
      .getAttribute('value');
    await page.getByLabel('New flavor').selectOption(choice);
    await page.getByRole('button', { name: 'Resize', exact: true }).click();
    const status = page.locator('[data-server="web"]');
    await statusReaches(status, 'VERIFY_RESIZE', BOOT);
    await shot('resize');
    await page.getByRole('button', { name: 'Confirm resize web' }).click();
    await statusReaches(status, 'SHUTOFF$', BOOT);
    await page.getByText(`flavor ${FLAVOR2}`).waitFor({ timeout: SHORT });
    await page.getByRole('link', { name: '← All servers' }).click();
  });

  await run('deletes the server', async () => {
    await page.getByRole('button', { name: 'Delete web' }).click();
    await page.locator('[data-server="web"]').waitFor({ state: 'detached', timeout: BOOT });
  });

  await run('uploads an image and sees 100 %', async () => {
    await page.getByRole('link', { name: 'Images' }).click();
    await page.getByText('Upload an image').click();
    await page.getByLabel('Image name').fill('uploaded');
    await page.getByLabel('Image file').setInputFiles(env('UPLOAD_FILE'));
    await page.getByRole('button', { name: 'Upload image' }).click();
    await page.getByText('100 %').waitFor({ timeout: SHORT });
    if (await page.getByLabel('Upload progress').evaluate((p) => p.value) !== 100) {
      throw new Error('the progress bar is not at 100');
    }
    await page.locator('tr', { has: page.getByRole('cell', { name: 'uploaded', exact: true }) })
      .getByRole('cell', { name: 'active', exact: true }).waitFor({ timeout: SHORT });
    await shot('images');
  });

  await run('lists networks and key pairs', async () => {
    await page.getByRole('link', { name: 'Key pairs' }).click();
    await page.getByText('Create a key pair').click();
    await page.getByLabel('Key pair name').fill('k1');
    await page.getByRole('button', { name: 'Create key pair' }).click();
    await page.getByRole('cell', { name: 'k1', exact: true }).waitFor({ timeout: SHORT });
    await page.getByRole('link', { name: 'Networks' }).click();
    await page.getByRole('heading', { name: 'Networks' }).waitFor({ timeout: SHORT });
  });

  await run('a member cannot see the operator pages: the API refuses, the page says so', async () => {
    if (await page.getByRole('link', { name: 'Hosts' }).count() !== 0) {
      throw new Error('a member is shown the Hosts link');
    }
    await page.goto(`${URL_}#/hosts`);
    await page.getByText('this page is for operators').waitFor({ timeout: SHORT });
    await page.getByRole('alert').filter({ hasText: /HTTP 403/ }).waitFor({ timeout: SHORT });
    await shot('hosts-member');
    // Each page's own words, so that the page before it cannot answer for it.
    for (const [operators, refusal] of [['migrations', 'refused the migration list'],
      ['charts', 'refused the host figures']]) {
      await page.goto(`${URL_}#/${operators}`);
      await page.getByText(`${refusal}: this page is for operators`).waitFor({ timeout: SHORT });
      await page.getByRole('alert').filter({ hasText: /HTTP 403/ }).waitFor({ timeout: SHORT });
    }
  });

  await run('an admin sees the migrations: the resize, confirmed', async () => {
    await logout();
    await login(adminUser, adminPassword, adminProject);
    await page.getByRole('link', { name: 'Migrations' }).click();
    await page.getByRole('table', { name: 'Migrations in flight (updated every few seconds)' })
      .waitFor({ timeout: SHORT });
    const ended = page.getByRole('table', { name: /migrations that ended/ });
    await ended.getByRole('row', { name: /resize.*confirmed/ }).waitFor({ timeout: SHORT });
    await shot('migrations');
  });

  await run('an admin sees the hosts\' figures charted', async () => {
    await page.getByRole('link', { name: 'Charts' }).click();
    // From the Prometheus the scheduler names, or without one from placement's figures.
    await page.getByText(PROMETHEUS ? `From Prometheus at ${PROMETHEUS}` : 'No Prometheus is configured')
      .waitFor({ timeout: SHORT });
    const chart = page.getByRole('img', { name: PROMETHEUS ? 'Guests running per host' : 'vCPUs used per host' });
    await chart.waitFor({ timeout: SHORT });
    // Two points make a line (flat, which Playwright calls hidden: attached is what counts); without
    // Prometheus the page samples every 5 s.
    await chart.locator('polyline[points*=" "]').waitFor({ state: 'attached', timeout: SHORT });
    await page.getByText(`${HOST}: `).first().waitFor({ timeout: SHORT });
    await shot('charts');
  });

  await run('an admin drains the host: disabled, and its server refused with no other host', async () => {
    await page.getByRole('link', { name: 'Hosts' }).click();
    const state = page.locator(`[data-host="${HOST}"]`);
    await statusReaches(state, 'enabled', SHORT);
    await page.locator(`[data-balloons="${HOST}"]`).filter({ hasText: /none inflated|held in/ })
      .waitFor({ timeout: SHORT });
    await shot('hosts');
    await page.getByRole('button', { name: `Drain host ${HOST}` }).click();
    const progress = page.getByRole('region', { name: 'Drain progress' });
    await progress.getByText(/Drain of .* ended: 0 moved, 1 failed/).waitFor({ timeout: BOOT });
    await progress.locator('[data-drain="cli-console"]').filter({ hasText: 'failed' }).waitFor({ timeout: SHORT });
    await progress.getByRole('row', { name: /cli-console/ }).getByText(/No valid host/i)
      .waitFor({ timeout: SHORT });
    await statusReaches(state, 'disabled', SHORT);
    await shot('drain');
  });

  await run('new servers avoid the disabled host', async () => {
    const refused = await createServer('refused');
    await statusReaches(refused, 'ERROR', BOOT);
    await page.getByRole('link', { name: 'refused' }).click();
    await page.getByText(/No valid host/).waitFor({ timeout: SHORT });
    await page.getByRole('button', { name: 'Delete refused' }).click();
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByRole('button', { name: `Enable host ${HOST}` }).click();
    await statusReaches(page.locator(`[data-host="${HOST}"]`), 'enabled', SHORT);
  });

  await run('works at a laptop\'s width', async () => {
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.getByRole('link', { name: 'Servers' }).click();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    if (overflow) {
      throw new Error('the servers page is wider than a 1024 px window');
    }
  });
  console.log('PASS');
} catch (e) {
  console.log(`FAIL at "${step}": ${e.message}`);
  try {
    console.log(`alert: ${await page.getByRole('alert').allTextContents()}`);
    mkdirSync('target', { recursive: true });
    await page.screenshot({ path: join('target', 'browser-failure.png') });
    console.log('the page as it was: dashboard/target/browser-failure.png');
  } catch {
    // The page is gone: the message above is what there is.
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
