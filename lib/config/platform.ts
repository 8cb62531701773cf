import { distance } from 'fastest-levenshtein';
import { ResourceRequirements, validateResources } from '../resources';
import { SecretKeyRef } from '../secret-ref';
import { MonitoringSettings } from '../observability/monitoring-settings';
import { ConfigError, ProblemCollector, Validator } from '../validation';
import { DnsSettings } from './app-tier-settings';

/**
 * The cluster-level platform: what runs once per cluster, not once per solution environment
 * (a log shipper per environment would ship every node's logs several times). Written to
 * `dist/platform/<part>/`.
 */
export interface PlatformSettings {
  /** Log collection, storage and retention (R24): `dist/platform/logging/`. */
  readonly logging: LoggingSettings;
}

/** A user name (not a secret) and the Secret key holding its password. */
export interface BasicCredentials {
  /** Elasticsearch user name: letters, digits, `_`, `.`, `@` and `-`. Set as the pods' ES_USERNAME. */
  readonly username: string;
  /** Secret key holding the user's password, read into the pods' ES_PASSWORD; never the value. */
  readonly passwordSecret: SecretKeyRef;
}

/** Elasticsearch and Kibana run by the ECK operator in the store namespace. */
export interface EckSettings {
  /** Name of the Elasticsearch resource: its Service is `<name>-es-http`. @default 'logs' */
  readonly name?: string;
  /** Elastic Stack version of Elasticsearch and Kibana. @default '8.17.0' */
  readonly version?: string;
  /** Elasticsearch nodes (master, data and ingest each). @default 3 */
  readonly nodes?: number;
  /** Volume of each node. @default '100Gi' */
  readonly storage?: string;
  /**
   * StorageClass of each node's `elasticsearch-data` volume claim; a DNS subdomain.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /** Of each Elasticsearch node (the JVM heap is sized from the memory limit). @default requests 1 CPU / 4Gi, limits 2 CPUs / 4Gi */
  readonly resources?: ResourceRequirements;
  /** Kibana pods. @default 1 */
  readonly kibanaReplicas?: number;
  /**
   * CPU and memory requests and limits of each Kibana pod's `kibana` container.
   * @default requests 200m / 1Gi, limits 1 CPU / 1Gi
   */
  readonly kibanaResources?: ResourceRequirements;
  /** Namespace of the ECK operator, which must reach Elasticsearch on 9200. @default 'elastic-system' */
  readonly operatorNamespace?: string;
  /**
   * Secret (`kubernetes.io/basic-auth`: `username`, `password`, `roles`) of the store namespace from
   * which ECK creates the shipper's Elasticsearch user (file realm).
   * @default 'fluent-bit-user'
   */
  readonly shipperUserSecret?: string;
}

/** An Elasticsearch that runs elsewhere (a managed service, another cluster). */
export interface ExternalElasticsearchSettings {
  /** `https://host[:port]`, without a path. */
  readonly url: string;
  /** Addresses of the endpoint, for the egress NetworkPolicies (an IPv4 CIDR each). */
  readonly cidrs: string[];
  /** Who installs the retention policy: needs manage_ilm, manage_index_templates, manage_security. */
  readonly setupCredentials: BasicCredentials;
  /**
   * Secret key (store namespace) of the CA that signed the endpoint's certificate.
   * @default - the image's public CAs
   */
  readonly caSecret?: SecretKeyRef;
}

/** Exactly one of the two. */
export type ElasticsearchTarget =
  | {
    /** Run Elasticsearch and Kibana with the ECK operator in the store namespace (`{}` takes every default). */
    readonly eck: EckSettings;
    /** Not with `eck`. */
    readonly external?: undefined;
  }
  | {
    /** Ship to an Elasticsearch outside the cluster over https; nothing of Elasticsearch is deployed. */
    readonly external: ExternalElasticsearchSettings;
    /** Not with `external`. */
    readonly eck?: undefined;
  };

