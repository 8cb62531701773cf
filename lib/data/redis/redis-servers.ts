import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { secureContainer } from '../../container';
import { envFromSecret } from '../../secret-ref';
import { scrapeSidecar } from '../../observability/exporters/exporter';
import { redisExporter } from '../../observability/exporters/redis';
import { execProbe } from '../../probes';
import { ServiceEndpoint } from '../../workload';
import { StatefulWorkload } from '../stateful-workload';
import {
  REDIS_BUS_PORT, REDIS_CONFIG_DIR, REDIS_DATA_DIR, REDIS_PORT, REDIS_RUNTIME_DIR, REDIS_USER, RedisSettings,
} from './redis-settings';

/** The role every pod of one {@link RedisServers} StatefulSet plays. */
export type RedisServerRole =
  /** Members of a Redis Cluster (`cluster-enabled yes` in the ConfigMap). */
  | {
    /** Pods start together, open the cluster bus (16379) to each other and announce their pod DNS names. */
    readonly kind: 'cluster-member';
  }
  /** A standalone primary. */
  | {
    /** The single read-write server of a {@link Redis}, holding the data its replicas copy. */
    readonly kind: 'primary';
  }
  /** Replicas of the primary reached at `primary` (`replicaof`). */
  | {
    /** Read-only copies (`REDIS_REPLICA_OF`), never promoted automatically. */
    readonly kind: 'replica';
    /** The primary's client Service, as `replicaof <host> <port>`; the NetworkPolicy opens it. */
    readonly primary: ServiceEndpoint;
  };

/** One StatefulSet of Redis servers, as {@link Redis} and {@link RedisCluster} build it. */
export interface RedisServersProps {
  /** Checked settings shared by all servers of the store. */
  readonly settings: RedisSettings;
  /** Name of the StatefulSet, its ServiceAccount, NetworkPolicy and PDB. */
  readonly name: string;
  /** Name of the client Service in front of the pods. */
  readonly serviceName: string;
  /** Pods of the StatefulSet. */
  readonly replicas: number;
  /** What the pods are: cluster members, the primary, or its replicas. */
  readonly role: RedisServerRole;
  /** The ConfigMap with redis.conf and the scripts. */
  readonly configMapName: string;
  /** Checksum of that ConfigMap, so that a change rolls the pods. */
  readonly configChecksum: string;
}

/**
 * One StatefulSet of Redis servers (a cluster's members, a primary, or replicas) with its headless
 * Service (stable pod DNS names, published before the pods are ready so that peers find each
 * other) and its client Service. The building block of {@link RedisCluster} and {@link Redis}.
 */
export class RedisServers extends StatefulWorkload {
  /** The client Service. */
  public readonly endpoint: ServiceEndpoint;
  /** The governing headless Service: pods are `<name>-<i>.<headlessServiceName>`. */
  public readonly headlessServiceName: string;
  /** StatefulSet `<name>` (`redis` container and redis_exporter sidecar); claims retained and never pruned. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** ClusterIP Service `serviceName` on the client port 6379 only. */
  public readonly service: k8s.KubeService;
  /** Headless Service `<name>-headless` (6379, and 16379 for cluster members), publishing not-ready pods. */
  public readonly headlessService: k8s.KubeService;

