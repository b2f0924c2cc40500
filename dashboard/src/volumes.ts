import { call, Session } from './api';
import { field, h, replace, table } from './dom';
import { PageContext } from './page';

interface Volume {
  id: string;
  name: string | null;
  status: string;
  size: number;
  attachments: { server_id: string; device: string }[];
}

interface ServerRef {
  id: string;
  name: string;
  status: string;
}

const POLL_MS = 3000;
/** While a volume is on its way between states, asked every second instead. */
const BUSY_POLL_MS = 1000;
const SETTLED = ['available', 'in-use', 'error', 'error_deleting', 'error_extending'];

const label = (v: Volume) => v.name || v.id;

/**
 * Volumes (Cinder v3 at the catalog's volumev3 endpoint): list with status, polled; create,
 * delete; attach to and detach from a server through Nova's os-volume_attachments, as `openstack
 * server add volume` does.
 */
export async function volumesPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  const list = h('div', {});
  const act = async (what: string, fn: () => Promise<unknown>) => {
    ctx.error(null);
    try {
      await fn();
      busy = true;
      ctx.note(what);
      await refresh();
    } catch (e) {
      ctx.error(e);
    }
  };
  let shown = '';
  let busy = false;
  let asked = 0;
  const refresh = async () => {
    asked = Date.now();
    const [volumes, servers] = await Promise.all([
      call<{ volumes: Volume[] }>(s, 'volume', 'GET', '/volumes/detail').then((r) => r.volumes),
      call<{ servers: ServerRef[] }>(s, 'compute', 'GET', '/servers/detail').then((r) => r.servers),
    ]);
    busy = volumes.some((v) => !SETTLED.includes(v.status));
    // Drawn again only when something changed: a redraw would close a server list the user has open.
    const seen = JSON.stringify([volumes, servers.map((x) => [x.id, x.name, x.status])]);
    if (seen === shown) {
      return;
    }
    shown = seen;
    const names = new Map(servers.map((x) => [x.id, x.name]));
    replace(list, volumes.length === 0 ? h('p', {}, 'No volumes yet.') : table(
      ['Name', 'Size', 'Status', 'Attached to', 'Actions'],
      volumes.map((v) => [
        label(v),
        `${v.size} GiB`,
        h('span', { class: `status ${v.status}`, 'data-volume': label(v) }, v.status),
        v.attachments.map((a) => `${names.get(a.server_id) ?? a.server_id} on ${a.device}`).join(', '),
        actions(s, v, servers, act),
      ]),
      'Volumes of this project (updated every few seconds)'));
  };
  await refresh();
  ctx.every(BUSY_POLL_MS, async () => {
    if (busy || Date.now() - asked >= POLL_MS) {
      await refresh();
    }
  });
  const name = h('input', { name: 'name', required: true });
  const size = h('input', { name: 'size', type: 'number', min: 1, value: '1', required: true });
  const form = h('form', {
    'aria-label': 'Create a volume',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      await act(`Creating volume ${name.value}`, () => call(s, 'volume', 'POST', '/volumes',
        { volume: { name: name.value, size: Number(size.value) } }));
      form.reset();
    },
  }, field('Volume name', name), field('Size (GiB)', size), h('button', { type: 'submit' }, 'Create volume'));
  replace(root, h('details', { class: 'create' }, h('summary', {}, 'Create a volume'), form), list);
}

function actions(s: Session, v: Volume, servers: ServerRef[],
  act: (what: string, fn: () => Promise<unknown>) => Promise<void>): HTMLElement {
  const name = label(v);
  const box = h('span', { class: 'actions' });
  for (const a of v.attachments) {
    box.append(h('button', {
      type: 'button',
      'aria-label': `Detach ${name}`,
      onclick: () => act(`Detaching ${name}`, () => call(s, 'compute', 'DELETE',
        `/servers/${a.server_id}/os-volume_attachments/${v.id}`)),
    }, 'Detach'));
  }
  if (v.status === 'available') {
    const usable = servers.filter((x) => ['ACTIVE', 'SHUTOFF'].includes(x.status));
    if (usable.length > 0) {
      const target = h('select', { 'aria-label': `Server for ${name}` },
        ...usable.map((x) => h('option', { value: x.id }, x.name)));
      box.append(target, h('button', {
        type: 'button',
        'aria-label': `Attach ${name}`,
        onclick: () => act(`Attaching ${name}`, () => call(s, 'compute', 'POST',
          `/servers/${target.value}/os-volume_attachments`, { volumeAttachment: { volumeId: v.id } })),
      }, 'Attach'));
    }
  }
  if (v.attachments.length === 0) {
    box.append(h('button', {
      type: 'button',
      class: 'danger',
      'aria-label': `Delete ${name}`,
      onclick: () => {
        if (confirm(`Delete volume ${name}?`)) {
          void act(`Deleting ${name}`, () => call(s, 'volume', 'DELETE', `/volumes/${v.id}`));
        }
      },
    }, 'Delete'));
  }
  return box;
}
