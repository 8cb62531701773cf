import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Elasticsearch, ElasticsearchSpecNodeSetsVolumeClaimTemplatesSpecResourcesRequests } from '../../imports/elasticsearch-elasticsearch.k8s.elastic.co';
import { Kibana } from '../../imports/kibana-kibana.k8s.elastic.co';
import { ResolvedEck } from '../config/platform';
import { ResourceRequirements } from '../resources';
import { StandardLabels } from '../labels';
import { DEFAULT_DNS_PEERS, DNS_PEERS_CONTEXT_KEY, NetworkPeer } from '../workload';
import { LogStore, podsIn } from './log-store';

/** Elasticsearch's HTTPS port (Service `<name>-es-http`): the shipper, the retention Job, Kibana and ECK use it. */
export const ELASTICSEARCH_HTTP_PORT = 9200;
/** Elasticsearch's node-to-node transport port: the NetworkPolicy opens it between its own pods only. */
export const ELASTICSEARCH_TRANSPORT_PORT = 9300;
/** Kibana's HTTP port: no ingress is allowed to it, reach it with `kubectl port-forward`. */
export const KIBANA_PORT = 5601;
/** uid and gid of the Elasticsearch and Kibana images. */
const ELASTIC_USER = 1000;

/** Props of {@link EckElasticsearch}. */
export interface EckElasticsearchProps {
  /** The ECK settings with their defaults applied and checked (name, version, nodes, storage, sizes, Kibana). */
  readonly settings: ResolvedEck;
  /** Namespace the resources go into (for the Service names and NetworkPolicies). */
  readonly namespace: string;
}

/**
 * Elasticsearch and Kibana as ECK custom resources, with pods that meet Pod Security "restricted"
 * (ECK's defaults for 8.x plus an explicit non-root user and RuntimeDefault seccomp), no mmap (so
 * no privileged sysctl init container is needed) and NetworkPolicies: Elasticsearch takes 9200 only
 * from the clients added with {@link EckElasticsearch.allowClient}, Kibana and the ECK operator, and 9300 only from
 * its own nodes.
 */
export class EckElasticsearch extends Construct {
  /** The ECK `Elasticsearch` resource `<name>`: one node set `default` of `nodes` nodes with their own volume each. */
  public readonly elasticsearch: Elasticsearch;
  /** The ECK `Kibana` resource `<name>`; undefined when `kibanaReplicas` is 0. */
  public readonly kibana?: Kibana;
  /**
   * How clients reach it: `https://<name>-es-http.<namespace>.svc:9200`, the `elastic` user's Secret
   * and ECK's public CA for the setup.
   */
  public readonly store: LogStore;
  /** Labels ECK puts on the Elasticsearch pods. */
  public readonly podLabels: Readonly<Record<string, string>>;
  private readonly clients: k8s.NetworkPolicyPeer[] = [];

