import { readShellAssets } from '../../assets';
import { BackupJobKind, BackupRepository, StoreBackup, StoreBackupSettings } from '../../backup';
import { envFromSecret } from '../../secret-ref';
import { MYSQL_PORT, MYSQL_UID } from './mysql-config';
import { MySqlPrimary } from './mysql-primary';
import { MySqlReplicas } from './mysql-replicas';
import { MySqlServerSettings } from './mysql-server';

export interface MySqlBackupOptions {
  readonly repository: BackupRepository;
  readonly settings: MySqlServerSettings;
  readonly primary: MySqlPrimary;
  readonly replicas: MySqlReplicas;
  /** @default - the default slots */
  readonly backup?: StoreBackupSettings;
  /** Where the store's settings are, for errors: the MySql construct's id. */
  readonly configPath: string;
}

/**
 * MySQL's backups (R26): a daily `mysqldump --single-transaction` of the application database and
 * an hourly archive of the binary logs, both taken from the first replica (the dump does not load
 * the primary, and dump and binary logs share one server's coordinates, so a point-in-time restore
 * replays exactly what followed the dump); a weekly verify, a monthly restore test into a scratch
 * server, and restore Jobs that write to the primary, which the replicas then follow.
 */
export function addMySqlBackup(options: MySqlBackupOptions): StoreBackup {
  const { settings, primary, replicas } = options;
  const source = `${replicas.name}-0.${replicas.name}-headless`;
  const scratchSize = settings.storage.size;
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
      { kind: BackupJobKind.FULL, command: ['mysql-full-backup.sh'] },
      // Every 30 minutes: the RPO is the interval plus the run and replica 0's lag, within 1 hour.
      { kind: BackupJobKind.INCREMENTAL, command: ['mysql-binlog-archive.sh'], schedule: '15,45 * * * *' },
      { kind: BackupJobKind.PRUNE, command: ['prune.sh'] },
      { kind: BackupJobKind.VERIFY, command: ['mysql-verify.sh'], scratchSize },
      { kind: BackupJobKind.RESTORE_TEST, command: ['mysql-restore-test.sh'], scratchSize },
    ],
    restores: [{
      name: `${settings.baseName}-restore`,
      command: ['mysql-restore.sh', '--target-time', '$(RESTORE_TARGET_TIME)'],
      description: `Restores ${settings.database} on ${primary.name} to RESTORE_TARGET_TIME (latest: the last archived binary log). Stop the writers first; the replicas follow through replication.`,
      env: [{ name: 'MYSQL_HOST', value: primary.endpoint.host }, { name: 'RESTORE_TARGET_TIME', value: 'latest' }],
      // The binary logs up to the target are decoded here first.
      scratchSize,
    }],
    connections: [replicas.endpoint, primary.endpoint],
    configPath: `${options.configPath}.backup`,
    schedules: options.backup?.schedules,
  });
}
