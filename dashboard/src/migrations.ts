import { call } from './api';
import { h, replace, table } from './dom';
import { PageContext } from './page';

interface MigrationRow {
  id: number;
  instance_uuid: string;
  migration_type: string;
  status: string;
  source_compute: string;
  dest_compute: string;
  created_at: string;
  updated_at: string;
  'stratus:fault'?: { message: string };
}

/** Statuses after which a move is over; a finished resize still waits for its confirm or revert. */
const OVER = new Set(['completed', 'done', 'confirmed', 'reverted', 'error', 'failed', 'cancelled']);
const POLL_MS = 3000;
const RECENT = 10;

function rows(ms: MigrationRow[]): (string | HTMLElement)[][] {
  return ms.map((m) => [
    h('a', { href: `#/server/${m.instance_uuid}` }, m.instance_uuid.slice(0, 8)),
    m.migration_type,
    h('span', { class: `migration ${m.status}`, 'data-migration': m.id }, m.status),
    `${m.source_compute ?? '?'} → ${m.dest_compute ?? '?'}`,
    new Date(m.created_at).toLocaleTimeString(),
    m['stratus:fault']?.message ?? '',
  ]);
}

/** The table, there even when empty (one row across it says so), so that the page keeps its shape. */
function listing(headers: string[], body: (string | HTMLElement)[][], none: string, caption: string): HTMLElement {
  const t = table(headers, body.length === 0 ? [[none]] : body, caption);
  if (body.length === 0) {
    t.querySelector('td')!.colSpan = headers.length;
  }
  return t;
}

/**
 * Migrations (operators): the moves in flight from {@code GET /os-migrations}, refreshed every few
 * seconds, and the latest that ended. A member gets the API's refusal, shown as it is.
 */
export async function migrationsPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const refresh = async () => {
    const all = (await call<{ migrations: MigrationRow[] }>(ctx.session, 'compute', 'GET', '/os-migrations'))
      .migrations;
    const flying = all.filter((m) => !OVER.has(m.status));
    const ended = all.filter((m) => OVER.has(m.status)).slice(0, RECENT);
    const headers = ['Server', 'Type', 'Status', 'Hosts', 'Started', 'Fault'];
    replace(root,
      h('h2', {}, 'In flight'),
      listing(headers, rows(flying), 'No migration is in flight.', 'Migrations in flight (updated every few seconds)'),
      h('h2', {}, 'Ended'),
      listing(headers, rows(ended), 'No migration has ended yet.', `The latest ${RECENT} migrations that ended`),
      h('p', { class: 'note' }, `Updated ${new Date().toLocaleTimeString()}`));
  };
  try {
    await refresh();
  } catch (e) {
    replace(root, h('p', { class: 'refused' }, 'The Compute API refused the migration list: this page is for operators.'));
    throw e;
  }
  ctx.every(POLL_MS, refresh);
}
