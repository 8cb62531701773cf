import { readShellAssets } from '../../assets';
import { BackupJobKind, BackupRepository, DatabaseBackupSettings, StoreBackup, StoreBackupJob, StoreRestoreJob } from '../../backup';
import { envFromSecret } from '../../secret-ref';
import { DATA_DIR, DATA_MOUNT, MYSQL_PORT, MYSQL_UID } from './mysql-config';
import { MySqlPrimary } from './mysql-primary';
import { MySqlReplicas } from './mysql-replicas';
import { MySqlServerSettings } from './mysql-server';

export interface MySqlBackupOptions {
  readonly repository: BackupRepository;
  readonly settings: MySqlServerSettings;
  readonly primary: MySqlPrimary;
  readonly replicas: MySqlReplicas;
  /** @default - the default slots, full backups through the server (mysqldump) */
  readonly backup?: DatabaseBackupSettings;
  /** Percona XtraBackup image of the physical backup, verify, restore test and restore (`volume`); validated by {@link MySql}. */
  readonly xtrabackupImage: string;
  /** Where the store's settings are, for errors: the MySql construct's id. */
  readonly configPath: string;
}

/**
 * MySQL's backups (R26): a daily full backup and an archive of the binary logs every 30 minutes,
 * both taken from the first replica (the primary carries no backup load, and full and binary logs
 * share one server's coordinates, so a point-in-time restore replays exactly what followed the
 * full); a weekly verify, a monthly restore test into a scratch server, and restore Jobs.
 *
 * The full backup (`backup.fullBackupSource`):
 * - `server`: `mysqldump --single-transaction` of the application database; the restore Job
 *   `<base>-restore` loads it into the running primary, which the replicas follow.
 * - `volume`: Percona XtraBackup copies replica 0's data files from its volume, mounted read-only
 *   by a Job on that pod's node; restored file by file (`<base>-restore`, onto the primary's volume
 *   with the StatefulSets at 0; the replicas are copied again afterwards), the path that meets the
 *   point-in-time target at prod size. `<base>-restore-from-dump` (file `restore/<base>-from-dump.k8s.yaml`)
 *   restores the dumps still in retention.
 */
export function addMySqlBackup(options: MySqlBackupOptions): StoreBackup {
  const { settings, primary, replicas } = options;
  const source = `${replicas.name}-0.${replicas.name}-headless`;
  const scratchSize = settings.storage.size;
  const physical = options.backup?.fullBackupSource === 'volume';
  const xtrabackup = options.xtrabackupImage;
  const dumpRestore: StoreRestoreJob = {
    name: physical ? `${settings.baseName}-restore-from-dump` : `${settings.baseName}-restore`,
    // Beside the physical restore it has a file of its own: `kubectl create -f` of one file is one restore.
    file: physical ? `${settings.baseName}-from-dump` : undefined,
    command: ['mysql-restore.sh', '--target-time', '$(RESTORE_TARGET_TIME)'],
    description: `Restores ${settings.database} on ${primary.name} from a mysqldump full to RESTORE_TARGET_TIME (latest: the last archived binary log). Stop the writers first; the replicas follow through replication.`,
    env: [{ name: 'MYSQL_HOST', value: primary.endpoint.host }, { name: 'RESTORE_TARGET_TIME', value: 'latest' }],
    // The binary logs up to the target are decoded here first.
    scratchSize,
  };
  // The claim the StatefulSet's template `data` gives pod 0 of each set.
  const claim = (set: string) => `data-${set}-0`;
  const fullJob: StoreBackupJob = physical
    ? {
      kind: BackupJobKind.FULL,
      command: ['mysql-physical-backup.sh'],
      image: xtrabackup,
      dataVolume: { claimName: claim(replicas.name), podName: `${replicas.name}-0`, mountPath: DATA_MOUNT },
      env: [{ name: 'MYSQL_DATA_DIR', value: DATA_DIR }],
    }
    : { kind: BackupJobKind.FULL, command: ['mysql-full-backup.sh'] };
  const restores: StoreRestoreJob[] = physical
    ? [{
      name: `${settings.baseName}-restore`,
      command: ['mysql-physical-restore.sh', 'apply'],
      initSteps: [{ name: 'extract', image: xtrabackup, command: ['mysql-physical-restore.sh', 'extract', '--target-time', '$(RESTORE_TARGET_TIME)'] }],
      description: `Restores the whole server to RESTORE_TARGET_TIME (latest: the last archived binary log) from a physical full onto ${primary.name}'s volume (${claim(primary.name)}). `
        + `Scale ${primary.name} and ${replicas.name} to 0 first. The old data directory is kept as data.pre-restore-<time>. `
        + `Afterwards: scale ${primary.name} to 1, delete the replicas' claims (data-${replicas.name}-<n>) and scale ${replicas.name} back (each copies the primary again), then take a full backup.`,
      env: [{ name: 'MYSQL_DATA_DIR', value: DATA_DIR }, { name: 'RESTORE_TARGET_TIME', value: 'latest' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim(primary.name) } }],
      volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }],
      // The server runs on the copy while the binary logs are replayed.
      resources: settings.resources,
      scratchSize,
    }, dumpRestore]
    : [dumpRestore];
  return replicas.addBackup({
    name: `${settings.baseName}-backup`,
    store: settings.baseName,
    repository: options.repository,
    image: settings.image,
    version: settings.version,
    runAsUser: MYSQL_UID,
    scripts: readShellAssets('lib/data/mysql/backup'),
    archive: true,
    env: [
      { name: 'MYSQL_HOST', value: source },
      { name: 'MYSQL_PORT', value: String(MYSQL_PORT) },
      envFromSecret('MYSQL_PWD', settings.rootPasswordSecret),
      { name: 'MYSQL_DATABASE', value: settings.database },
    ],
    jobs: [
      fullJob,
      // Every 30 minutes: the RPO is the interval plus the run and replica 0's lag, within 1 hour.
      { kind: BackupJobKind.INCREMENTAL, command: ['mysql-binlog-archive.sh'], schedule: '15,45 * * * *' },
      { kind: BackupJobKind.PRUNE, command: ['prune.sh'] },
      // A physical full is unpacked and prepared: XtraBackup's tools.
      { kind: BackupJobKind.VERIFY, command: ['mysql-verify.sh'], scratchSize, ...(physical ? { image: xtrabackup } : {}) },
      {
        kind: BackupJobKind.RESTORE_TEST,
        command: ['mysql-restore-test.sh'],
        scratchSize,
        ...(physical ? { initSteps: [{ name: 'extract', image: xtrabackup, command: ['mysql-restore-test.sh', '--extract'] }] } : {}),
      },
    ],
    restores,
    connections: [replicas.endpoint, primary.endpoint],
    configPath: `${options.configPath}.backup`,
    schedules: options.backup?.schedules,
  });
}