/** The log shipper: Fluent Bit as a DaemonSet on every node. */
export interface ShipperSettings {
  /**
   * Fluent Bit image of the DaemonSet, pinned to a release tag (`latest` or a bare major is
   * refused); its tag is the platform's version label.
   * @default 'cr.fluentbit.io/fluent/fluent-bit:3.2.10'
   */
  readonly image?: string;
  /**
   * CPU and memory requests and limits of the Fluent Bit container on each node.
   * @default requests 100m / 128Mi, limits 500m / 256Mi
   */
  readonly resources?: ResourceRequirements;
  /** Its Elasticsearch user; the Secret is in the shipper's namespace. @default fluent-bit, Secret fluent-bit-elasticsearch key password */
  readonly credentials?: BasicCredentials;
  /**
   * Secret key (shipper namespace) of the CA of Elasticsearch's certificate.
   * @default - ECK: `elasticsearch-ca` key `ca.crt` (a copy of ECK's `<name>-es-http-certs-public`); external: the image's public CAs
   */
  readonly caSecret?: SecretKeyRef;
  /** Disk buffer per node while Elasticsearch does not take logs, in MiB. @default 2048 */
  readonly bufferLimitMiB?: number;
}

/**
 * The cluster's logging (R24): Fluent Bit on every node ships the containers' logs to Elasticsearch
 * (ECK in the cluster or external), which keeps them `retentionDays`. Written to `dist/platform/logging/`.
 */
export interface LoggingSettings {
  /** Namespace of the log shipper alone (Pod Security "privileged": it reads the nodes' log files). @default 'logging' */
  readonly namespace?: string;
  /** Namespace of Elasticsearch, Kibana and the retention Job (Pod Security "restricted"). @default 'logging-store' */
  readonly storeNamespace?: string;
  /**
   * The Kubernetes API server as the pods reach it (the endpoints of `kubectl get endpoints
   * kubernetes -n default`): the shipper's kubernetes filter reads pod metadata there.
   */
  readonly apiServer: {
    /** IPv4 CIDRs of the endpoints, at least one: the shipper's egress NetworkPolicy opens these. */
    readonly cidrs: string[];
    /**
     * Port of the endpoints (not the `kubernetes` Service's 443), opened with the CIDRs; 1-65535.
     * @default 6443
     */
    readonly port?: number;
  };
  /** Where the logs are stored: `{ eck: {...} }` or `{ external: {...} }`, exactly one. */
  readonly elasticsearch: ElasticsearchTarget;
  /** Days a log line is kept after its index rolled over (at most one more day). @default 7 */
  readonly retentionDays?: number;
  /** Data stream the shipper writes, and name of its index template, ILM policy and writer role (`<name>-writer`). @default 'k8s-logs' */
  readonly indexName?: string;
  /**
   * The Fluent Bit DaemonSet: image, resources, Elasticsearch credentials and CA, disk buffer.
   * @default - see ShipperSettings
   */
  readonly shipper?: ShipperSettings;
  /** Image of the retention Job and of the shipper's wait for the index template. @default 'curlimages/curl:8.11.1' */
  readonly setupImage?: string;
  /**
   * Where the logging pods resolve names: the only DNS peers their NetworkPolicies allow.
   * @default - the workloads' defaults (kube-dns and NodeLocal DNSCache)
   */
  readonly dns?: DnsSettings;
  /**
   * How the cluster's Prometheus finds the logging monitors and rules (discovery labels, its
   * namespace, the runbook base URL); `namespace` must be a DNS label.
   * @default - kube-prometheus-stack defaults
   */
  readonly monitoring?: MonitoringSettings;
}

/** {@link EckSettings} with every default applied. */
export type ResolvedEck = Required<Omit<EckSettings, 'storageClassName'>> & {
  /** StorageClass of the Elasticsearch data volumes; undefined: the cluster's default StorageClass. */
  readonly storageClassName?: string;
};