  constructor(scope: Construct, id: string, props: RedisServersProps) {
    const { settings, role } = props;
    super(scope, id, { name: props.name, component: 'cache', version: settings.version, runAsUser: REDIS_USER });
    const cluster = role.kind === 'cluster-member';
    this.headlessServiceName = `${this.name}-headless`;

    const ports = [{ name: 'redis', containerPort: REDIS_PORT }];
    if (cluster) ports.push({ name: 'cluster-bus', containerPort: REDIS_BUS_PORT });

    const env: k8s.EnvVar[] = [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      // Two variables from the same key: the server's configuration and redis-cli (probes) each read their own.
      envFromSecret('REDIS_PASSWORD', settings.passwordSecret),
      envFromSecret('REDISCLI_AUTH', settings.passwordSecret),
      { name: 'REDIS_PORT', value: String(REDIS_PORT) },
      { name: 'REDIS_DATA_DIR', value: REDIS_DATA_DIR },
      { name: 'REDIS_BASE_CONFIG', value: `${REDIS_CONFIG_DIR}/redis.conf` },
      { name: 'REDIS_RUNTIME_CONFIG', value: `${REDIS_RUNTIME_DIR}/redis.conf` },
    ];
    if (cluster) {
      env.push(
        { name: 'REDIS_CLUSTER_PORT', value: String(REDIS_BUS_PORT) },
        // The pod IP on the bus (fresh at every start), the stable pod DNS name for clients' redirects.
        { name: 'REDIS_ANNOUNCE_IP', value: '$(POD_IP)' },
        { name: 'REDIS_ANNOUNCE_HOSTNAME', value: `$(POD_NAME).${this.headlessServiceName}.$(POD_NAMESPACE).svc` },
      );
    }
    if (role.kind === 'replica') {
      env.push({ name: 'REDIS_REPLICA_OF', value: `${role.primary.host} ${role.primary.port}` });
    }

    const probe = (mode: string) => ['bash', `${REDIS_CONFIG_DIR}/redis-probe.sh`, mode];
    const container = secureContainer({
      name: 'redis',
      image: settings.image,
      resources: settings.resources,
      ports,
      command: ['bash', `${REDIS_CONFIG_DIR}/redis-start.sh`],
      env,
      // Liveness accepts LOADING: replaying a large AOF must not end in a restart loop.
      livenessProbe: execProbe(probe('liveness'), { initialDelaySeconds: 20, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
      readinessProbe: execProbe(probe('readiness'), { initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 }),
      volumeMounts: [
        { name: 'data', mountPath: REDIS_DATA_DIR },
        { name: 'config', mountPath: REDIS_CONFIG_DIR, readOnly: true },
        { name: 'runtime', mountPath: REDIS_RUNTIME_DIR },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    // Each member's own exporter scrapes it over the pod's loopback, with the server's password.
    const exporter = redisExporter({ passwordSecret: settings.passwordSecret, redisPort: REDIS_PORT });

    this.statefulSet = this.addStatefulSet({
      serviceName: this.headlessServiceName,
      replicas: props.replicas,
      // Cluster members start together: after a full outage each one needs the others to come back.
      podManagementPolicy: cluster ? 'Parallel' : 'OrderedReady',
      revisionHistoryLimit: 5,
      storage: settings.storage,
      verticalScaling: settings.verticalScaling,
      podAnnotations: { 'checksum/config': props.configChecksum },
      podSpec: this.podSpec({
        containers: [container, exporter.container],
        volumes: [
          { name: 'config', configMap: { name: props.configMapName, defaultMode: 0o444 } },
          // The rendered configuration holds the password: memory only, never on a disk.
          { name: 'runtime', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
          { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
        ],
        spread: props.replicas > 1,
        // Redis saves an RDB snapshot on SIGTERM: give it time.
        terminationGracePeriodSeconds: 60,
      }),
    });

    const servicePorts = ports.map((p) => ({ name: p.name, port: p.containerPort }));
    this.headlessService = this.addHeadlessService(this.headlessServiceName, servicePorts, { publishNotReadyAddresses: true });
    this.service = this.addClientService(props.serviceName, [servicePorts[0]]);
    this.endpoint = { host: props.serviceName, port: REDIS_PORT, targetPort: REDIS_PORT, workload: this };
    scrapeSidecar(this, exporter);

    if (cluster) {
      // Replication and the slot migrations of redis-cli use the client port, gossip the bus port.
      this.allowPeers(REDIS_PORT);
      this.allowPeers(REDIS_BUS_PORT);
    }
    if (role.kind === 'replica') this.connectTo(role.primary);
    // A budget on a single pod would block every node drain.
    if (props.replicas > 1) this.addDisruptionBudget(1);
  }
}
