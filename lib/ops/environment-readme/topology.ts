import type { App } from 'cdk8s';
import { StoreBackup } from '../../backup/store-backup';
import { monitoringOf } from '../../observability/monitoring-settings';
import { NetworkPeer, Workload } from '../../workload';
import { Capacity, Manifest, RunCapacity, WorkloadCapacity } from './capacity';
import { formatBytes } from './format';

/** A box of the diagram. */
export interface TopologyNode {
  /** Mermaid node id: letters, digits and `_` only. */
  readonly id: string;
  /** Lines of the label. */
  readonly lines: readonly string[];
  readonly shape: 'box' | 'store' | 'job' | 'round' | 'outside';
}

/** An arrow: who opens the connection to whom. */
export interface TopologyEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  /** Scrapes and client traffic from outside are dotted; connections the NetworkPolicies open are solid. */
  readonly dotted: boolean;
}

export interface TopologyGroup {
  readonly id: string;
  readonly title: string;
  readonly nodes: readonly TopologyNode[];
}

/** The environment's topology: nodes in groups (one per tier, entry points, monitoring, outside peers), and edges. */
export interface Topology {
  readonly groups: readonly TopologyGroup[];
  readonly edges: readonly TopologyEdge[];
  /** The node of each workload, by workload name. */
  readonly workloadNodes: ReadonlyMap<string, string>;
}

/** Tiers (`app.kubernetes.io/component`) in the order the diagram and the tables list them; others follow by name. */
export const TIERS: readonly { readonly component: string; readonly title: string }[] = [
  { component: 'web', title: 'Web' },
  { component: 'api', title: 'API' },
  { component: 'ai', title: 'AI services' },
  { component: 'database', title: 'Databases' },
  { component: 'cache', title: 'Cache' },
  { component: 'vector-database', title: 'Vector database' },
  { component: 'metadata-store', title: 'Vector database metadata' },
  { component: 'object-storage', title: 'Object storage' },
  { component: 'message-queue', title: 'Message queue' },
  { component: 'backup', title: 'Backups' },
  { component: 'alerting', title: 'Alerting' },
];

/** Sort key of a tier: its place in {@link TIERS}, unknown tiers after them by name. */
export function tierRank(component: string): [number, string] {
  const index = TIERS.findIndex((t) => t.component === component);
  return [index < 0 ? TIERS.length : index, component];
}

export function byTierThenName<T>(component: (x: T) => string, name: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const [ra, ca] = tierRank(component(a));
    const [rb, cb] = tierRank(component(b));
    return ra - rb || ca.localeCompare(cb) || name(a).localeCompare(name(b));
  };
}

const COMPONENT = 'app.kubernetes.io/component';
const NAME = 'app.kubernetes.io/name';

/** A Mermaid id from any text: `mysql-primary` -> `mysql_primary`, prefixed by what it is. */
export function nodeId(prefix: string, text: string): string {
  return `${prefix}_${text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '')}`;
}

function replicasText(w: WorkloadCapacity): string {
  return w.minReplicas === w.maxReplicas ? `x${w.minReplicas}` : `x${w.minReplicas}-${w.maxReplicas} (HPA)`;
}

function workloadLines(name: string, rows: readonly WorkloadCapacity[], runs: readonly RunCapacity[]): string[] {
  const lines = [name];
  for (const row of rows) {
    const extras = [
      ...(row.pod.gpus > 0 ? [`${row.pod.gpus} GPU per pod`] : []),
      ...row.volumes.filter((v) => !v.ephemeral).map((v) => `${formatBytes(v.bytes)} ${v.name} per pod`),
    ];
    lines.push(`${row.kind} ${replicasText(row)}${extras.length ? `, ${extras.join(', ')}` : ''}`);
  }
  const cronJobs = runs.filter((r) => r.kind === 'CronJob').length;
  if (cronJobs > 0) lines.push(`${cronJobs} CronJob${cronJobs === 1 ? '' : 's'}`);
  for (const job of runs.filter((r) => r.kind === 'Job')) lines.push(`Job ${job.name}`);
  return lines;
}

function ports(list: readonly number[]): string {
  return [...new Set(list)].sort((a, b) => a - b).join(', ');
}

/**
 * The topology of one environment, derived from its construct tree (every {@link Workload}, the
 * connections they declared with `connectTo`, their metrics endpoints, their backups) and from
 * its rendered manifests (Ingresses, LoadBalancer Services, replicas). Deterministic: nodes and
 * edges are sorted.
 */
