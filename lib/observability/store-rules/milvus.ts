import { RuleGroup } from '../rules';
import { DocumentedAlertRule } from '../rules/promql';
import { Severity } from '../severity';
import { StoreSeries } from './store-selector';

/** What {@link milvusRuleGroups} builds the Milvus alerts from. */
export interface MilvusRuleOptions {
  /** Builds the selectors, limited to the store's namespace (`StoreSeries.of(store)`). */
  readonly series: StoreSeries;
  /** `job` of the pods clients connect to: the proxies (cluster) or the standalone. */
  readonly accessJob: string;
  /** `job` of Milvus's etcd members (the etcd workload's name), read for `etcd_server_has_leader`. */
  readonly etcdJob: string;
  /** `job` of the MinIO run here; none with an external bucket. */
  readonly minioJob?: string;
  /** Kafka of a cluster: its job and how many brokers it runs. */
  readonly kafka?: {
    /** `job` of the brokers' kafka-exporter sidecars (the Kafka workload's name). */
    readonly job: string;
    /** Brokers the cluster runs: fewer in its metadata alerts (P1 with one broker, else P2). */
    readonly brokers: number;
  };
}

/** Metrics the Milvus alerts read, from Milvus, etcd, MinIO and kafka_exporter themselves. */
export const MILVUS_ALERT_METRICS = ['up', 'etcd_server_has_leader', 'minio_cluster_nodes_offline_total', 'kafka_brokers'] as const;

/**
 * The Milvus store's alerts: no proxy (or standalone) answering, an etcd member without leader
 * (Milvus's metadata and sessions stop), MinIO nodes offline, Kafka brokers missing from the
 * cluster's metadata. Each reads the component's own metrics, plus its presence.
 */
export function milvusRuleGroups(options: MilvusRuleOptions): RuleGroup[] {
  const { series: s } = options;
  const rules: DocumentedAlertRule[] = [
    {
      alert: 'MilvusUnavailable',
      // Milvus serves its own metrics: `up` of the proxies is the process itself answering.
      expr: `sum by (namespace, job) (${s.select('up', [options.accessJob])}) == 0\nor absent_over_time(${s.select('up', [options.accessJob])}[2m])`,
      forDuration: '2m',
      severity: Severity.P1,
      summary: 'No Milvus {{ $labels.job }} pod answers',
      description: `Every ${options.accessJob} pod fails its scrape on 9091, or none is running: vector search and inserts fail. Check the pods' logs; Milvus exits when etcd or the message queue is gone for long.`,
      threshold: 'no target up, or none found for 2m',
      expressionSummary: "up of the proxies (standalone) on their own metrics port 9091, and their presence",
    },
    {
      alert: 'EtcdNoLeader',
      expr: `${s.select('etcd_server_has_leader', [options.etcdJob])} == 0\nor absent_over_time(${s.select('etcd_server_has_leader', [options.etcdJob])}[2m])`,
      forDuration: '2m',
      severity: Severity.P1,
      summary: 'etcd member {{ $labels.instance }} of Milvus has no leader',
      description: 'An etcd member has no leader (quorum lost), or no member was scraped for 2m: Milvus cannot read or write metadata and its sessions expire, so its components stop. Bring back a majority of the etcd members.',
      threshold: 'etcd_server_has_leader == 0, or no series for 2m',
      expressionSummary: "etcd_server_has_leader per member, and its presence",
    },
  ];
  if (options.minioJob) {
    rules.push({
      alert: 'MinioNodesOffline',
      expr: `${s.select('minio_cluster_nodes_offline_total', [options.minioJob])} > 0\nor absent_over_time(${s.select('minio_cluster_nodes_offline_total', [options.minioJob])}[5m])`,
      forDuration: '5m',
      severity: Severity.P2,
      summary: 'MinIO of Milvus has {{ $value }} node(s) offline',
      description: 'MinIO reports nodes offline, or no MinIO pod was scraped for 5m: the erasure set has lost redundancy (distributed), or segments and indexes cannot be read or written (single drive). Check the MinIO pods and volumes.',
      threshold: '> 0 nodes offline, or no series for 5m',
      expressionSummary: "minio_cluster_nodes_offline_total, and its presence",
    });
  }
  if (options.kafka) {
    const brokers = s.select('kafka_brokers', [options.kafka.job]);
    rules.push({
      alert: 'KafkaBrokersMissing',
      expr: `min by (namespace, job) (${brokers}) < ${options.kafka.brokers}\nor absent_over_time(${brokers}[5m])`,
      forDuration: '5m',
      severity: options.kafka.brokers > 1 ? Severity.P2 : Severity.P1,
      summary: 'The Milvus Kafka cluster has {{ $value }} of its brokers',
      description: `Fewer than ${options.kafka.brokers} brokers are in the Kafka cluster's metadata, or no kafka-exporter was scraped for 5m. Partitions lose in-sync replicas; below min.insync.replicas Milvus inserts stop. Check the broker pods.`,
      threshold: `fewer than ${options.kafka.brokers} broker(s), or no series for 5m`,
      expressionSummary: "lowest kafka_brokers any broker's kafka-exporter reports, and its presence",
    });
  }
  return [{ name: 'milvus', rules }];
}
