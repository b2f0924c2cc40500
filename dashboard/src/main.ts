import '@xterm/xterm/css/xterm.css';
import './style.css';
import { forget, isAdmin, savedSession, Session } from './api';
import { h, replace } from './dom';
import { chartsPage } from './charts';
import { hostsPage } from './hosts';
import { imagesPage } from './images';
import { keypairsPage } from './keypairs';
import { loginPage } from './login';
import { migrationsPage } from './migrations';
import { networksPage } from './networks';
import { describe, Page, PageContext } from './page';
import { serverPage, serversPage } from './servers';
import { volumesPage } from './volumes';

// Hash routes (#/servers, #/servers/<id>): the scheduler serves index.html at /dashboard/ only,
// so the app needs no server-side fallback for its own paths.
const routes: Record<string, { title: string; page: Page; admin?: boolean }> = {
  servers: { title: 'Servers', page: serversPage },
  server: { title: 'Server', page: serverPage },
  images: { title: 'Images', page: imagesPage },
  networks: { title: 'Networks', page: networksPage },
  volumes: { title: 'Volumes', page: volumesPage },
  keypairs: { title: 'Key pairs', page: keypairsPage },
  hosts: { title: 'Hosts', page: hostsPage, admin: true },
  migrations: { title: 'Migrations', page: migrationsPage, admin: true },
  charts: { title: 'Charts', page: chartsPage, admin: true },
};
const NAV = ['servers', 'images', 'networks', 'volumes', 'keypairs', 'hosts', 'migrations', 'charts'];

const app = document.getElementById('app')!;
let leaving: (() => void)[] = [];

function leave(): void {
  leaving.forEach((fn) => fn());
  leaving = [];
}

function show(): void {
  leave();
  const session = savedSession();
  if (!session) {
    replace(app, loginPage((s) => {
      location.hash = '#/servers';
      shell(s);
    }));
    return;
  }
  shell(session);
}

function shell(session: Session): void {
  leave();
  const [, name = 'servers', arg] = location.hash.replace(/^#/, '').split('/');
  const route = routes[name] ?? routes.servers;
  const alert = h('div', { role: 'alert', class: 'alert', hidden: true });
  const status = h('div', { role: 'status', class: 'note' });
  const main = h('main', { 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  const nav = h('nav', { 'aria-label': 'Sections' }, ...NAV
    .filter((n) => !routes[n].admin || isAdmin(session))
    .map((n) => h('a', { href: `#/${n}`, 'aria-current': n === name || (name === 'server' && n === 'servers')
      ? 'page' : undefined }, routes[n].title)));
  replace(app,
    h('header', {},
      h('span', { class: 'brand' }, 'Stratus'),
      nav,
      h('span', { class: 'who' }, `${session.user} · project ${session.projectName}`
        + (isAdmin(session) ? ' · admin' : '')),
      h('button', { type: 'button', onclick: () => { forget(); location.hash = ''; show(); } }, 'Log out')),
    alert, status, main);
  document.title = `${route.title} · Stratus`;
  const ctx: PageContext = {
    session,
    error(e) {
      if (e === null) {
        alert.hidden = true;
        alert.textContent = '';
        return;
      }
      alert.hidden = false;
      alert.textContent = describe(e);
      if (e instanceof Error && 'status' in e && (e as { status: number }).status === 401) {
        // The token expired or was revoked: back to the login.
        forget();
      }
    },
    note(text) {
      status.textContent = text;
    },
    every(ms, fn) {
      let stopped = false;
      let timer = 0;
      const tick = async () => {
        try {
          await fn();
        } catch (e) {
          ctx.error(e);
        }
        if (!stopped) {
          timer = window.setTimeout(tick, ms);
        }
      };
      timer = window.setTimeout(tick, ms);
      leaving.push(() => { stopped = true; clearTimeout(timer); });
    },
    onLeave(fn) {
      leaving.push(fn);
    },
  };
  const content = h('div', {});
  Promise.resolve(route.page(ctx, content, arg))
    .then(() => replace(main, h('h1', {}, route.title), content))
    .catch((e) => {
      replace(main, h('h1', {}, route.title), content);
      ctx.error(e);
    })
    .finally(() => main.setAttribute('aria-busy', 'false'));
}

window.addEventListener('hashchange', show);
show();
