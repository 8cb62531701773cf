import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { readAsset } from '../../assets';
import { scrapeSidecar } from '../../observability/exporters/exporter';
import { kafkaExporter } from '../../observability/exporters/kafka';
import { execProbe } from '../../probes';
import { ServiceEndpoint } from '../../workload';
import { StatefulWorkload } from '../stateful-workload';
import { StorageOptions } from '../storage';
import { tagOf } from './defaults';
import { KAFKA_PORTS } from './ports';

/** The Kafka of a Milvus cluster, as MilvusCluster resolves it from `messageQueue.kafka`. */
export interface MilvusKafkaProps {
  /** Name of the StatefulSet and of the client Service; the headless Service is `<name>-headless`. */
  readonly name: string;
  /** Pinned `apache/kafka` image, 3.7 to 3.9: configured by KAFKA_* variables, logging with log4j 1. */
  readonly image: string;
  /** Nodes, odd: every node is also a KRaft controller, and the controllers need a majority. */
  readonly replicas: number;
  /** Each node's volume (claim template `data`): the message logs, under /var/lib/kafka/data/logs. */
  readonly storage: StorageOptions;
  /** Requests and limits of each node's `kafka` container; the JVM heap is half its memory limit. */
  readonly resources: ResourceRequirements;
  /** Hours messages are kept. */
  readonly retentionHours: number;
  /** KRaft cluster id: 16 bytes, base64url without padding (22 characters). */
  readonly clusterId: string;
}

const DATA_DIR = '/var/lib/kafka/data';
const SCRIPT_DIR = '/opt/milvus-kafka';
const SCRIPT = 'kafka-node.sh';
const READY_SCRIPT = 'kafka-ready.sh';
const LOG4J = 'kafka-log4j.properties';
/** Read by kafka-ready.sh from beside itself. */
const TOOLS_LOG4J = 'kafka-tools-log4j.properties';
/** Seconds the readiness script gives `kafka-topics.sh`, within the probe's own timeout. */
const READY_TIMEOUT_SECONDS = 25;
/** Milvus's insert messages can be several MiB (milvus-helm raises Kafka's limits the same way). */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/**
 * A stable KRaft cluster id for one Kafka of one environment: the same on every synth, different
 * for every environment and name, so clusters never mistake each other's volumes for their own.
 */
export function kafkaClusterId(where: string, name: string): string {
  return createHash('sha256').update(`${where}/${name}`).digest().subarray(0, 16).toString('base64url');
}

/**
 * Kafka in KRaft mode (no ZooKeeper) as Milvus's message queue: every node is both broker and
 * controller. Topics are created by Milvus on first use and replicated to min(3, nodes) brokers.
 * The controller quorum is fixed at bootstrap; changing the node count of a running cluster is a
 * KRaft reassignment, not an edit of `replicas`.
 */
export class MilvusKafka extends StatefulWorkload {
  /** `<name>:9092`, the bootstrap address of Milvus's `kafka.brokerList`. */
  public readonly endpoint: ServiceEndpoint;
  /** The nodes' StatefulSet `<name>`: parallel start, claims retained and never pruned by Argo CD. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** `<name>-headless`: each node's advertised address `<name>-<i>.<name>-headless`, ready or not. */
  public readonly headlessServiceName: string;
  /** `KAFKA_CONTROLLER_QUORUM_VOTERS`: `0@<name>-0.<headless>:9093,...` */
  public readonly quorumVoters: string;

