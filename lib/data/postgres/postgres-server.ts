import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { scrapeSidecar } from '../../observability/exporters/exporter';
import { postgresExporter } from '../../observability/exporters/postgres';
import { execProbe } from '../../probes';
import { parseQuantity } from '../../quantity';
import { VerticalScalingSettings } from '../../ops/vertical-scaling';
import { ServiceEndpoint } from '../../workload';
import { WalArchiving, walArchivingPod } from './postgres-backup';
import { avoidAffinity, StatefulWorkload } from '../stateful-workload';
import { StorageOptions } from '../storage';
import { CONFIG_DIR, DATA_MOUNT, PGDATA, POSTGRES_PORT, SOCKET_DIR } from './postgres-config';

/** uid and gid of the `postgres` user of the official Debian-based image: PostgreSQL runs as the owner of its data. */
export const POSTGRES_UID = 999;
/** Where the scripts ConfigMap is mounted in the init containers. */
export const SCRIPTS_DIR = '/opt/postgres-scripts';

/** What the primary's init container reconciles. */
export interface PrimaryRole {
  /** The primary: `primary-init.sh` initialises or reconciles the data directory, and the pod serves writes. */
  readonly kind: 'primary';
  /** Physical slots to keep, one per standby pod. */
  readonly replicationSlots: readonly string[];
  /** Inactive slots with this prefix that are not in `replicationSlots` are dropped. */
  readonly replicationSlotPrefix: string;
  /**
   * The standby pods (`host:port`), asked for their timeline before every start: a promoted one
   * fences the primary (split brain, see primary-init.sh).
   */
  readonly replicationPeers: readonly string[];
}

/** Where a standby streams from. */
export interface StandbyRole {
  /**
   * A hot standby: `standby-init.sh` clones the primary with pg_basebackup where there is no cluster yet
   * (or the primary no longer has the WAL it needs), and refuses to start one that was promoted.
   */
  readonly kind: 'standby';
  /** The primary's client Service. */
  readonly primary: ServiceEndpoint;
}

/** Already validated settings of one PostgreSQL StatefulSet (built by {@link Postgres}). */
export interface PostgresServerProps {
  /** StatefulSet, ServiceAccount and NetworkPolicy name; the headless Service is `<name>-headless`. */
  readonly name: string;
  /** The Service clients use. */
  readonly serviceName: string;
  /** Primary or standby: the init container, its environment and the readiness check (probe.sh). */
  readonly role: PrimaryRole | StandbyRole;
  /** Official Debian-based PostgreSQL 14 image, pinned; also the image of the wal-shipper sidecar. */
  readonly image: string;
  /** The image tag, for the version label. */
  readonly version: string;
  /** Pods: 1 for the primary, 1 to 3 standbys; more than 1 adds a PodDisruptionBudget (1 unavailable at most). */
  readonly replicas: number;
  /** Requests and limits of the `postgres` and init containers; /dev/shm is a quarter of the memory limit. */
  readonly resources: ResourceRequirements;
  /** Each pod's volume (claim template `data`, `data-<name>-<i>`). */
  readonly storage: StorageOptions;
  /** Application database the primary's init creates where it is missing (`POSTGRES_DB`). */
  readonly database: string;
  /** Superuser role of the application, also the role probe.sh and the exporter log in as. */
  readonly user: string;
  /** Password of `user`, set by the primary's init on every start (`POSTGRES_PASSWORD`). */
  readonly passwordSecret: SecretKeyRef;
  /** LOGIN REPLICATION role the standbys stream as (`REPLICATION_USER`). */
  readonly replicationUser: string;
  /**
   * Password of `replicationUser` (`REPLICATION_PASSWORD` of the init containers; a standby's
   * `PGPASSWORD`); {@link Postgres} refuses standbys without it.
   * @default - no replication role can log in
   */
  readonly replicationPasswordSecret?: SecretKeyRef;
  /** ConfigMap `<name>-config` (postgresql.conf, tuning.conf, pg_hba.conf, pg_ident.conf), mounted read-only. */
  readonly configMapName: string;
  /** ConfigMap `<name>-scripts` (primary-init.sh, standby-init.sh, probe.sh), mounted at /opt/postgres-scripts. */
  readonly scriptsConfigMapName: string;
  /** SHA-256 of the configuration and scripts: a change rolls the pods. */
  readonly configChecksum: string;
  /** Selector labels of pods this one should not share a node or zone with (a standby avoids its primary). @default - none */
  readonly avoid?: Readonly<Record<string, string>>;
  /**
   * Bounds of the VerticalPodAutoscaler's recommendation for the `postgres` container
   * (recommendation only: pods are never evicted).
   * @default - see VerticalScalingSettings
   */
  readonly verticalScaling?: VerticalScalingSettings;
  /** Continuous WAL archiving: restic, the backup scripts and the wal-shipper sidecar in the pod. @default - none */
  readonly walArchiving?: WalArchiving;
}

