import { ApiError, call, Session } from './api';
import { h, replace, table } from './dom';
import { describe } from './page';

// Draining a host as `nova host-evacuate-live` does it, through the public Compute API only:
// disable the host (so nothing new lands there), then live-migrate each of its servers with
// no target host (the scheduler picks one), one at a time, following each move until it ends.

interface Placed {
  id: string;
  name: string;
  status: string;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  fault?: { message: string };
}

interface MigrationRow {
  id: number;
  status: string;
  migration_type: string;
  source_compute: string;
  dest_compute: string;
  'stratus:fault'?: { message: string };
}

/** One server's line in the drain's progress. */
interface Step {
  name: string;
  state: 'waiting' | 'moving' | 'moved' | 'failed' | 'skipped';
  detail: string;
}

const POLL_MS = 2000;
/** A live migration under TCG copies guest memory slowly; past this the drain stops waiting and says so. */
const MOVE_LIMIT_MS = 10 * 60_000;
const ENDED = ['completed', 'done', 'confirmed', 'finished'];
const FAILED = ['error', 'failed', 'cancelled', 'reverted'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Drains {@code host}, drawing each server's progress into {@code into} as it goes; resolves
 * when every server has moved, failed or been skipped. {@code gone()} says the page was left.
 */
export async function drain(s: Session, host: string, into: HTMLElement, gone: () => boolean): Promise<void> {
  const steps = new Map<string, Step>();
  const summary = h('p', { role: 'status', class: 'note', 'aria-live': 'polite' }, `Disabling ${host}…`);
  const draw = () => replace(into, h('h2', {}, `Drain of ${host}`), summary, steps.size === 0 ? null : table(
    ['Server', 'Progress', 'Detail'],
    [...steps.values()].map((st) => [st.name, h('span', { class: `drain ${st.state}`, 'data-drain': st.name },
      st.state), st.detail]),
    `Servers on ${host}, live-migrated one at a time`));
  draw();
  await call(s, 'compute', 'PUT', '/os-services/disable-log-reason',
    { host, binary: 'nova-compute', disabled_reason: 'drained in the dashboard' });
  const servers = (await call<{ servers: Placed[] }>(s, 'compute', 'GET',
    `/servers/detail?all_tenants=1&host=${encodeURIComponent(host)}`)).servers
    .filter((x) => x['OS-EXT-SRV-ATTR:host'] === host);
  for (const x of servers) {
    steps.set(x.id, { name: x.name, state: 'waiting', detail: x.status });
  }
  summary.textContent = servers.length === 0 ? `${host} is disabled and has no servers: nothing to move.`
    : `${host} is disabled; moving ${servers.length} server(s) off it…`;
  draw();
  for (const x of servers) {
    if (gone()) {
      return;
    }
    const st = steps.get(x.id)!;
    if (x.status !== 'ACTIVE') {
      Object.assign(st, { state: 'skipped', detail: `${x.status}: only running servers are live-migrated` });
      draw();
      continue;
    }
    Object.assign(st, { state: 'moving', detail: 'asking the Compute API for a live migration' });
    draw();
    try {
      await call(s, 'compute', 'POST', `/servers/${x.id}/action`, { 'os-migrateLive': { host: null,
        block_migration: 'auto' } });
      await follow(s, x.id, host, (detail) => { st.detail = detail; draw(); }, gone);
      Object.assign(st, { state: 'moved', detail: st.detail });
    } catch (e) {
      Object.assign(st, { state: 'failed', detail: describe(e) });
    }
    draw();
  }
  const moved = [...steps.values()].filter((st) => st.state === 'moved').length;
  const failed = [...steps.values()].filter((st) => st.state === 'failed').length;
  summary.textContent = `Drain of ${host} ended: ${moved} moved, ${failed} failed, `
    + `${steps.size - moved - failed} skipped. The host stays disabled.`;
  draw();
}

/** Follows one server's move until it runs on another host; throws with the reason if the move fails. */
async function follow(s: Session, id: string, source: string, progress: (detail: string) => void,
  gone: () => boolean): Promise<void> {
  const end = Date.now() + MOVE_LIMIT_MS;
  while (!gone()) {
    await sleep(POLL_MS);
    const [server, migrations] = await Promise.all([
      call<{ server: Placed }>(s, 'compute', 'GET', `/servers/${id}`).then((r) => r.server),
      call<{ migrations: MigrationRow[] }>(s, 'compute', 'GET',
        `/os-migrations?instance_uuid=${id}&migration_type=live-migration`).then((r) => r.migrations),
    ]);
    const m = migrations.sort((a, b) => b.id - a.id)[0];
    const host = server['OS-EXT-SRV-ATTR:host'];
    const task = server['OS-EXT-STS:task_state'];
    progress(`${server.status}${task ? ` (${task})` : ''} on ${host ?? 'no host'}`
      + (m ? ` · migration ${m.status} ${m.source_compute} → ${m.dest_compute}` : ''));
    if (m && FAILED.includes(m.status)) {
      throw new ApiError(0, `the migration to ${m.dest_compute} ended in ${m.status}`
        + (m['stratus:fault'] ? `: ${m['stratus:fault'].message}` : ''));
    }
    if (server.status === 'ERROR') {
      throw new ApiError(0, `the server went to ERROR${server.fault ? `: ${server.fault.message}` : ''}`);
    }
    if (host && host !== source && !task && (!m || ENDED.includes(m.status))) {
      progress(`running on ${host}`);
      return;
    }
    if (Date.now() > end) {
      throw new ApiError(0, `still moving after ${MOVE_LIMIT_MS / 60_000} minutes; the drain goes on without it`);
    }
  }
}