export function topologyOf(app: App, objects: readonly Manifest[], capacity: Capacity): Topology {
  const workloads = app.node.findAll()
    .filter((c): c is Workload => c instanceof Workload)
    .sort(byTierThenName((w) => w.labels.labels[COMPONENT], (w) => w.name));
  const workloadNodes = new Map(workloads.map((w) => [w.name, nodeId('w', w.name)]));
  const groups: TopologyGroup[] = [];
  const edges: TopologyEdge[] = [];
  const outside = new Map<string, TopologyNode>();
  const outsideNode = (description: string): string => {
    const id = nodeId('peer', description);
    if (!outside.has(id)) outside.set(id, { id, lines: [description], shape: 'outside' });
    return id;
  };

  // Entry points: Ingress hosts and LoadBalancer Services, each to the workload behind its Service.
  const services = objects.filter((o) => o.kind === 'Service');
  const workloadBehind = (serviceName: string): string | undefined => {
    const service = services.find((s) => s.metadata?.name === serviceName);
    const name = service?.spec?.selector?.[NAME];
    return name === undefined ? undefined : workloadNodes.get(name);
  };
  const entries: TopologyNode[] = [];
  for (const ingress of objects.filter((o) => o.kind === 'Ingress').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const tlsHosts = new Set<string>((ingress.spec?.tls ?? []).flatMap((t: Manifest) => t.hosts ?? []));
    const id = nodeId('ingress', ingress.metadata.name);
    const rules: Manifest[] = ingress.spec?.rules ?? [];
    entries.push({ id, lines: [`Ingress ${ingress.metadata.name}`, ...rules.map((r) => `${tlsHosts.has(r.host) ? 'https' : 'http'}://${r.host}`)], shape: 'round' });
    const backends = new Map<string, number[]>();
    for (const rule of rules) {
      for (const path of rule.http?.paths ?? []) {
        const service = path.backend?.service;
        if (!service) continue;
        backends.set(service.name, [...(backends.get(service.name) ?? []), service.port?.number]);
      }
    }
    for (const [service, servicePorts] of [...backends].sort(([a], [b]) => a.localeCompare(b))) {
      const target = workloadBehind(service);
      if (target) edges.push({ from: id, to: target, label: `Service ${service} :${ports(servicePorts)}`, dotted: false });
    }
  }
  for (const service of services.filter((s) => s.spec?.type === 'LoadBalancer').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const id = nodeId('lb', service.metadata.name);
    const servicePorts: number[] = (service.spec.ports ?? []).map((p: Manifest) => p.port);
    entries.push({ id, lines: [`LoadBalancer Service ${service.metadata.name}`, `port ${ports(servicePorts)}`], shape: 'round' });
    const target = workloadBehind(service.metadata.name);
    if (target) edges.push({ from: id, to: target, label: `:${ports(servicePorts)}`, dotted: false });
  }
  if (entries.length > 0) {
    groups.push({ id: 'entry', title: 'Entry points', nodes: [{ id: 'clients', lines: ['Clients'], shape: 'outside' }, ...entries] });
    for (const entry of entries) edges.push({ from: 'clients', to: entry.id, label: '', dotted: true });
  }

  // One group per tier, each workload with its kind, replicas, GPUs and volumes from the manifests.
  const tiers = new Map<string, TopologyNode[]>();
  for (const w of workloads) {
    const component = w.labels.labels[COMPONENT];
    const rows = capacity.workloads.filter((r) => r.workload === w.name);
    const runs = capacity.runs.filter((r) => r.workload === w.name);
    const shape = w instanceof StoreBackup || (rows.length === 0 && runs.length > 0) ? 'job' : rows.some((r) => r.kind === 'StatefulSet') ? 'store' : 'box';
    if (!tiers.has(component)) tiers.set(component, []);
    tiers.get(component)!.push({ id: workloadNodes.get(w.name)!, lines: workloadLines(w.name, rows, runs), shape });
  }
  for (const [component, nodes] of tiers) {
    groups.push({ id: nodeId('tier', component), title: TIERS.find((t) => t.component === component)?.title ?? component, nodes });
  }

  // Who talks to whom: the egress each workload declared (the NetworkPolicies are derived from the same).
  const prometheus = NetworkPeer.prometheus(monitoringOf(app).namespace).description;
  for (const w of workloads) {
    const byPeer = new Map<string, number[]>();
    for (const c of w.egress) {
      if (c.peer === w) continue; // members of one cluster talking among themselves
      const target = c.peer instanceof Workload
        ? workloadNodes.get(c.peer.name)!
        : w instanceof StoreBackup ? undefined : outsideNode(c.peer.description);
      if (target) byPeer.set(target, [...(byPeer.get(target) ?? []), c.port]);
    }
    for (const [target, list] of byPeer) edges.push({ from: workloadNodes.get(w.name)!, to: target, label: `:${ports(list)}`, dotted: false });
    // Peers outside the graph that connect in, other than those drawn as entry points or scrapes.
    const inbound = new Map<string, number[]>();
    for (const c of w.ingress) {
      if (!(c.peer instanceof NetworkPeer)) continue;
      const d = c.peer.description;
      if (d === prometheus || d === 'anywhere' || d.startsWith('ingress controller')) continue;
      const from = outsideNode(d);
      inbound.set(from, [...(inbound.get(from) ?? []), c.port]);
    }
    for (const [from, list] of inbound) edges.push({ from, to: workloadNodes.get(w.name)!, label: `:${ports(list)}`, dotted: false });
  }

  // Backups: each store's backup to its restic repository in the bucket.
  const backups = workloads.filter((w): w is StoreBackup => w instanceof StoreBackup);
  const repositories: TopologyNode[] = [];
  for (const backup of backups) {
    const bucketPorts = backup.egress.filter((c) => c.peer instanceof NetworkPeer).map((c) => c.port);
    const label = `restic${bucketPorts.length ? ` :${ports(bucketPorts)}` : ''}`;
    for (const [suffix, url] of [['', backup.repositoryUrl], ['_archive', backup.archiveRepositoryUrl]] as const) {
      if (!url) continue;
      const id = nodeId('repo', `${backup.name}${suffix}`);
      repositories.push({ id, lines: [url], shape: 'store' });
      edges.push({ from: workloadNodes.get(backup.name)!, to: id, label, dotted: false });
    }
  }
  if (repositories.length > 0) groups.push({ id: 'backup_storage', title: 'Backup repositories (object storage)', nodes: repositories });

  // Monitoring: Prometheus scrapes every workload with a metrics endpoint.
  const scraped = workloads.filter((w) => w.metricsEndpoints.length > 0);
  if (scraped.length > 0) {
    groups.push({ id: 'monitoring', title: `Monitoring (namespace ${monitoringOf(app).namespace})`, nodes: [{ id: 'prometheus', lines: ['Prometheus'], shape: 'outside' }] });
    for (const w of scraped) {
      edges.push({ from: 'prometheus', to: workloadNodes.get(w.name)!, label: `scrape :${ports(w.metricsEndpoints.map((m) => m.port))}`, dotted: true });
    }
  }
  if (outside.size > 0) {
    groups.push({ id: 'outside', title: 'Outside the namespace', nodes: [...outside.values()].sort((a, b) => a.id.localeCompare(b.id)) });
  }
  return { groups, edges, workloadNodes };
}

