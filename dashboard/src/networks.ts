import { call } from './api';
import { field, h, replace, table } from './dom';
import { PageContext } from './page';

export async function networksPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  const list = h('div', {});
  const refresh = async () => {
    const [networks, subnets] = await Promise.all([
      call(s, 'network', 'GET', '/v2.0/networks').then((r) => r.networks as { id: string; name: string;
        status: string; shared: boolean; 'router:external': boolean; subnets: string[] }[]),
      call(s, 'network', 'GET', '/v2.0/subnets').then((r) => r.subnets as { id: string; cidr: string }[]),
    ]);
    const cidr = new Map(subnets.map((x) => [x.id, x.cidr]));
    replace(list, networks.length === 0 ? h('p', {}, 'No networks.') : table(['Name', 'Status', 'Subnets', 'Kind'],
      networks.map((n) => [n.name, n.status, n.subnets.map((id) => cidr.get(id) ?? id).join(', '),
        n['router:external'] ? 'external' : n.shared ? 'shared' : 'project']), 'Networks this project can use'));
  };
  await refresh();
  const name = h('input', { name: 'name', required: true });
  const range = h('input', { name: 'cidr', placeholder: '10.0.0.0/24', required: true });
  const form = h('form', {
    'aria-label': 'Create a network',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      ctx.error(null);
      try {
        const n = await call(s, 'network', 'POST', '/v2.0/networks', { network: { name: name.value } });
        await call(s, 'network', 'POST', '/v2.0/subnets', { subnet: { network_id: n.network.id, ip_version: 4,
          cidr: range.value, name: `${name.value}-subnet` } });
        ctx.note(`Network ${name.value} created`);
        form.reset();
        await refresh();
      } catch (err) {
        ctx.error(err);
      }
    },
  }, field('Network name', name), field('Subnet range (CIDR)', range), h('button', { type: 'submit' }, 'Create network'));
  replace(root, h('details', { class: 'create' }, h('summary', {}, 'Create a network'), form), list);
}
