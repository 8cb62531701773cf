/**
 * Evaluates the NetworkPolicies of one namespace the way a CNI does (for TCP connections):
 * a connection from A to B on port P is allowed when A's egress and B's ingress both allow it.
 * A pod selected by no policy of a direction is not isolated in that direction.
 */
export type Labels = Record<string, string>;

/** Pods of one workload, or an actor outside the namespace. */
export interface Endpoint {
  /** `Deployment/api`, `external/ingress-controller`, ... */
  readonly id: string;
  readonly namespace: string;
  readonly labels: Labels;
  /** TCP ports the pods listen on (empty for outside actors, which we never connect to except DNS). */
  readonly ports: number[];
  /** An address outside the cluster (matched by ipBlock peers only). */
  readonly outsideCluster?: boolean;
}

/** Actors outside the environment's namespace that its policies must admit or refuse. */
export const INGRESS_CONTROLLER: Endpoint = { id: 'external/ingress-controller', namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [] };
export const INTERNET: Endpoint = { id: 'external/internet', namespace: '', labels: {}, ports: [], outsideCluster: true };
export const KUBE_DNS: Endpoint = { id: 'external/kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ports: [53] };
export const OTHER_NAMESPACE_POD: Endpoint = { id: 'external/other-namespace', namespace: 'default', labels: { app: 'anything' }, ports: [] };

interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: { cidr: string };
}
interface PolicyRule { from?: PolicyPeer[]; to?: PolicyPeer[]; ports?: { port?: number | string; protocol?: string }[] }
export interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: { matchLabels?: Labels }; policyTypes?: string[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

function matches(selector: { matchLabels?: Labels } | undefined, labels: Labels): boolean {
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** Labels a namespace carries automatically (kubernetes.io/metadata.name). */
function namespaceLabels(namespace: string): Labels {
  return { 'kubernetes.io/metadata.name': namespace };
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) return other.outsideCluster === true || peer.ipBlock.cidr === '0.0.0.0/0';
  if (other.outsideCluster) return false;
  if (peer.namespaceSelector) {
    return matches(peer.namespaceSelector, namespaceLabels(other.namespace)) && matches(peer.podSelector, other.labels);
  }
  return other.namespace === policyNamespace && matches(peer.podSelector, other.labels);
}

function ruleAllows(rule: PolicyRule, peers: PolicyPeer[] | undefined, policyNamespace: string, other: Endpoint, port: number): boolean {
  const peerOk = peers === undefined || peers.some((p) => peerMatches(p, policyNamespace, other));
  const portOk = rule.ports === undefined || rule.ports.some((p) => p.port === undefined || p.port === port);
  return peerOk && portOk;
}

export class NetworkPolicyEvaluator {
  constructor(private readonly policies: NetworkPolicy[]) {}

  /** Whether `from` may open a TCP connection to `to` on `port`. */
  public allows(from: Endpoint, to: Endpoint, port: number): boolean {
    return this.direction(from, 'Egress', to, port) && this.direction(to, 'Ingress', from, port);
  }

  private direction(subject: Endpoint, type: 'Ingress' | 'Egress', other: Endpoint, port: number): boolean {
    if (subject.outsideCluster || !this.policies.some((p) => p.metadata.namespace === subject.namespace)) {
      return true; // not ours to isolate (another namespace's pods, or outside the cluster)
    }
    const selecting = this.policies.filter((p) => p.metadata.namespace === subject.namespace
      && matches(p.spec.podSelector, subject.labels)
      && (p.spec.policyTypes ?? ['Ingress']).includes(type));
    if (selecting.length === 0) return true;
    return selecting.some((p) => (type === 'Ingress' ? p.spec.ingress : p.spec.egress)?.some((rule) =>
      ruleAllows(rule, type === 'Ingress' ? rule.from : rule.to, p.metadata.namespace, other, port)) ?? false);
  }
}
