import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { mysqlExporter } from '../../observability/exporters/mysql';
import { scrapeSidecar } from '../../observability/exporters/exporter';
import { execProbe } from '../../probes';
import { VerticalScalingSettings } from '../../ops/vertical-scaling';
import { ServiceEndpoint } from '../../workload';
import { avoidAffinity, StatefulWorkload } from '../stateful-workload';
import { StorageOptions } from '../storage';
import { CONFIG_DIR, CONFIG_FILE, DATA_DIR, DATA_MOUNT, MYSQL_PORT, MYSQL_UID, RUN_DIR, SCRIPTS_DIR } from './mysql-config';

/** The application's account: all privileges on the application database, nothing else. */
export interface MySqlAppUser {
  /** Account name (letters, digits and '_', at most 32 characters). */
  readonly name: string;
  /** The Secret key holding its password. */
  readonly passwordSecret: SecretKeyRef;
}

/** Already validated settings both MySQL StatefulSets share (built by {@link MySql}). */
export interface MySqlServerSettings {
  /** Prefix of the objects' names (`mysql` -> `mysql-primary`, `mysql-replica`, `mysql-read`). */
  readonly baseName: string;
  /** Official MySQL 8.0 image, 8.0.32 or later, pinned; also the image of the backup Jobs. */
  readonly image: string;
  /** The image tag, for the version label. */
  readonly version: string;
  /** Requests and limits of each pod's `mysql` container (the exporter sidecar has its own). */
  readonly resources: ResourceRequirements;
  /** Each pod's volume (claim template `data`, mounted at /var/lib/mysql); also the backup Jobs' scratch size. */
  readonly storage: StorageOptions;
  /** Application database the primary creates where it is missing (`MYSQL_APP_DATABASE`). */
  readonly database: string;
  /** Root's password (`MYSQL_ROOT_PASSWORD`): set on first initialisation, used by the scripts and the exporter. */
  readonly rootPasswordSecret: SecretKeyRef;
  /** Account the replicas replicate as (`MYSQL_REPLICATION_USER`), created on the primary with REPLICATION SLAVE. */
  readonly replicationUser: string;
  /** Password of {@link MySqlServerSettings.replicationUser} (`MYSQL_REPLICATION_PASSWORD`). */
  readonly replicationPasswordSecret: SecretKeyRef;
  /**
   * The application's account with all privileges on `database` (`MYSQL_APP_USER`,
   * `MYSQL_APP_PASSWORD` from its Secret), created on the primary and present on every replica.
   * @default - no application account
   */
  readonly appUser?: MySqlAppUser;
  /** ConfigMap `<baseName>-config` whose `server.cnf` is mounted in /etc/mysql/conf.d. */
  readonly configMapName: string;
  /** ConfigMap `<baseName>-scripts` (server.sh, replication.sh, probe.sh, client.sh), mounted at /opt/mysql-scripts. */
  readonly scriptsConfigMapName: string;
  /** SHA-256 of the configuration and scripts: a change rolls the pods. */
  readonly configChecksum: string;
  /**
   * Bounds of the VerticalPodAutoscaler's recommendation for each StatefulSet's `mysql` container
   * (recommendation only: pods are never evicted).
   * @default - see VerticalScalingSettings
   */
  readonly verticalScaling?: VerticalScalingSettings;
}

/** What differs between the primary and the replicas. */
export interface MySqlServerRole {
  /** `MYSQL_ROLE` of the scripts: a replica copies from `source`, replicates it and runs read-only. */
  readonly kind: 'primary' | 'replica';
  /** StatefulSet, ServiceAccount and NetworkPolicy name; the headless Service is `<name>-headless`. */
  readonly name: string;
  /** The ClusterIP Service clients use. */
  readonly serviceName: string;
  /** Pods of the StatefulSet: 1 for the primary, the configured read replicas otherwise. */
  readonly replicas: number;
  /** `Parallel` where pods do not depend on each other. */
  readonly podManagementPolicy: 'OrderedReady' | 'Parallel';
  /** Replicas: the primary they copy from and replicate. */
  readonly source?: ServiceEndpoint;
  /** Selector labels of pods to keep away from (replicas avoid the primary's node and zone). @default - none */
  readonly avoid?: Readonly<Record<string, string>>;
}

/**
 * One MySQL 8.0 StatefulSet with its ClusterIP and headless Services. The container runs the
 * official image's entrypoint through server.sh, which adds the pod's server id and runs
 * replication.sh beside the server (see the scripts for the why). Pods run as the image's `mysql`
 * user (uid 999, the owner of the data) with a read-only root file system; the server writes only
 * to its volume, /var/run/mysqld and /tmp.
 */