/** Text inside a quoted Mermaid label: `"` and `#` are the characters Mermaid reads as syntax there. */
function escapeLabel(text: string): string {
  return text.replace(/#/g, '#35;').replace(/"/g, '#quot;');
}

function nodeText(node: TopologyNode): string {
  const label = `"${node.lines.map(escapeLabel).join('<br/>')}"`;
  switch (node.shape) {
    case 'store': return `${node.id}[(${label})]`;
    case 'job': return `${node.id}[[${label}]]`;
    case 'round': return `${node.id}(${label})`;
    case 'outside': return `${node.id}([${label}])`;
    default: return `${node.id}[${label}]`;
  }
}

/** The topology as a Mermaid flowchart, left to right. */
export function renderMermaid(topology: Topology): string {
  const lines = ['flowchart LR'];
  for (const group of topology.groups) {
    lines.push(`  subgraph ${group.id}["${escapeLabel(group.title)}"]`);
    for (const node of group.nodes) lines.push(`    ${nodeText(node)}`);
    lines.push('  end');
  }
  for (const edge of topology.edges) {
    const arrow = edge.dotted ? '-.->' : '-->';
    lines.push(`  ${edge.from} ${arrow}${edge.label ? `|"${escapeLabel(edge.label)}"|` : ''} ${edge.to}`);
  }
  return lines.join('\n');
}
