import { call } from './api';
import { h, replace, table } from './dom';
import { PageContext } from './page';

interface Hypervisor {
  id: number;
  hypervisor_hostname: string;
  state: string;
  status: string;
  hypervisor_type: string;
  vcpus: number;
  vcpus_used: number;
  memory_mb: number;
  memory_mb_used: number;
  local_gb: number;
  local_gb_used: number;
  running_vms: number;
  ksm_saved_bytes?: number;
  service: { host: string; disabled_reason: string };
}

function meter(label: string, used: number, total: number, unit: string): HTMLElement {
  return h('span', { class: 'usage' }, h('meter', { min: 0, max: total || 1, value: used, 'aria-label': label }),
    ` ${used} / ${total} ${unit}`);
}

/**
 * The operator's hosts: capacity and usage from placement (os-hypervisors), enable and disable
 * (os-services). A member's token gets the API's refusal, which the page shows as it is.
 */
export async function hostsPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  const refresh = async () => {
    const hosts = (await call<{ hypervisors: Hypervisor[] }>(s, 'compute', 'GET', '/os-hypervisors/detail')).hypervisors;
    replace(root, hosts.length === 0 ? h('p', {}, 'No hosts have reported.') : table(
      ['Host', 'State', 'Status', 'vCPUs', 'Memory', 'Disk', 'Servers', 'KSM saved', 'Actions'],
      hosts.map((x) => [
        x.hypervisor_hostname,
        x.state,
        h('span', { 'data-host': x.hypervisor_hostname }, x.status
          + (x.service.disabled_reason ? ` (${x.service.disabled_reason})` : '')),
        meter(`vCPUs used on ${x.hypervisor_hostname}`, x.vcpus_used, x.vcpus, ''),
        meter(`Memory used on ${x.hypervisor_hostname}`, x.memory_mb_used, x.memory_mb, 'MiB'),
        meter(`Disk used on ${x.hypervisor_hostname}`, x.local_gb_used, x.local_gb, 'GiB'),
        x.running_vms,
        x.ksm_saved_bytes ? `${(x.ksm_saved_bytes / (1 << 20)).toFixed(1)} MiB` : '0',
        h('button', {
          type: 'button',
          'aria-label': `${x.status === 'enabled' ? 'Disable' : 'Enable'} host ${x.hypervisor_hostname}`,
          onclick: async () => {
            ctx.error(null);
            const enable = x.status !== 'enabled';
            try {
              await call(s, 'compute', 'PUT', `/os-services/${enable ? 'enable' : 'disable-log-reason'}`,
                enable ? { host: x.hypervisor_hostname, binary: 'nova-compute' }
                  : { host: x.hypervisor_hostname, binary: 'nova-compute', disabled_reason: 'disabled in the dashboard' });
              ctx.note(`Host ${x.hypervisor_hostname} ${enable ? 'enabled' : 'disabled'}`);
              await refresh();
            } catch (e) {
              ctx.error(e);
            }
          },
        }, x.status === 'enabled' ? 'Disable' : 'Enable'),
      ]), 'Compute hosts: capacity and usage'));
  };
  try {
    await refresh();
  } catch (e) {
    replace(root, h('p', { class: 'refused' }, 'The Compute API refused the host list: this page is for operators.'));
    throw e;
  }
  ctx.every(5000, refresh);
}
