import { call, isAdmin, Session } from './api';
import { field, h, replace, table } from './dom';
import { openConsole } from './serial';
import { PageContext } from './page';

interface Server {
  id: string;
  name: string;
  status: string;
  flavor: { id?: string; original_name?: string };
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  addresses: Record<string, { addr: string }[]>;
  fault?: { message: string };
}

/** How often the lists ask again, so that a status change shows without a reload. */
const POLL_MS = 3000;

function addresses(s: Server): string {
  return Object.entries(s.addresses ?? {}).map(([net, addrs]) => `${net}: ${addrs.map((a) => a.addr).join(', ')}`)
    .join('; ');
}

/** The actions a server's status allows, as buttons named after the action and the server. */
function actions(ctx: PageContext, s: Server, changed: () => void): HTMLElement {
  const act = (label: string, body: unknown, done: string) => h('button', {
    type: 'button',
    'aria-label': `${label} ${s.name}`,
    onclick: async () => {
      ctx.error(null);
      try {
        await call(ctx.session, 'compute', 'POST', `/servers/${s.id}/action`, body);
        ctx.note(`${done} ${s.name}`);
        changed();
      } catch (e) {
        ctx.error(e);
      }
    },
  }, label);
  const del = h('button', {
    type: 'button',
    class: 'danger',
    'aria-label': `Delete ${s.name}`,
    onclick: async () => {
      if (!confirm(`Delete server ${s.name}?`)) {
        return;
      }
      ctx.error(null);
      try {
        await call(ctx.session, 'compute', 'DELETE', `/servers/${s.id}`);
        ctx.note(`Deleting ${s.name}`);
        changed();
      } catch (e) {
        ctx.error(e);
      }
    },
  }, 'Delete');
  // Nova's VERIFY_RESIZE waits for the user to keep the new size or go back to the old one.
  return h('span', { class: 'actions' },
    s.status === 'SHUTOFF' && act('Start', { 'os-start': null }, 'Starting'),
    s.status === 'ACTIVE' && act('Stop', { 'os-stop': null }, 'Stopping'),
    s.status === 'ACTIVE' && act('Reboot', { reboot: { type: 'SOFT' } }, 'Rebooting'),
    s.status === 'VERIFY_RESIZE' && act('Confirm resize', { confirmResize: null }, 'Confirmed the resize of'),
    s.status === 'VERIFY_RESIZE' && act('Revert resize', { revertResize: null }, 'Reverting the resize of'),
    del);
}

function statusText(s: Server): string {
  const task = s['OS-EXT-STS:task_state'];
  return task ? `${s.status} (${task})` : s.status;
}

export async function serversPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const list = h('div', {});
  const refresh = async () => {
    const servers = (await call<{ servers: Server[] }>(ctx.session, 'compute', 'GET', '/servers/detail')).servers;
    replace(list, servers.length === 0 ? h('p', {}, 'No servers yet.') : table(
      ['Name', 'Status', 'Addresses', 'Actions'],
      servers.map((s) => [
        h('a', { href: `#/server/${s.id}` }, s.name),
        h('span', { class: `status ${s.status.toLowerCase()}`, 'data-server': s.name }, statusText(s)),
        addresses(s),
        actions(ctx, s, () => void refresh().catch(ctx.error)),
      ]),
      'Servers of this project (updated every few seconds)'));
  };
  await refresh();
  ctx.every(POLL_MS, refresh);
  replace(root, await createForm(ctx, () => void refresh().catch(ctx.error)), list);
}

/** The create form, its choices read from the APIs. */
async function createForm(ctx: PageContext, created: () => void): Promise<HTMLElement> {
  const s = ctx.session;
  const [flavors, images, networks, keypairs] = await Promise.all([
    call(s, 'compute', 'GET', '/flavors/detail').then((r) => r.flavors as { id: string; name: string; ram: number;
      vcpus: number; disk: number }[]),
    call(s, 'image', 'GET', '/v2/images?limit=200').then((r) => (r.images as { id: string; name: string;
      status: string; disk_format: string }[]).filter((i) => i.status === 'active'
      && !['aki', 'ari'].includes(i.disk_format))),
    call(s, 'network', 'GET', '/v2.0/networks').then((r) => r.networks as { id: string; name: string }[]),
    call(s, 'compute', 'GET', '/os-keypairs').then((r) => (r.keypairs as { keypair: { name: string } }[])
      .map((k) => k.keypair)),
  ]);
  const name = h('input', { name: 'name', required: true });
  const flavor = h('select', { name: 'flavor' }, ...flavors.map((f) => h('option', { value: f.id },
    `${f.name} (${f.vcpus} vCPU, ${f.ram} MiB, ${f.disk} GiB)`)));
  const image = h('select', { name: 'image' }, ...images.map((i) => h('option', { value: i.id }, i.name)));
  const network = h('select', { name: 'network' }, h('option', { value: '' }, 'No network'),
    ...networks.map((n) => h('option', { value: n.id }, n.name || n.id)));
  const key = h('select', { name: 'key' }, h('option', { value: '' }, 'No key'),
    ...keypairs.map((k) => h('option', { value: k.name }, k.name)));
  const userData = h('textarea', { name: 'user_data', rows: 3 });
  const submit = h('button', { type: 'submit' }, 'Create server');
  const form = h('form', {
    'aria-label': 'Create a server',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      ctx.error(null);
      const server: Record<string, unknown> = { name: name.value, flavorRef: flavor.value, imageRef: image.value };
      if (network.value) {
        server.networks = [{ uuid: network.value }];
      }
      if (key.value) {
        server.key_name = key.value;
      }
      if (userData.value) {
        server.user_data = base64(userData.value);
      }
      submit.disabled = true;
      try {
        await call(s, 'compute', 'POST', '/servers', { server });
        ctx.note(`Creating ${name.value}`);
        form.reset();
        created();
      } catch (err) {
        ctx.error(err);
      } finally {
        submit.disabled = false;
      }
    },
  }, field('Name', name), field('Flavor', flavor), field('Image', image), field('Network', network),
  field('Key pair', key), field('User data', userData), submit);
  return h('details', { class: 'create' }, h('summary', {}, 'Create a server'), form);
}