  constructor(scope: Construct, id: string, props: MilvusKafkaProps) {
    // The image's files belong to appuser (uid 1000).
    super(scope, id, { name: props.name, component: 'message-queue', version: tagOf(props.image), runAsUser: 1000 });
    this.headlessServiceName = `${this.name}-headless`;
    const host = (pod: string) => `${pod}.${this.headlessServiceName}`;
    this.quorumVoters = Array.from({ length: props.replicas }, (_, i) => `${i}@${host(`${this.name}-${i}`)}:${KAFKA_PORTS.controller}`).join(',');
    const replication = Math.min(3, props.replicas);
    const minInSync = replication >= 3 ? 2 : 1;

    const scripts = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: `${this.name}-scripts`, labels: { ...this.labels.labels } },
      data: Object.fromEntries([SCRIPT, READY_SCRIPT, LOG4J, TOOLS_LOG4J].map((file) => [file, readAsset(`lib/data/milvus/${file}`)])),
    });

    const env: Record<string, string> = {
      CLUSTER_ID: props.clusterId,
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${KAFKA_PORTS.broker},CONTROLLER://:${KAFKA_PORTS.controller}`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host('$(POD_NAME)')}:${KAFKA_PORTS.broker}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: this.quorumVoters,
      // A sub-directory: Kafka takes every directory in a log dir, lost+found too, for a partition.
      KAFKA_LOG_DIRS: `${DATA_DIR}/logs`,
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
      KAFKA_NUM_PARTITIONS: '1',
      KAFKA_DEFAULT_REPLICATION_FACTOR: String(replication),
      KAFKA_MIN_INSYNC_REPLICAS: String(minInSync),
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: String(replication),
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: String(replication),
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: String(minInSync),
      KAFKA_MESSAGE_MAX_BYTES: String(MAX_MESSAGE_BYTES),
      KAFKA_REPLICA_FETCH_MAX_BYTES: String(MAX_MESSAGE_BYTES),
      KAFKA_LOG_RETENTION_HOURS: String(props.retentionHours),
      KAFKA_LOG_RETENTION_BYTES: '-1',
      KAFKA_LOG_ROLL_HOURS: '24',
      // Heap from the memory limit; the rest is page cache, which Kafka reads and writes through.
      KAFKA_HEAP_OPTS: '-XX:MaxRAMPercentage=50.0 -XX:InitialRAMPercentage=50.0',
      // Logs to stdout only: kafka-server-start.sh keeps a KAFKA_LOG4J_OPTS that is set, instead of
      // the image's log4j.properties and its files under /opt/kafka/logs that nothing cleans up.
      KAFKA_LOG4J_OPTS: `-Dlog4j.configuration=file:${SCRIPT_DIR}/${LOG4J}`,
      // kafka-server-start.sh passes -loggc, which kafka-run-class.sh honours only while this is
      // empty (GC logs of up to 10 x 100M in /opt/kafka/logs). This value is the JVM's default:
      // warnings to stdout. (The docker image leaves both variables out of server.properties.)
      KAFKA_GC_LOG_OPTS: '-Xlog:all=warning:stdout:uptime,level,tags',
    };

    const tcpProbe = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      tcpSocket: { port: k8s.IntOrString.fromString('broker') },
      periodSeconds,
      timeoutSeconds: 5,
      failureThreshold,
    });
    const container = secureContainer({
      name: 'kafka',
      image: props.image,
      resources: props.resources,
      command: ['/bin/sh', `${SCRIPT_DIR}/${SCRIPT}`],
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ...Object.entries(env).map(([name, value]) => ({ name, value })),
      ],
      ports: [
        { name: 'broker', containerPort: KAFKA_PORTS.broker },
        { name: 'controller', containerPort: KAFKA_PORTS.controller },
      ],
      startupProbe: tcpProbe(10, 60),
      livenessProbe: tcpProbe(10, 6),
      // Ready once back in the ISR of all its partitions, so a rolling restart waits for it.
      readinessProbe: execProbe(
        ['/bin/sh', `${SCRIPT_DIR}/${READY_SCRIPT}`, `localhost:${KAFKA_PORTS.broker}`, String(READY_TIMEOUT_SECONDS)],
        { periodSeconds: 30, timeoutSeconds: READY_TIMEOUT_SECONDS + 5, failureThreshold: 3 },
      ),
      volumeMounts: [
        { name: 'data', mountPath: DATA_DIR },
        { name: 'scripts', mountPath: SCRIPT_DIR, readOnly: true },
        // The image's start script writes server.properties here.
        { name: 'config', mountPath: '/opt/kafka/config' },
        // kafka-run-class.sh creates this directory when KAFKA_LOG4J_OPTS is set; nothing writes to it.
        { name: 'logs', mountPath: '/opt/kafka/logs' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    this.addHeadlessService(this.headlessServiceName, [
      { name: 'broker', port: KAFKA_PORTS.broker },
      { name: 'controller', port: KAFKA_PORTS.controller },
    ], {
      // Controllers must reach each other to elect a leader before any node is ready.
      publishNotReadyAddresses: true,
    });
    this.addClientService(this.name, [{ name: 'broker', port: KAFKA_PORTS.broker }]);

    const exporter = kafkaExporter({ brokerPort: KAFKA_PORTS.broker });
    const emptyDir = (name: string, size: string): k8s.Volume => ({ name, emptyDir: { sizeLimit: k8s.Quantity.fromString(size) } });
    this.statefulSet = this.addStatefulSet({
      serviceName: this.headlessServiceName,
      replicas: props.replicas,
      podManagementPolicy: 'Parallel',
      storage: props.storage,
      podAnnotations: { 'checksum/scripts': createHash('sha256').update(JSON.stringify(scripts.toJson().data)).digest('hex') },
      podSpec: this.podSpec({
        containers: [container, exporter.container],
        volumes: [
          { name: 'scripts', configMap: { name: scripts.name } },
          emptyDir('config', '16Mi'),
          emptyDir('logs', '16Mi'),
          emptyDir('tmp', '256Mi'),
        ],
        spread: props.replicas > 1,
        // A broker that stops cleanly hands over its partitions instead of recovering its logs.
        terminationGracePeriodSeconds: 90,
      }),
    });

    this.endpoint = { host: this.name, port: KAFKA_PORTS.broker, targetPort: KAFKA_PORTS.broker, workload: this };
    // Even a single node reaches its own controller and broker through its advertised pod address.
    this.allowPeers(KAFKA_PORTS.broker);
    this.allowPeers(KAFKA_PORTS.controller);
    if (props.replicas > 1) this.addDisruptionBudget(1);
    scrapeSidecar(this, exporter);
  }
}
