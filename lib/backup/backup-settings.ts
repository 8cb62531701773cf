import { Construct } from 'constructs';
import { ResourceRequirements } from '../resources';
import { SecretKeyRef } from '../secret-ref';

/**
 * Where an environment's backups go: an S3-compatible bucket, one restic repository per store
 * under `<prefix>/<store>` (and `<prefix>/<store>-archive` for binary logs and WAL).
 */
export interface BackupRepositorySettings {
  /** The S3 endpoint URL, `https://host[:port]`, e.g. `https://s3.cn-north-1.amazonaws.com.cn`. */
  readonly endpoint: string;
  /** The bucket (one per environment: a bucket lifecycle rule cannot then reach another's data). */
  readonly bucket: string;
  /**
   * Folder of this environment's repositories in the bucket.
   * @default '<solution>/<environment>'
   */
  readonly prefix?: string;
  /**
   * IPv4 CIDRs the endpoint's addresses are in: the backup pods' NetworkPolicy allows HTTPS to
   * these and nothing else outside the namespace.
   */
  readonly endpointCidrs: string[];
}

/** How long backups are kept: the jobs enforce it themselves (restic forget + prune). */
export interface BackupRetentionSettings {
  /** Full and daily backups, and the archives they need for point-in-time recovery. @default 30 */
  readonly fullDays?: number;
  /** Hourly backups. @default 7 */
  readonly incrementalDays?: number;
}

/** An environment's backups (R26-R30): bucket, credentials, time zone, retention, size of the jobs. */
export interface BackupSettings {
  /** The S3-compatible bucket the environment's restic repositories are in, and the endpoint's CIDRs. */
  readonly repository: BackupRepositorySettings;
  /** The restic repository password (encryption key of every repository of the environment). */
  readonly passwordSecret: SecretKeyRef;
  /** The bucket's access key id. */
  readonly accessKeyIdSecret: SecretKeyRef;
  /** The bucket's secret access key. */
  readonly secretAccessKeySecret: SecretKeyRef;
  /**
   * IANA time zone the schedules are read in (CronJob `timeZone`).
   * @default 'Asia/Shanghai'
   */
  readonly timeZone?: string;
  /**
   * How many days backups are kept, in days per kind (full/daily and hourly); applied by the backup
   * jobs with `restic forget` and `prune`.
   * @default - see BackupRetentionSettings
   */
  readonly retention?: BackupRetentionSettings;
  /**
   * The official restic image the static `restic` binary is copied from into each backup pod.
   * @default 'restic/restic:0.17.3'
   */
  readonly resticImage?: string;
  /**
   * CPU and memory of each backup, verify and restore container. restic's memory grows with the
   * repository index (prune needs about three times the index).
   * @default - requests 100m / 256Mi, limits 1 / 1Gi
   */
  readonly resources?: ResourceRequirements;
}

/** Context key on an environment's App holding its {@link BackupSettings}. */
export const BACKUP_CONTEXT_KEY = 'ai-platform/backup';

/** The backup settings in force at `scope`, or undefined where the environment has none. */
export function backupSettingsOf(scope: Construct): BackupSettings | undefined {
  return scope.node.tryGetContext(BACKUP_CONTEXT_KEY);
}

/**
 * A store's backup schedules (five-field cron, in the environment's backup time zone), where the
 * defaults do not suit. Each must meet its cadence and no two may start together (checked at synth).
 */
export interface BackupScheduleSettings {
  /** Daily full backup. @default - the store's slot, e.g. '0 1 * * *' */
  readonly full?: string;
  /** Hourly archive or snapshot, where the store has one. @default '15 * * * *' or the store's slot */
  readonly incremental?: string;
  /** Weekly prune. @default '30 4 * * 6' */
  readonly prune?: string;
  /** Weekly verify. @default '30 3 * * 0' */
  readonly verify?: string;
  /** Monthly restore test. @default '30 5 2 * *' */
  readonly restoreTest?: string;
}

/** A store's backup options in its configuration. */
export interface StoreBackupSettings {
  /**
   * Cron schedules of the store's backup, prune, verify and restore-test CronJobs, in the
   * environment's backup time zone; each must meet its cadence and no two may start together.
   * @default - the store's default slots
   */
  readonly schedules?: BackupScheduleSettings;
}

/**
 * Where a database's daily full backup reads the data:
 * - `server`: through the server (mysqldump; pg_basebackup), from any node;
 * - `volume`: the files of the replica's (standby's) data volume, read by a job on that pod's node
 *   (MySQL: Percona XtraBackup, MariaDB: mariadb-backup; PostgreSQL: the backup API with restic's
 *   file mode), restored file by file: faster restores (for MySQL the path that meets the
 *   point-in-time target at prod size).
 */
export type FullBackupSource = 'server' | 'volume';

/** A database's backup options (MySQL, PostgreSQL): the schedules and where the full backup reads from. */
export interface DatabaseBackupSettings extends StoreBackupSettings {
  /**
   * Where the daily full backup reads the data. `volume` needs ReadWriteOnce volumes (not
   * ReadWriteOncePod): the backup job mounts the replica's (standby's) claim read-only on its node.
   * @default 'server'
   */
  readonly fullBackupSource?: FullBackupSource;
}