/** UTF-8 text as base64, as Nova takes user data. */
function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  bytes.forEach((b) => { bin += String.fromCharCode(b); });
  return btoa(bin);
}

/** One server: its status, actions, console log and live serial console. */
export async function serverPage(ctx: PageContext, root: HTMLElement, id?: string): Promise<void> {
  const s: Session = ctx.session;
  const head = h('div', {});
  let current: Server;
  const refresh = async () => {
    current = (await call<{ server: Server }>(s, 'compute', 'GET', `/servers/${id}`)).server;
    replace(head,
      h('h2', {}, current.name),
      h('p', {}, 'Status: ', h('span', { class: 'status', 'data-server': current.name }, statusText(current)),
        current.flavor?.id ? ` · flavor ${current.flavor.id}` : '',
        isAdmin(s) && current['OS-EXT-SRV-ATTR:host'] ? ` · host ${current['OS-EXT-SRV-ATTR:host']}` : ''),
      current.fault && h('p', { class: 'fault' }, `Fault: ${current.fault.message}`),
      h('p', {}, addresses(current)),
      actions(ctx, current, () => void refresh().catch(ctx.error)));
  };
  await refresh();
  ctx.every(POLL_MS, refresh);

  const log = h('pre', { class: 'log', 'aria-label': 'Console log', tabindex: 0 });
  const showLog = h('button', {
    type: 'button',
    onclick: async () => {
      ctx.error(null);
      try {
        const r = await call(s, 'compute', 'POST', `/servers/${id}/action`, { 'os-getConsoleOutput': { length: 200 } });
        log.textContent = r.output || '(the console is empty)';
      } catch (e) {
        ctx.error(e);
      }
    },
  }, 'Show console log');

  const terminal = h('div', { class: 'terminal', role: 'region', 'aria-label': 'Serial console' });
  const consoleState = h('p', { role: 'status', class: 'note' }, 'Not connected.');
  let close: (() => void) | null = null;
  const connect = h('button', {
    type: 'button',
    onclick: async () => {
      ctx.error(null);
      close?.();
      try {
        // Microversion 2.6's remote-consoles gives a WebSocket URL with a one-time token.
        const r = await call(s, 'compute', 'POST', `/servers/${id}/remote-consoles`,
          { remote_console: { protocol: 'serial', type: 'serial' } }, { 'OpenStack-API-Version': 'compute 2.6' });
        close = openConsole(terminal, r.remote_console.url, (text) => { consoleState.textContent = text; });
      } catch (e) {
        ctx.error(e);
      }
    },
  }, 'Connect to the serial console');
  ctx.onLeave(() => close?.());
  replace(root, h('p', {}, h('a', { href: '#/servers' }, '← All servers')), head,
    await resizeForm(ctx, id!, () => current, () => void refresh().catch(ctx.error)),
    h('section', {}, h('h2', {}, 'Serial console'), connect, consoleState,
      terminal),
    h('section', {}, h('h2', {}, 'Console log'), showLog, log));
}

/**
 * Resize: a flavor other than the server's, then Nova's VERIFY_RESIZE, where the actions offer
 * confirm and revert.
 */
async function resizeForm(ctx: PageContext, id: string, server: () => Server, changed: () => void):
    Promise<HTMLElement> {
  const s = ctx.session;
  const flavors = (await call(s, 'compute', 'GET', '/flavors/detail')).flavors as { id: string; name: string;
    ram: number; vcpus: number; disk: number }[];
  const current = server().flavor;
  const choice = h('select', { name: 'flavor' }, ...flavors
    .filter((f) => f.id !== current.id && f.name !== current.original_name)
    .map((f) => h('option', { value: f.id }, `${f.name} (${f.vcpus} vCPU, ${f.ram} MiB, ${f.disk} GiB)`)));
  const submit = h('button', { type: 'submit' }, 'Resize');
  const form = h('form', {
    'aria-label': 'Resize the server',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      ctx.error(null);
      submit.disabled = true;
      try {
        await call(s, 'compute', 'POST', `/servers/${id}/action`, { resize: { flavorRef: choice.value } });
        ctx.note(`Resizing ${server().name}: confirm or revert when it asks (VERIFY_RESIZE)`);
        changed();
      } catch (err) {
        ctx.error(err);
      } finally {
        submit.disabled = false;
      }
    },
  }, field('New flavor', choice), submit);
  return h('details', { class: 'create' }, h('summary', {}, 'Resize'), form);
}
