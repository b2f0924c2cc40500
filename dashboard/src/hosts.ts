import { call } from './api';
import { bytes } from './chart';
import { h, replace, table } from './dom';
import { drain } from './drain';
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
  /** Stratus's own: the running guests' balloons, summed. */
  balloon_held_bytes?: number;
  guest_available_bytes?: number;
  ballooned_guests?: number;
  service: { host: string; disabled_reason: string };
}

function meter(label: string, used: number, total: number, unit: string): HTMLElement {
  return h('span', { class: 'usage' }, h('meter', { min: 0, max: total || 1, value: used, 'aria-label': label }),
    ` ${used} / ${total} ${unit}`);
}

/** The balloons' state: what they hold for the host, in how many guests, and what guests report free. */
function balloons(x: Hypervisor): string {
  if (!x.ballooned_guests) {
    return x.guest_available_bytes ? `none inflated · guests report ${bytes(x.guest_available_bytes)} free`
      : 'none inflated';
  }
  return `${bytes(x.balloon_held_bytes ?? 0)} held in ${x.ballooned_guests} guest(s)`
    + (x.guest_available_bytes ? ` · guests report ${bytes(x.guest_available_bytes)} free` : '');
}

/**
 * The operator's hosts: capacity and usage from placement (os-hypervisors), KSM and balloons as
 * the agents report them, enable and disable (os-services), drain with each server's progress. A
 * member's token gets the API's refusal, which the page shows as it is.
 */
export async function hostsPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  const list = h('div', {});
  const progress = h('section', { 'aria-label': 'Drain progress' });
  let left = false;
  ctx.onLeave(() => { left = true; });
  let draining = false;
  const refresh = async () => {
    const hosts = (await call<{ hypervisors: Hypervisor[] }>(s, 'compute', 'GET', '/os-hypervisors/detail')).hypervisors;
    replace(list, hosts.length === 0 ? h('p', {}, 'No hosts have reported.') : table(
      ['Host', 'State', 'Status', 'vCPUs', 'Memory', 'Disk', 'Servers', 'KSM saved', 'Balloons', 'Actions'],
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
        h('span', { 'data-balloons': x.hypervisor_hostname }, balloons(x)),
        h('span', { class: 'actions' }, h('button', {
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
        h('button', {
          type: 'button',
          class: 'danger',
          'aria-label': `Drain host ${x.hypervisor_hostname}`,
          disabled: draining,
          onclick: async () => {
            if (!confirm(`Drain ${x.hypervisor_hostname}: disable it and live-migrate every server off it?`)) {
              return;
            }
            ctx.error(null);
            draining = true;
            try {
              await drain(s, x.hypervisor_hostname, progress, () => left);
            } catch (e) {
              ctx.error(e);
            } finally {
              draining = false;
              await refresh().catch(ctx.error);
            }
          },
        }, 'Drain')),
      ]), 'Compute hosts: capacity and usage'));
  };
  try {
    await refresh();
  } catch (e) {
    replace(root, h('p', { class: 'refused' }, 'The Compute API refused the host list: this page is for operators.'));
    throw e;
  }
  replace(root, list, progress);
  ctx.every(5000, refresh);
}
