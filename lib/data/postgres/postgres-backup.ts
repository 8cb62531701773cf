import { k8s } from 'cdk8s-plus-27';
import { readShellAssets } from '../../assets';
import {
  BACKUP_SCRIPTS_DIR, BackupJobKind, BackupRepository, installResticContainer, resticEnv, resticVolumeMounts, resticVolumes,
  DatabaseBackupSettings, StoreBackup, StoreBackupJob, WAL_SHIPPER_CONTAINER,
} from '../../backup';
import { secureContainer } from '../../container';
import { execProbe } from '../../probes';
import { ResourceRequirements } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { DATA_MOUNT, PGDATA, POSTGRES_PORT, WAL_SPOOL_DIR } from './postgres-config';
import type { PostgresServer } from './postgres-server';

/** The archive_command every server runs (the backup scripts are mounted into the server's container). */
export const ARCHIVE_COMMAND = `${BACKUP_SCRIPTS_DIR}/pg-wal-archive.sh %p %f`;
/** Seconds between two shipper passes: with archive_timeout, the RPO. */
export const SHIP_INTERVAL_SECONDS = 60;
/** The shipper touches this at start and after every pass that finished; its liveness probe reads it. */
const SHIPPER_HEARTBEAT = `${WAL_SPOOL_DIR}/.shipper-alive`;
/** A pass may wait for a repository lock (a weekly prune or check) for this long. */
const SHIPPER_LOCK_WAIT_SECONDS = 1800;
/**
 * archive_command refuses new WAL once the spool's oldest file is this old (the shipper has failed
 * for that long; a pass waiting out a prune's lock stays well within it): PostgreSQL then counts
 * failures in pg_stat_archiver, which the WalShippingFailing alert reads, and keeps the WAL in pg_wal.
 */
export const WAL_SPOOL_MAX_AGE_SECONDS = 3600;
const SHIPPER_RESOURCES: ResourceRequirements = {
  requests: { cpu: '50m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '512Mi' },
};

/** What every PostgreSQL pod needs for continuous archiving, built once per store. */
export interface WalArchiving {
  /** The ConfigMap with the backup scripts (made by the store's StoreBackup). */
  readonly scriptsConfigMapName: string;
  /** Image the `install-restic` init container copies restic from: the environment's backup repository's. */
  readonly resticImage: string;
  /** restic's environment and the archive repository. */
  readonly shipperEnv: readonly k8s.EnvVar[];
}

/** The store's archiving settings: its backup's scripts ConfigMap and archive repository. */
export function walArchivingOf(repository: BackupRepository, store: string): WalArchiving {
  return {
    scriptsConfigMapName: `${store}-backup-scripts`,
    resticImage: repository.resticImage,
    shipperEnv: [
      ...resticEnv(repository.settings, store),
      { name: 'ARCHIVE_REPOSITORY', value: repository.repositoryOf(`${store}-archive`) },
      { name: 'WAL_SPOOL_DIR', value: WAL_SPOOL_DIR },
      { name: 'SHIP_INTERVAL_SECONDS', value: String(SHIP_INTERVAL_SECONDS) },
      { name: 'LOCK_WAIT_SECONDS', value: String(SHIPPER_LOCK_WAIT_SECONDS) },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'HOME', value: '/tmp' },
    ],
  };
}

/**
 * The pieces continuous archiving adds to a PostgreSQL pod: restic installed by an init container,
 * the backup scripts mounted where archive_command finds them, and the `wal-shipper` sidecar that
 * uploads the spool. Every server gets them, the standbys too: a standby does not archive, but
 * once promoted it does, and its shipper is already there.
 */