/** {@link LoggingSettings} with every default applied and checked. */
export interface ResolvedLogging {
  /** Namespace of the shipper alone (Pod Security "privileged"): `logging` unless configured. */
  readonly namespace: string;
  /** Namespace of Elasticsearch, Kibana and the retention Job: `logging-store` unless configured; not `namespace`. */
  readonly storeNamespace: string;
  /** The API server's endpoints the shipper's egress NetworkPolicy opens. */
  readonly apiServer: {
    /** IPv4 CIDRs of the API server endpoints, at least one. */
    readonly cidrs: readonly string[];
    /** Their port, 6443 unless configured. */
    readonly port: number;
  };
  /** The ECK Elasticsearch with its defaults; undefined for an external one. */
  readonly eck?: ResolvedEck;
  /** The external Elasticsearch, checked (https URL, CIDRs, credentials); undefined with ECK. */
  readonly external?: ExternalElasticsearchSettings;
  /** Days a log index is kept after its rollover (the ILM delete phase), 1-3650: 7 unless configured. */
  readonly retentionDays: number;
  /** Data stream the shipper writes, naming its index template, ILM policy and writer role; default `k8s-logs`. */
  readonly indexName: string;
  /** The shipper with its defaults: image, resources, credentials, buffer (64 MiB to 1 TiB). */
  readonly shipper: Required<Omit<ShipperSettings, 'caSecret'>> & {
    /**
     * CA of Elasticsearch's certificate in the shipper's namespace: `elasticsearch-ca` key `ca.crt`
     * with ECK unless configured; for an external endpoint undefined unless configured (the image's public CAs).
     */
    readonly caSecret?: SecretKeyRef;
  };
  /** Pinned curl image of the retention Job and of the shipper's wait for the index template. */
  readonly setupImage: string;
  /** DNS resolvers the pods' NetworkPolicies allow; undefined: the workloads' defaults. */
  readonly dns?: DnsSettings;
  /** How the cluster's Prometheus finds the monitors and rules; undefined: kube-prometheus-stack defaults. */
  readonly monitoring?: MonitoringSettings;
}

/** Where platform/logging problems are reported: `platform/logging: <field> must be ...`. */
export const LOGGING_LOCATION = 'platform/logging';

/** Fluent Bit image of the shipper DaemonSet unless `shipper.image` is set. */
export const DEFAULT_SHIPPER_IMAGE = 'cr.fluentbit.io/fluent/fluent-bit:3.2.10';
/** curl image of the retention Job and of the shipper's wait for the index template unless `setupImage` is set. */
export const DEFAULT_SETUP_IMAGE = 'curlimages/curl:8.11.1';

/** This repository's platform: ECK in the cluster; set the API server's addresses of the cluster here. */
export const platform: PlatformSettings = {
  logging: {
    apiServer: { cidrs: ['10.0.0.1/32'], port: 6443 },
    elasticsearch: { eck: {} },
  },
};

const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': ['namespace', 'storeNamespace', 'apiServer', 'elasticsearch', 'retentionDays', 'indexName', 'shipper', 'setupImage', 'dns', 'monitoring'],
  apiServer: ['cidrs', 'port'],
  elasticsearch: ['eck', 'external'],
  'elasticsearch.eck': ['name', 'version', 'nodes', 'storage', 'storageClassName', 'resources', 'kibanaReplicas', 'kibanaResources', 'operatorNamespace', 'shipperUserSecret'],
  'elasticsearch.external': ['url', 'cidrs', 'setupCredentials', 'caSecret'],
  shipper: ['image', 'resources', 'credentials', 'caSecret', 'bufferLimitMiB'],
  dns: ['kubeDnsNamespace', 'nodeLocalDnsCache', 'cidrs'],
  monitoring: ['discoveryLabels', 'namespace', 'runbookBaseUrl'],
};

/**
 * Applies the defaults and checks every value, reporting every problem at once.
 * @throws ConfigError with one line per problem: `platform/logging: <field> must be ... but <value> was provided`
 */