export abstract class MySqlServer extends StatefulWorkload {
  /** The ClusterIP Service and the pods behind it. */
  public readonly endpoint: ServiceEndpoint;
  /** StatefulSet `<name>` (`mysql` container and mysqld_exporter sidecar); claims retained and never pruned. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** ClusterIP Service clients use: `<baseName>-primary` (writes) or `<baseName>-read` (reads), port 3306. */
  public readonly service: k8s.KubeService;
  /** Gives each pod a stable DNS name (`<pod>.<name>-headless`), ready or not. */
  public readonly headlessService: k8s.KubeService;

  constructor(scope: Construct, id: string, settings: MySqlServerSettings, role: MySqlServerRole) {
    super(scope, id, { name: role.name, component: 'database', version: settings.version, runAsUser: MYSQL_UID });
    const headlessName = `${this.name}-headless`;
    const script = (file: string, ...args: string[]) => ['bash', `${SCRIPTS_DIR}/${file}`, ...args];
    const terminationGracePeriodSeconds = 120;

    const container = secureContainer({
      name: 'mysql',
      image: settings.image,
      resources: settings.resources,
      command: script('server.sh'),
      args: ['mysqld'],
      ports: [{ name: 'mysql', containerPort: MYSQL_PORT }],
      env: this.env(settings, role, headlessName),
      // First initialisation (time zones, accounts) and crash recovery of a large buffer pool take
      // time: liveness waits for the first success, up to 15 minutes. A replica's copy happens
      // after that and only holds back readiness.
      startupProbe: execProbe(script('probe.sh', 'live'), { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 90 }),
      livenessProbe: execProbe(script('probe.sh', 'live'), { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
      readinessProbe: execProbe(script('probe.sh', 'ready'), { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 }),
      volumeMounts: [
        { name: 'data', mountPath: DATA_MOUNT },
        { name: 'run', mountPath: RUN_DIR },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
      ],
    });

    // Root's password from the existing Secret: the set-up creates no monitoring account (yet).
    const exporter = mysqlExporter({ user: 'root', passwordSecret: settings.rootPasswordSecret, mysqlPort: MYSQL_PORT });

    this.statefulSet = this.addStatefulSet({
      serviceName: headlessName,
      replicas: role.replicas,
      podManagementPolicy: role.podManagementPolicy,
      storage: settings.storage,
      verticalScaling: settings.verticalScaling,
      podAnnotations: { 'checksum/config': settings.configChecksum },
      podSpec: {
        ...this.podSpec({
          containers: [container, exporter.container],
          spread: role.replicas > 1,
          terminationGracePeriodSeconds,
          volumes: [
            { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            // No size limit: sorts and online ALTER TABLE spill here, and an eviction mid-ALTER
            // would cost more than the node's ephemeral storage.
            { name: 'tmp', emptyDir: {} },
            { name: 'config', configMap: { name: settings.configMapName, items: [{ key: CONFIG_FILE, path: CONFIG_FILE }], defaultMode: 0o444 } },
            { name: 'scripts', configMap: { name: settings.scriptsConfigMapName, defaultMode: 0o555 } },
          ],
        }),
        affinity: role.avoid ? avoidAffinity(role.avoid) : undefined,
      },
    });

    const ports = [{ name: 'mysql', port: MYSQL_PORT }];
    this.headlessService = this.addHeadlessService(headlessName, ports, { publishNotReadyAddresses: true });
    this.service = this.addClientService(role.serviceName, ports);
    this.endpoint = { host: role.serviceName, port: MYSQL_PORT, targetPort: MYSQL_PORT, workload: this };
    scrapeSidecar(this, exporter);
  }

  /** What server.sh, replication.sh and probe.sh read; passwords only as Secret references. */
  private env(settings: MySqlServerSettings, role: MySqlServerRole, headlessName: string): k8s.EnvVar[] {
    const appUser = settings.appUser;
    return [
      { name: 'MYSQL_ROLE', value: role.kind },
      // The official entrypoint sets root's password from it on first initialisation; the scripts log in with it.
      envFromSecret('MYSQL_ROOT_PASSWORD', settings.rootPasswordSecret),
      { name: 'MYSQL_HEADLESS_SERVICE', value: headlessName },
      { name: 'MYSQL_REPLICATION_USER', value: settings.replicationUser },
      envFromSecret('MYSQL_REPLICATION_PASSWORD', settings.replicationPasswordSecret),
      { name: 'MYSQL_APP_DATABASE', value: settings.database },
      ...(appUser ? [{ name: 'MYSQL_APP_USER', value: appUser.name }, envFromSecret('MYSQL_APP_PASSWORD', appUser.passwordSecret)] : []),
      ...(role.source ? [
        { name: 'MYSQL_SOURCE_HOST', value: role.source.host },
        { name: 'MYSQL_SOURCE_PORT', value: String(role.source.port) },
        // server.sh starts a replica with --read-only once this directory is initialised.
        { name: 'MYSQL_DATA_DIR', value: DATA_DIR },
      ] : []),
    ];
  }
}

