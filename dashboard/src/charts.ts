import { ApiError, call, Session } from './api';
import { bytes, lineChart, plain, Series } from './chart';
import { h, replace } from './dom';
import { PageContext } from './page';

// Charts of the hosts' and instances' figures. With a Prometheus (the scheduler's
// stratus.dashboard.prometheus-url, read from /dashboard/config.json) they are its range queries
// over the agents' meters; without one, the control plane's own figures (placement usage from
// os-hypervisors), sampled while the page is open and kept in the page.

interface Config {
  prometheus_url: string | null;
}

interface Chart {
  title: string;
  query: string;
  /** The label that names each line. */
  label: string;
  format: (v: number) => string;
}

const WINDOW_S = 15 * 60;
const STEP_S = 15;
const REFRESH_MS = 15_000;
const SAMPLE_MS = 5000;
/** Samples kept without a Prometheus: the last 15 minutes at one every 5 s. */
const KEPT = WINDOW_S * 1000 / SAMPLE_MS;

const PROMETHEUS_CHARTS: Chart[] = [
  { title: 'vCPUs allocated per host', query: 'stratus_host_vcpus_allocated', label: 'host', format: plain },
  { title: 'Memory allocated per host', query: 'stratus_host_memory_allocated_bytes', label: 'host', format: bytes },
  { title: 'Host memory available', query: 'stratus_host_memory_available_bytes', label: 'host', format: bytes },
  { title: 'KSM savings per host', query: 'stratus_host_ksm_saved_bytes', label: 'host', format: bytes },
  { title: 'Guests running per host', query: 'stratus_host_instances', label: 'host', format: plain },
  { title: 'CPU per instance (vCPU seconds per second)', query: 'rate(stratus_instance_cpu_seconds_total[1m])',
    label: 'instance', format: plain },
  { title: 'Resident memory per instance', query: 'stratus_instance_memory_resident_bytes', label: 'instance',
    format: bytes },
];

export async function chartsPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  // Prometheus asks no token: the Compute API says who is an operator, before any figure is shown.
  try {
    await call(s, 'compute', 'GET', '/os-hypervisors');
  } catch (e) {
    replace(root, h('p', { class: 'refused' }, 'The Compute API refused the host figures: this page is for operators.'));
    throw e;
  }
  const config = await call<Config>(s, 'dashboard', 'GET', '/config.json');
  const charts = h('div', { class: 'charts' });
  if (config.prometheus_url) {
    const source = config.prometheus_url;
    const draw = async () => replace(charts, ...await Promise.all(PROMETHEUS_CHARTS.map(async (c) =>
      lineChart(c.title, await range(source, c), c.format))));
    replace(root, h('p', { class: 'note' }, `From Prometheus at ${source}, the last ${WINDOW_S / 60} minutes.`),
      charts);
    await draw();
    ctx.every(REFRESH_MS, draw);
    return;
  }
  await fromControlPlane(ctx, s, root, charts);
}

/** A range query over the last window, one series per value of the chart's label. */
async function range(prometheus: string, c: Chart): Promise<Series[]> {
  const end = Math.floor(Date.now() / 1000);
  const q = new URLSearchParams({ query: c.query, start: String(end - WINDOW_S), end: String(end),
    step: String(STEP_S) });
  let reply: Response;
  try {
    reply = await fetch(`${prometheus}/api/v1/query_range?${q}`, { signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new ApiError(0, `Prometheus at ${prometheus} cannot be reached: ${(e as Error).message}`);
  }
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok || body.status !== 'success') {
    throw new ApiError(reply.status, `Prometheus refused ${c.query}: ${body.error ?? reply.statusText}`);
  }
  return (body.data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((r) => ({
    name: r.metric[c.label] ?? c.query,
    points: r.values.map(([t, v]) => [t, Number(v)] as [number, number]),
  }));
}

interface Hypervisor {
  hypervisor_hostname: string;
  vcpus_used: number;
  memory_mb_used: number;
  running_vms: number;
  ksm_saved_bytes?: number;
}

/** One sample of every host's figures. */
interface Sample {
  at: number;
  hosts: Hypervisor[];
}

/** Samples without a Prometheus, kept across visits to the page while the app is open. */
const samples: Sample[] = [];

async function fromControlPlane(ctx: PageContext, s: Session, root: HTMLElement, charts: HTMLElement): Promise<void> {
  const take = async () => {
    const hosts = (await call<{ hypervisors: Hypervisor[] }>(s, 'compute', 'GET', '/os-hypervisors/detail'))
      .hypervisors;
    samples.push({ at: Date.now() / 1000, hosts });
    samples.splice(0, Math.max(0, samples.length - KEPT));
    const per = (figure: (x: Hypervisor) => number): Series[] => {
      const names = [...new Set(samples.flatMap((x) => x.hosts.map((y) => y.hypervisor_hostname)))].sort();
      return names.map((name) => ({ name, points: samples.flatMap((x) => x.hosts
        .filter((y) => y.hypervisor_hostname === name).map((y) => [x.at, figure(y)] as [number, number])) }));
    };
    replace(charts,
      lineChart('vCPUs used per host', per((x) => x.vcpus_used), plain),
      lineChart('Memory used per host', per((x) => x.memory_mb_used * 1024 * 1024), bytes),
      lineChart('Servers per host', per((x) => x.running_vms), plain),
      lineChart('KSM savings per host', per((x) => x.ksm_saved_bytes ?? 0), bytes));
  };
  await take();
  replace(root, h('p', { class: 'note' }, 'No Prometheus is configured (the scheduler\'s '
    + 'stratus.dashboard.prometheus-url): these are placement\'s figures from os-hypervisors, sampled every '
    + `${SAMPLE_MS / 1000} s while the dashboard is open, the last ${WINDOW_S / 60} minutes at most.`), charts);
  ctx.every(SAMPLE_MS, take);
}