export function resolveLogging(settings: LoggingSettings): ResolvedLogging {
  const v = new Validator(LOGGING_LOCATION);
  const problems = new ProblemCollector();
  if (!settings || typeof settings !== 'object') v.fail('(settings)', 'an object of logging settings', settings);
  for (const [path, known] of Object.entries(KNOWN_FIELDS)) {
    const section = path === '' ? settings : path.split('.').reduce<any>((o, k) => o?.[k], settings);
    if (!section || typeof section !== 'object') continue;
    for (const key of Object.keys(section).filter((k) => !known.includes(k))) {
      problems.check(() => v.fail(path ? `${path}.${key}` : key, `a known field ${hint(key, known)}`, section[key]));
    }
  }

  const namespace = settings.namespace ?? 'logging';
  const storeNamespace = settings.storeNamespace ?? 'logging-store';
  problems.check(() => v.namespace('namespace', namespace));
  problems.check(() => v.namespace('storeNamespace', storeNamespace));
  problems.check(() => {
    if (namespace === storeNamespace) v.fail('storeNamespace', `a namespace other than namespace (${namespace}), which only the shipper may use`, storeNamespace);
  });

  const apiServer = settings.apiServer;
  const apiPort = apiServer?.port ?? 6443;
  problems.check(() => {
    if (!apiServer || !Array.isArray(apiServer.cidrs) || apiServer.cidrs.length === 0) {
      v.fail('apiServer.cidrs', 'a non-empty list of IPv4 CIDRs of the API server endpoints (kubectl get endpoints kubernetes -n default)', apiServer?.cidrs);
    }
  });
  (apiServer?.cidrs ?? []).forEach((cidr, i) => problems.check(() => v.ipv4Cidr(`apiServer.cidrs[${i}]`, cidr)));
  problems.check(() => v.integer('apiServer.port', apiPort, 1, 65535));

  const target = settings.elasticsearch;
  let eck: ResolvedEck | undefined;
  let external: ExternalElasticsearchSettings | undefined;
  problems.check(() => {
    if (!target || (target.eck === undefined) === (target.external === undefined)) {
      v.fail('elasticsearch', 'exactly one of { eck: {...} } or { external: { url, cidrs, setupCredentials } }', target);
    }
  });
  if (target?.eck && !target.external) eck = resolveEck(v.nested('elasticsearch.eck'), target.eck, problems);
  if (target?.external && !target.eck) external = checkExternal(v.nested('elasticsearch.external'), target.external, problems);

  const retentionDays = settings.retentionDays ?? 7;
  problems.check(() => v.integer('retentionDays', retentionDays, 1, 3650));
  const indexName = settings.indexName ?? 'k8s-logs';
  problems.check(() => {
    // A data stream name: lower case, no wildcard; not logs-*-*, which Elasticsearch's built-in template owns.
    if (typeof indexName !== 'string' || !/^[a-z][a-z0-9-]{0,60}[a-z0-9]$/.test(indexName) || /^logs-[^-]+-/.test(indexName)) {
      v.fail('indexName', 'a data stream name (lower-case letters, digits and \'-\', starting with a letter; not logs-*-*, which Elasticsearch\'s built-in template takes)', indexName);
    }
  });

  const shipperSettings = settings.shipper ?? {};
  const sv = v.nested('shipper');
  const shipper = {
    image: shipperSettings.image ?? DEFAULT_SHIPPER_IMAGE,
    resources: shipperSettings.resources ?? { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    credentials: shipperSettings.credentials ?? { username: 'fluent-bit', passwordSecret: { name: 'fluent-bit-elasticsearch', key: 'password' } },
    caSecret: shipperSettings.caSecret ?? (eck ? { name: 'elasticsearch-ca', key: 'ca.crt' } : undefined),
    bufferLimitMiB: shipperSettings.bufferLimitMiB ?? 2048,
  };
  problems.check(() => sv.pinnedImage('image', shipper.image));
  problems.check(() => validateResources(sv, 'resources', shipper.resources));
  checkCredentials(sv, 'credentials', shipper.credentials, problems);
  if (shipper.caSecret) problems.check(() => sv.secretKeyRef('caSecret', shipper.caSecret));
  problems.check(() => sv.integer('bufferLimitMiB', shipper.bufferLimitMiB, 64, 1024 * 1024));

  const setupImage = settings.setupImage ?? DEFAULT_SETUP_IMAGE;
  problems.check(() => v.pinnedImage('setupImage', setupImage));

  const dns = settings.dns;
  if (dns?.kubeDnsNamespace !== undefined) problems.check(() => v.dnsLabel('dns.kubeDnsNamespace', dns.kubeDnsNamespace!));
  if (typeof dns?.nodeLocalDnsCache === 'string') problems.check(() => v.ipv4Address('dns.nodeLocalDnsCache', dns.nodeLocalDnsCache as string));
  (dns?.cidrs ?? []).forEach((cidr, i) => problems.check(() => v.ipv4Cidr(`dns.cidrs[${i}]`, cidr)));
  if (settings.monitoring?.namespace !== undefined) problems.check(() => v.dnsLabel('monitoring.namespace', settings.monitoring!.namespace!));

  problems.throwIfAny();
  return {
    namespace, storeNamespace, apiServer: { cidrs: [...apiServer.cidrs], port: apiPort }, eck, external,
    retentionDays, indexName, shipper, setupImage, dns, monitoring: settings.monitoring,
  };
}

function resolveEck(v: Validator, eck: EckSettings, problems: ProblemCollector): ResolvedEck {
  const resolved = {
    name: eck.name ?? 'logs',
    version: eck.version ?? '8.17.0',
    nodes: eck.nodes ?? 3,
    storage: eck.storage ?? '100Gi',
    storageClassName: eck.storageClassName,
    resources: eck.resources ?? { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    kibanaReplicas: eck.kibanaReplicas ?? 1,
    kibanaResources: eck.kibanaResources ?? { requests: { cpu: '200m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
    operatorNamespace: eck.operatorNamespace ?? 'elastic-system',
    shipperUserSecret: eck.shipperUserSecret ?? 'fluent-bit-user',
  };
  // `<name>-es-http` and the StatefulSet `<name>-es-default` must stay valid names.
  problems.check(() => v.serviceName('name', resolved.name, 36));
  problems.check(() => {
    if (typeof resolved.version !== 'string' || !/^(8|9)\.\d+\.\d+$/.test(resolved.version)) {
      v.fail('version', 'an Elastic Stack release 8.x.y or 9.x.y such as 8.17.0 (what ECK 3 and data streams with ILM need)', resolved.version);
    }
  });
  problems.check(() => v.integer('nodes', resolved.nodes, 1, 100));
  problems.check(() => {
    // Two masters cannot elect one another when one is gone: an even count adds no fault tolerance.
    if (resolved.nodes === 2) v.fail('nodes', '1 or at least 3 (two master-eligible nodes cannot lose one)', resolved.nodes);
  });
  problems.check(() => v.storage('storage', resolved.storage));
  if (resolved.storageClassName !== undefined) problems.check(() => v.dnsSubdomain('storageClassName', resolved.storageClassName!));
  problems.check(() => validateResources(v, 'resources', resolved.resources));
  problems.check(() => v.integer('kibanaReplicas', resolved.kibanaReplicas, 0, 10));
  problems.check(() => validateResources(v, 'kibanaResources', resolved.kibanaResources));
  problems.check(() => v.namespace('operatorNamespace', resolved.operatorNamespace));
  problems.check(() => v.dnsSubdomain('shipperUserSecret', resolved.shipperUserSecret));
  return resolved;
}

function checkExternal(v: Validator, external: ExternalElasticsearchSettings, problems: ProblemCollector): ExternalElasticsearchSettings {
  problems.check(() => {
    let url: URL | undefined;
    try {
      url = new URL(external.url);
    } catch {
      url = undefined;
    }
    // Credentials travel with every request: plain http is refused.
    if (!url || url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.username || url.password) {
      v.fail('url', 'an https:// URL of the Elasticsearch endpoint without path or credentials, such as https://logs.example.com:9243', external.url);
    }
  });
  problems.check(() => {
    if (!Array.isArray(external.cidrs) || external.cidrs.length === 0) v.fail('cidrs', 'a non-empty list of IPv4 CIDRs of the endpoint (for the egress NetworkPolicies)', external.cidrs);
  });
  (external.cidrs ?? []).forEach((cidr, i) => problems.check(() => v.ipv4Cidr(`cidrs[${i}]`, cidr)));
  checkCredentials(v, 'setupCredentials', external.setupCredentials, problems);
  if (external.caSecret) problems.check(() => v.secretKeyRef('caSecret', external.caSecret));
  return external;
}

function checkCredentials(v: Validator, field: string, credentials: BasicCredentials | undefined, problems: ProblemCollector): void {
  problems.check(() => {
    if (!credentials || typeof credentials.username !== 'string' || !/^[A-Za-z0-9_.@-]{1,507}$/.test(credentials.username)) {
      v.fail(`${field}.username`, 'an Elasticsearch user name (letters, digits, _ . @ -)', credentials?.username);
    }
  });
  problems.check(() => v.secretKeyRef(`${field}.passwordSecret`, credentials?.passwordSecret));
}

/** `(did you mean replicas?)` for a near miss, else the fields there are. */
function hint(key: string, known: readonly string[]): string {
  const best = [...known].sort((a, b) => distance(key, a) - distance(key, b))[0];
  if (best && distance(key, best) <= Math.max(1, Math.floor(key.length / 3))) return `(did you mean ${best}?)`;
  return `(one of ${known.join(', ')})`;
}

/**
 * Every problem of the platform's settings, one line each (`platform/logging: ...`), for a synth
 * that reports the whole configuration's problems before it builds anything.
 */
export function platformProblems(settings: PlatformSettings): string[] {
  try {
    resolveLogging(settings.logging);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

/** The namespaces the platform takes: no solution environment may use them. */
export function platformNamespaces(settings: PlatformSettings): string[] {
  return [settings.logging.namespace ?? 'logging', settings.logging.storeNamespace ?? 'logging-store'];
}