export function walArchivingPod(archiving: WalArchiving, image: string): {
  initContainers: k8s.Container[]; sidecar: k8s.Container; volumes: k8s.Volume[]; serverMounts: k8s.VolumeMount[]; serverEnv: k8s.EnvVar[];
} {
  const scripts = { name: 'backup-scripts', mountPath: BACKUP_SCRIPTS_DIR, readOnly: true };
  const sidecar = secureContainer({
    name: WAL_SHIPPER_CONTAINER,
    image,
    resources: SHIPPER_RESOURCES,
    command: ['bash', `${BACKUP_SCRIPTS_DIR}/pg-wal-ship.sh`],
    env: [...archiving.shipperEnv, { name: 'SHIPPER_HEARTBEAT', value: SHIPPER_HEARTBEAT }],
    // In Kubernetes 1.27 every container's readiness is the pod's, and so the primary's place in
    // its Service: the shipper never exits for failed passes (it retries; the failure reaches the
    // alerting through pg_stat_archiver, see WAL_SPOOL_MAX_AGE_SECONDS), and it is restarted only
    // when a pass hangs (no heartbeat for 45 minutes, which includes a lock wait). Ready while the
    // spool on the data volume is writable. No startup probe: the heartbeat is touched at start,
    // so a slow or unreachable bucket never holds a starting server out of its Service.
    livenessProbe: execProbe(['bash', '-c', `test -n "$(find ${SHIPPER_HEARTBEAT} -mmin -45 2>/dev/null)"`],
      { initialDelaySeconds: 30, periodSeconds: 60, timeoutSeconds: 10, failureThreshold: 3 }),
    readinessProbe: execProbe(['bash', '-c', `mkdir -p ${WAL_SPOOL_DIR} && test -w ${WAL_SPOOL_DIR}`],
      { initialDelaySeconds: 0, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 }),
    volumeMounts: [
      { name: 'data', mountPath: DATA_MOUNT },
      scripts,
      ...resticVolumeMounts(),
      { name: 'shipper-tmp', mountPath: '/tmp' },
    ],
  });
  return {
    initContainers: [installResticContainer(archiving.resticImage)],
    sidecar,
    volumes: [
      { name: 'backup-scripts', configMap: { name: archiving.scriptsConfigMapName, defaultMode: 0o555 } },
      ...resticVolumes(),
      { name: 'shipper-tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
    ],
    serverMounts: [scripts],
    serverEnv: [
      { name: 'WAL_SPOOL_DIR', value: WAL_SPOOL_DIR },
      { name: 'WAL_SPOOL_MAX_AGE_SECONDS', value: String(WAL_SPOOL_MAX_AGE_SECONDS) },
    ],
  };
}

export interface PostgresBackupOptions {
  readonly repository: BackupRepository;
  readonly store: string;
  readonly image: string;
  readonly version: string;
  readonly runAsUser: number;
  readonly primary: PostgresServer;
  /** Base backups come from here: the first standby where there is one, else the primary. */
  readonly source: { readonly host: string; readonly server: PostgresServer };
  readonly database: string;
  readonly user: string;
  readonly passwordSecret: SecretKeyRef;
  readonly replicationUser: string;
  readonly replicationPasswordSecret?: SecretKeyRef;
  readonly storageSize: string;
  /** The store's own size: the restore and its test run a PostgreSQL server. */
  readonly resources: ResourceRequirements;
  /** @default - the default slots, base backups through the server (pg_basebackup) */
  readonly backup?: DatabaseBackupSettings;
  readonly configPath: string;
}

/**
 * PostgreSQL's backups (R26): continuous WAL archiving (the servers' archive_command and the
 * wal-shipper sidecars, see {@link walArchivingPod}), a daily base backup from the standby where
 * one exists (`pg_basebackup`, or with `fullBackupSource: 'volume'` the files of its data volume
 * between pg_backup_start and pg_backup_stop, restored file by file), a weekly verify (restic check and pg_verifybackup with the archived WAL), a monthly
 * restore test to a restore point with row counts, and a restore Job to any point in time on the
 * primary's volume.
 */
export function addPostgresBackup(o: PostgresBackupOptions): StoreBackup {
  const replicationPassword = o.replicationPasswordSecret ?? o.passwordSecret;
  const asPrimary = (host: string) => [
    { name: 'PGHOST', value: host },
    { name: 'PGUSER', value: o.user },
    envFromSecret('PGPASSWORD', o.passwordSecret),
  ];
  const source = o.source.server;
  const full: StoreBackupJob = o.backup?.fullBackupSource === 'volume'
    ? {
      kind: BackupJobKind.FULL,
      command: ['pg-volume-backup.sh'],
      // The backup API needs a superuser session on the server whose volume the job reads.
      env: [...asPrimary(o.source.host), { name: 'PGDATA', value: PGDATA }],
      dataVolume: { claimName: `data-${source.name}-0`, podName: `${source.name}-0`, mountPath: DATA_MOUNT },
    }
    : {
      kind: BackupJobKind.FULL,
      command: ['pg-base-backup.sh'],
      // pg_basebackup streams as the replication role, from the standby where there is one.
      env: [{ name: 'PGHOST', value: o.source.host }, { name: 'PGUSER', value: o.replicationUser }, envFromSecret('PGPASSWORD', replicationPassword)],
    };
  return o.primary.addBackup({
    name: `${o.store}-backup`,
    store: o.store,
    repository: o.repository,
    image: o.image,
    version: o.version,
    runAsUser: o.runAsUser,
    scripts: readShellAssets('lib/data/postgres/backup'),
    archive: true,
    env: [
      { name: 'PGPORT', value: String(POSTGRES_PORT) },
      { name: 'PGDATABASE', value: o.database },
    ],
    jobs: [
      full,
      { kind: BackupJobKind.PRUNE, command: ['prune.sh'] },
      { kind: BackupJobKind.VERIFY, command: ['pg-verify.sh'], scratchSize: o.storageSize },
      { kind: BackupJobKind.RESTORE_TEST, command: ['pg-restore-test.sh'], scratchSize: o.storageSize, env: asPrimary(o.primary.endpoint.host) },
    ],
    restores: [{
      name: `${o.store}-restore`,
      command: ['pg-restore.sh', '--target-time', '$(RESTORE_TARGET_TIME)', PGDATA],
      description: `Restores ${o.store} to RESTORE_TARGET_TIME (latest: everything archived) on the primary's volume data-${o.primary.name}-0. Scale the StatefulSets ${o.primary.name} (and its standby) to 0 first; the restored cluster starts promoted on a new timeline, and a standby must be re-cloned.`,
      env: [{ name: 'RESTORE_TARGET_TIME', value: 'latest' }, { name: 'PGDATA', value: PGDATA }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-${o.primary.name}-0` } }],
      volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }],
      scratchSize: o.storageSize,
      resources: o.resources,
    }],
    connections: [o.primary.endpoint, ...(o.source.server === o.primary ? [] : [o.source.server.endpoint])],
    configPath: `${o.configPath}.backup`,
    schedules: o.backup?.schedules,
  });
}
