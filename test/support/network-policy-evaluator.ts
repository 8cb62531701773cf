/**
 * Evaluates NetworkPolicies the way the Kubernetes API documents them (networking.k8s.io/v1): a
 * connection from A to B on a protocol and port is allowed when A's egress and B's ingress both
 * allow it. A pod selected by no policy of a direction is not isolated in that direction.
 *
 * - `from`/`to` absent or empty: every peer; `ports` absent or empty: every port and protocol.
 * - A port entry's protocol defaults to TCP and must match; a missing `port` is every port of that
 *   protocol; `endPort` makes a range; a named port matches the destination's port of that name.
 * - A peer is one of: `ipBlock` (cidr minus except, matched against the actor's IP), a
 *   `namespaceSelector` with an optional `podSelector` (both must match), or a `podSelector` alone
 *   (pods of the policy's own namespace). Selectors are label selectors with `matchLabels` and
 *   `matchExpressions` (In, NotIn, Exists, DoesNotExist), evaluated by lib/policy/selectors.ts.
 * - `policyTypes` defaults to Ingress, plus Egress when the policy has egress rules.
 *
 * Like Calico and Cilium, an ipBlock matches a pod's IP too (so 0.0.0.0/0 admits every pod).
 */
import { selectorMatches } from '../../lib/policy/selectors';

export type Labels = Record<string, string>;
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Pods of one workload, or an actor outside the namespace. */
export interface Endpoint {
  /** `Deployment/api`, `external/ingress-controller`, ... */
  readonly id: string;
  /** The pods' namespace; for an address outside the cluster, whatever (it is never selected). */
  readonly namespace: string;
  readonly labels: Labels;
  /** TCP ports the pods listen on (empty for actors we never connect to). */
  readonly ports: number[];
  /** UDP ports they listen on. @default - none */
  readonly udpPorts?: number[];
  /** Container ports by name, for policies that name ports. @default - none */
  readonly portNames?: Record<string, number>;
  /** Labels of the namespace besides `kubernetes.io/metadata.name`. @default - none */
  readonly namespaceLabels?: Labels;
  /**
   * The actor's IP, matched against ipBlock peers.
   * @default - a stable address in the pod network 10.244.0.0/16 derived from `id`
   */
  readonly ip?: string;
  /** An address outside the cluster, or a host-network listener: matched by ipBlock peers only. */
  readonly outsideCluster?: boolean;
}

/** Actors outside the environment's namespace that its policies must admit or refuse. */
export const INGRESS_CONTROLLER: Endpoint = {
  id: 'external/ingress-controller', namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [], ip: '10.244.200.10',
};
export const INTERNET: Endpoint = { id: 'external/internet', namespace: '', labels: {}, ports: [], ip: '203.0.113.7', outsideCluster: true };
export const KUBE_DNS: Endpoint = {
  id: 'external/kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ports: [53], udpPorts: [53], ip: '10.244.250.2',
};
/** NodeLocal DNSCache: a host-network cache on every node, at a link-local address. */
export const NODE_LOCAL_DNS: Endpoint = {
  id: 'external/node-local-dns', namespace: '', labels: {}, ports: [53], udpPorts: [53], ip: '169.254.20.10', outsideCluster: true,
};
/** The cluster's Prometheus and Alertmanager (kube-prometheus-stack in `monitoring`). */
export const PROMETHEUS: Endpoint = {
  id: 'external/prometheus', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ports: [], ip: '10.244.203.40',
};
export const ALERTMANAGER: Endpoint = {
  id: 'external/alertmanager', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'alertmanager' }, ports: [], ip: '10.244.203.41',
};
export const OTHER_NAMESPACE_POD: Endpoint = { id: 'external/other-namespace', namespace: 'default', labels: { app: 'anything' }, ports: [], ip: '10.244.201.20' };
/** A pod cert-manager starts in `namespace` to answer an ACME HTTP-01 challenge. */
export function acmeSolver(namespace: string): Endpoint {
  return { id: 'external/acme-http01-solver', namespace, labels: { 'acme.cert-manager.io/http01-solver': 'true' }, ports: [8089], ip: '10.244.202.30' };
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort { port?: number | string; endPort?: number; protocol?: string }
interface PolicyRule { from?: PolicyPeer[]; to?: PolicyPeer[]; ports?: PolicyPort[] }
export interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

/** An IPv4 address as a 32-bit unsigned number. */
function ipv4(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function cidrContains(cidr: string, address: string): boolean {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (bits === undefined || !/^\d{1,2}$/.test(bits) || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(base) / size);
}

/** A stable pod-network address for an actor that was given none. */
function ipOf(actor: Endpoint): string {
  if (actor.ip) return actor.ip;
  let hash = 0;
  for (const c of actor.id) hash = (hash * 31 + c.charCodeAt(0)) % 65023;
  return `10.244.${1 + Math.floor(hash / 254) % 199}.${1 + (hash % 254)}`;
}

function namespaceLabels(actor: Endpoint): Labels {
  return { ...actor.namespaceLabels, 'kubernetes.io/metadata.name': actor.namespace };
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    const ip = ipOf(other);
    return cidrContains(peer.ipBlock.cidr, ip) && !(peer.ipBlock.except ?? []).some((e) => cidrContains(e, ip));
  }
  if (other.outsideCluster) return false;
  const podOk = peer.podSelector === undefined || selectorMatches(peer.podSelector, other.labels);
  if (peer.namespaceSelector) return selectorMatches(peer.namespaceSelector, namespaceLabels(other)) && podOk;
  return other.namespace === policyNamespace && podOk;
}

function portMatches(entry: PolicyPort, destination: Endpoint, port: number, protocol: Protocol): boolean {
  if ((entry.protocol ?? 'TCP') !== protocol) return false;
  if (entry.port === undefined) return true;
  const first = typeof entry.port === 'number' ? entry.port : destination.portNames?.[entry.port];
  if (first === undefined) return false;
  return entry.endPort === undefined ? port === first : port >= first && port <= entry.endPort;
}

export class NetworkPolicyEvaluator {
  constructor(private readonly policies: NetworkPolicy[]) {}

  /** Whether `from` may open a connection to `to` on `port` (TCP unless `protocol` says otherwise). */
  public allows(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = 'TCP'): boolean {
    return this.direction(from, 'Egress', to, to, port, protocol) && this.direction(to, 'Ingress', from, to, port, protocol);
  }

  private direction(subject: Endpoint, type: 'Ingress' | 'Egress', other: Endpoint, destination: Endpoint, port: number, protocol: Protocol): boolean {
    if (subject.outsideCluster) return true; // not a pod: no policy isolates it
    const selecting = this.policies.filter((p) => p.metadata.namespace === subject.namespace
      && selectorMatches(p.spec.podSelector, subject.labels)
      && (p.spec.policyTypes ?? ['Ingress', ...(p.spec.egress ? ['Egress'] : [])]).includes(type));
    if (selecting.length === 0) return true;
    return selecting.some((p) => (type === 'Ingress' ? p.spec.ingress : p.spec.egress)?.some((rule) => {
      const peers = type === 'Ingress' ? rule.from : rule.to;
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.metadata.namespace, other));
      const portOk = !rule.ports || rule.ports.length === 0 || rule.ports.some((entry) => portMatches(entry, destination, port, protocol));
      return peerOk && portOk;
    }) ?? false);
  }
}