/**
 * One PostgreSQL StatefulSet (the primary, or the standbys) with its headless and client Services.
 * The container runs `postgres` itself as uid 999 from a read-only image: an init container
 * prepares the data directory first (initdb and reconciliation on the primary, pg_basebackup on a
 * new standby), so the image's entrypoint, which needs a writable root, is not used.
 */
export class PostgresServer extends StatefulWorkload {
  /** The client Service on port 5432: `<name>` for the primary (writes), `<name>-read` for the standbys. */
  public readonly endpoint: ServiceEndpoint;
  /** StatefulSet `<name>` (`postgres`, exporter and, with backups, wal-shipper containers); claims retained. */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** The ClusterIP Service behind {@link PostgresServer.endpoint}. */
  public readonly service: k8s.KubeService;
  /** `<name>-headless`: each pod's DNS name `<name>-<i>.<name>-headless`, ready or not. */
  public readonly headlessService: k8s.KubeService;

  constructor(scope: Construct, id: string, props: PostgresServerProps) {
    super(scope, id, { name: props.name, component: 'database', version: props.version, runAsUser: POSTGRES_UID });
    const isStandby = props.role.kind === 'standby';
    const headlessName = `${this.name}-headless`;

    const mounts = {
      data: { name: 'data', mountPath: DATA_MOUNT },
      run: { name: 'run', mountPath: SOCKET_DIR },
      tmp: { name: 'tmp', mountPath: '/tmp' },
      shm: { name: 'shm', mountPath: '/dev/shm' },
      config: { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      scripts: { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
    };
    // Liveness (and startup) only asks whether the server accepts connections: cheap, so a busy
    // server or a standby catching up is never restarted. Readiness asks whether it serves correct
    // data: a primary out of recovery, a standby streaming from the primary (probe.sh).
    const probe = `${SCRIPTS_DIR}/probe.sh`;
    const isLive = ['bash', probe, 'live'];
    const isReady = ['bash', probe, 'ready', props.role.kind];
    const terminationGracePeriodSeconds = 120;

    const server = {
      ...secureContainer({
        name: 'postgres',
        image: props.image,
        resources: props.resources,
        command: ['postgres', '-D', PGDATA, '-c', `config_file=${CONFIG_DIR}/postgresql.conf`],
        ports: [{ name: 'postgres', containerPort: POSTGRES_PORT }],
        env: [
          { name: 'PGDATA', value: PGDATA },
          // The role probe.sh logs in as (peer authentication on the pod's socket).
          { name: 'POSTGRES_USER', value: props.user },
          // The walreceiver's libpq reads the replication password from here: it is never on disk.
          ...(isStandby && props.replicationPasswordSecret ? [envFromSecret('PGPASSWORD', props.replicationPasswordSecret)] : []),
        ],
        // Crash recovery or a standby catching up can take long: liveness waits for the first success.
        startupProbe: execProbe(isLive, { initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 180 }),
        readinessProbe: execProbe(isReady, { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 }),
        livenessProbe: execProbe(isLive, { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
        volumeMounts: [mounts.data, mounts.run, mounts.tmp, mounts.shm, mounts.config, mounts.scripts],
      }),
      // A fast shutdown (roll back open transactions, checkpoint) whatever signal the runtime sends;
      // a smart shutdown would wait for clients until the kill, and the next start would need recovery.
      lifecycle: {
        preStop: { exec: { command: ['pg_ctl', 'stop', '-D', PGDATA, '-m', 'fast', '-w', '-t', String(terminationGracePeriodSeconds - 10)] } },
      },
    };

    const init = secureContainer({
      name: isStandby ? 'standby-init' : 'primary-init',
      image: props.image,
      resources: props.resources,
      command: ['bash', `${SCRIPTS_DIR}/${isStandby ? 'standby-init.sh' : 'primary-init.sh'}`],
      env: props.role.kind === 'standby' ? this.standbyInitEnv(props, props.role) : this.primaryInitEnv(props, props.role),
      // The primary's init runs a temporary server with the real configuration (see primary-init.sh).
      volumeMounts: isStandby ? [mounts.data, mounts.tmp, mounts.scripts] : [mounts.data, mounts.tmp, mounts.shm, mounts.config, mounts.scripts],
    });

    // The application role's password from its Secret (a standby has the primary's roles): no monitoring role exists yet.
    const exporter = postgresExporter({ user: props.user, passwordSecret: props.passwordSecret, postgresPort: POSTGRES_PORT });
    const archiving = props.walArchiving && walArchivingPod(props.walArchiving, props.image);
    if (archiving) {
      server.volumeMounts = [...(server.volumeMounts ?? []), ...archiving.serverMounts];
      server.env = [...(server.env ?? []), ...archiving.serverEnv];
    }
    // The primary's init runs a temporary server with the real configuration: its archive_command too.
    const initContainer: k8s.Container = archiving
      ? { ...init, volumeMounts: [...(init.volumeMounts ?? []), ...archiving.serverMounts], env: [...(init.env ?? []), ...archiving.serverEnv] }
      : init;
    this.statefulSet = this.addStatefulSet({
      serviceName: headlessName,
      replicas: props.replicas,
      podManagementPolicy: 'OrderedReady',
      storage: props.storage,
      verticalScaling: props.verticalScaling,
      podAnnotations: { 'checksum/config': props.configChecksum },
      podSpec: {
        ...this.podSpec({
          initContainers: [initContainer, ...(archiving?.initContainers ?? [])],
          containers: [server, exporter.container, ...(archiving ? [archiving.sidecar] : [])],
          spread: props.replicas > 1,
          terminationGracePeriodSeconds,
          volumes: [
            { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
            // Parallel queries share memory through /dev/shm, which container runtimes cap at 64Mi.
            { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(shmSize(props.resources.limits.memory)) } },
            { name: 'config', configMap: { name: props.configMapName, defaultMode: 0o444 } },
            { name: 'scripts', configMap: { name: props.scriptsConfigMapName, defaultMode: 0o555 } },
            ...(archiving?.volumes ?? []),
          ],
        }),
        affinity: props.avoid ? avoidAffinity(props.avoid) : undefined,
      },
    });

    const ports = [{ name: 'postgres', port: POSTGRES_PORT }];
    // Not-ready pods too: the primary's init asks a promoted (hence unready) standby for its timeline.
    this.headlessService = this.addHeadlessService(headlessName, ports, { publishNotReadyAddresses: true });
    this.service = this.addClientService(props.serviceName, ports);
    this.endpoint = { host: props.serviceName, port: POSTGRES_PORT, targetPort: POSTGRES_PORT, workload: this };
    scrapeSidecar(this, exporter);

    // One pod has nothing to keep available (a budget would only block node drains); several
    // standbys keep all but one serving reads.
    if (props.replicas > 1) this.addDisruptionBudget(1);
  }

  private primaryInitEnv(props: PostgresServerProps, role: PrimaryRole): k8s.EnvVar[] {
    return [
      { name: 'PGDATA', value: PGDATA },
      { name: 'POSTGRES_CONFIG_FILE', value: `${CONFIG_DIR}/postgresql.conf` },
      { name: 'POSTGRES_USER', value: props.user },
      envFromSecret('POSTGRES_PASSWORD', props.passwordSecret),
      { name: 'POSTGRES_DB', value: props.database },
      { name: 'REPLICATION_USER', value: props.replicationUser },
      ...(props.replicationPasswordSecret ? [envFromSecret('REPLICATION_PASSWORD', props.replicationPasswordSecret)] : []),
      { name: 'REPLICATION_SLOTS', value: role.replicationSlots.join(' ') },
      { name: 'REPLICATION_SLOT_PREFIX', value: role.replicationSlotPrefix },
      { name: 'REPLICATION_PEERS', value: role.replicationPeers.join(' ') },
    ];
  }

  private standbyInitEnv(props: PostgresServerProps, role: StandbyRole): k8s.EnvVar[] {
    return [
      { name: 'PGDATA', value: PGDATA },
      { name: 'PRIMARY_HOST', value: role.primary.host },
      { name: 'PRIMARY_PORT', value: String(role.primary.port) },
      { name: 'REPLICATION_USER', value: props.replicationUser },
      ...(props.replicationPasswordSecret ? [envFromSecret('REPLICATION_PASSWORD', props.replicationPasswordSecret)] : []),
      // The slot is the pod's name with '-' as '_' (postgres-standby-0 -> postgres_standby_0).
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ];
  }
}

/** `host:port` of each pod of StatefulSet `statefulSetName` behind headless Service `headlessName`. */
export function podAddresses(statefulSetName: string, headlessName: string, replicas: number, port: number): string[] {
  return Array.from({ length: replicas }, (_, i) => `${statefulSetName}-${i}.${headlessName}:${port}`);
}

/** Physical replication slot names of the pods of StatefulSet `statefulSetName`. */
export function replicationSlotNames(statefulSetName: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => `${statefulSetName}-${i}`.replace(/-/g, '_'));
}

/** A quarter of the memory limit, in Mi, at least 64Mi: shared memory is charged to the container's memory. */
function shmSize(memoryLimit: string): string {
  return `${Math.max(64, Math.floor(parseQuantity(memoryLimit) / 4 / 2 ** 20))}Mi`;
}