  constructor(scope: Construct, id: string, props: EckElasticsearchProps) {
    super(scope, id);
    const s = props.settings;
    const esLabels = new StandardLabels(this, { name: s.name, component: 'log-store', version: s.version }).labels;
    this.podLabels = { 'elasticsearch.k8s.elastic.co/cluster-name': s.name };
    const host = `${s.name}-es-http.${props.namespace}.svc`;

    this.elasticsearch = new Elasticsearch(this, 'Elasticsearch', {
      metadata: { name: s.name, labels: { ...esLabels } },
      spec: {
        version: s.version,
        // The shipper's user: ECK reads it from a basic-auth Secret (username, password, roles).
        auth: { fileRealm: [{ secretName: s.shipperUserSecret }] },
        nodeSets: [{
          name: 'default',
          count: s.nodes,
          config: {
            // Without mmap Elasticsearch needs no vm.max_map_count, so no privileged init container.
            'node.store.allow_mmap': false,
            // The NetworkPolicy allows no egress to the internet.
            'ingest.geoip.downloader.enabled': false,
          },
          podTemplate: {
            metadata: { labels: { ...esLabels } },
            spec: {
              securityContext: restrictedPodSecurity(),
              containers: [{ name: 'elasticsearch', resources: resourcesJson(s.resources), securityContext: restrictedContainerSecurity() }],
            },
          },
          volumeClaimTemplates: [{
            metadata: { name: 'elasticsearch-data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: s.storageClassName,
              resources: { requests: { storage: ElasticsearchSpecNodeSetsVolumeClaimTemplatesSpecResourcesRequests.fromString(s.storage) } },
            },
          }],
        }],
      },
    });

    const kbLabels = new StandardLabels(this, { name: `${s.name}-kibana`, component: 'log-ui', version: s.version }).labels;
    if (s.kibanaReplicas > 0) {
      this.kibana = new Kibana(this, 'Kibana', {
        metadata: { name: s.name, labels: { ...kbLabels } },
        spec: {
          version: s.version,
          count: s.kibanaReplicas,
          elasticsearchRef: { name: s.name },
          config: { 'telemetry.optIn': false, 'telemetry.allowChangingOptInStatus': false },
          podTemplate: {
            metadata: { labels: { ...kbLabels } },
            spec: {
              securityContext: restrictedPodSecurity(),
              containers: [{ name: 'kibana', resources: resourcesJson(s.kibanaResources), securityContext: restrictedContainerSecurity() }],
            },
          },
        },
      });
    }

    this.store = {
      host,
      port: ELASTICSEARCH_HTTP_PORT,
      url: `https://${host}:${ELASTICSEARCH_HTTP_PORT}`,
      peers: [podsIn(props.namespace, this.podLabels)],
      setupCredentials: { username: 'elastic', passwordSecret: { name: `${s.name}-es-elastic-user`, key: 'elastic' } },
      setupCaSecret: { name: `${s.name}-es-http-certs-public`, key: 'ca.crt' },
      dataNodes: s.nodes,
    };

    const kibanaPods = { 'kibana.k8s.elastic.co/name': s.name };
    const dnsPeers: readonly NetworkPeer[] = this.node.tryGetContext(DNS_PEERS_CONTEXT_KEY) ?? DEFAULT_DNS_PEERS;
    const dns: k8s.NetworkPolicyEgressRule = {
      to: dnsPeers.map((p) => p.peer),
      ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) }],
    };
    const tcp = (port: number): k8s.NetworkPolicyPort[] => [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }];
    const self = { podSelector: { matchLabels: { ...this.podLabels } } };

    new k8s.KubeNetworkPolicy(this, 'ElasticsearchNetworkPolicy', {
      metadata: { name: `${s.name}-elasticsearch`, labels: { ...esLabels } },
      spec: Lazy.any({
        produce: (): k8s.NetworkPolicySpec => ({
          podSelector: { matchLabels: { ...this.podLabels } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              from: [
                ...(this.kibana ? [{ podSelector: { matchLabels: kibanaPods } }] : []),
                // The operator manages the cluster through the HTTP API (its pods' labels differ between the Helm chart and the manifests).
                { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.operatorNamespace } } },
                // The clients (shipper, retention Job), known once every one has declared itself.
                ...this.clients,
              ],
              ports: tcp(ELASTICSEARCH_HTTP_PORT),
            },
            { from: [self], ports: tcp(ELASTICSEARCH_TRANSPORT_PORT) },
          ],
          egress: [dns, { to: [self], ports: tcp(ELASTICSEARCH_TRANSPORT_PORT) }],
        }),
      }) as unknown as k8s.NetworkPolicySpec,
    });

    if (this.kibana) {
      new k8s.KubeNetworkPolicy(this, 'KibanaNetworkPolicy', {
        metadata: { name: `${s.name}-kibana`, labels: { ...kbLabels } },
        spec: {
          podSelector: { matchLabels: kibanaPods },
          // No ingress: Kibana is reached with kubectl port-forward.
          policyTypes: ['Ingress', 'Egress'],
          egress: [dns, { to: [self], ports: tcp(ELASTICSEARCH_HTTP_PORT) }],
        },
      });
    }
  }

  /** Lets these pods reach Elasticsearch on 9200 (the other end's egress is its own policy). */
  public allowClient(peer: k8s.NetworkPolicyPeer): void {
    this.clients.push(peer);
  }
}

/** Plain JSON: the pod templates of the ECK resources are untyped, so cdk8s-plus Quantity objects would not render. */
function resourcesJson(r: ResourceRequirements): Record<string, Record<string, string>> {
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** What Pod Security "restricted" asks of the pod; ECK keeps what the template sets. */
function restrictedPodSecurity(): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: ELASTIC_USER,
    fsGroup: ELASTIC_USER,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function restrictedContainerSecurity(): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
  };
}
