/**
 * The kinds of scheduled backup work, what each must achieve and how long it may take. The
 * cadence is a requirement (R26: daily full, hourly incremental; R29: weekly verify, monthly
 * restore test), checked against every schedule, and the alerts' "overdue" thresholds derive from
 * it, so a schedule and its alert cannot disagree.
 */
export enum BackupJobKind {
  /** Daily full backup (dump, base backup, snapshot). */
  FULL = 'full',
  /** Hourly: binary-log archive, hourly snapshot. */
  INCREMENTAL = 'incremental',
  /** Frees the space of forgotten snapshots: exclusive, so off-peak and apart from the others. */
  PRUNE = 'prune',
  /** Weekly integrity check of the repositories and the latest backup. */
  VERIFY = 'verify',
  /** Monthly restore of the latest backup into a scratch instance, with data checks. */
  RESTORE_TEST = 'restore-test',
}

/** What a {@link BackupJobKind} requires of a store's CronJob: its cadence, deadlines and default schedule. */
export interface BackupJobKindSpec {
  /** The longest time allowed between two runs, in minutes. */
  readonly cadenceMinutes: number;
  /** What the cadence is, in words (errors, README). */
  readonly cadence: string;
  /** The Job's `activeDeadlineSeconds`. */
  readonly activeDeadlineSeconds: number;
  /** How long a run waits for another job's repository lock (LOCK_WAIT_SECONDS). */
  readonly lockWaitSeconds: number;
  /** The schedule when the store gives none (a store may shift it to stagger its neighbours). */
  readonly defaultSchedule: string;
}

const HOUR = 60;
const DAY = 24 * HOUR;

/**
 * The requirement of each job kind: full daily (default 01:00), incremental hourly (:15), prune
 * weekly (Saturday 04:30), verify weekly (Sunday 03:30), restore test monthly (the 2nd, 05:30).
 * StoreBackup refuses a schedule with a longer gap than `cadenceMinutes`; the BackupOverdue and
 * BackupCheckOverdue alerts derive their thresholds from it ({@link overdueSeconds}).
 */
export const BACKUP_JOB_KINDS: Readonly<Record<BackupJobKind, BackupJobKindSpec>> = {
  [BackupJobKind.FULL]: { cadenceMinutes: DAY, cadence: 'at least daily', activeDeadlineSeconds: 6 * 3600, lockWaitSeconds: 1800, defaultSchedule: '0 1 * * *' },
  [BackupJobKind.INCREMENTAL]: { cadenceMinutes: HOUR, cadence: 'at least hourly', activeDeadlineSeconds: 55 * 60, lockWaitSeconds: 1200, defaultSchedule: '15 * * * *' },
  [BackupJobKind.PRUNE]: { cadenceMinutes: 7 * DAY, cadence: 'at least weekly', activeDeadlineSeconds: 4 * 3600, lockWaitSeconds: 2 * 3600, defaultSchedule: '30 4 * * 6' },
  [BackupJobKind.VERIFY]: { cadenceMinutes: 7 * DAY, cadence: 'at least weekly', activeDeadlineSeconds: 6 * 3600, lockWaitSeconds: 2 * 3600, defaultSchedule: '30 3 * * 0' },
  [BackupJobKind.RESTORE_TEST]: { cadenceMinutes: 31 * DAY, cadence: 'at least monthly', activeDeadlineSeconds: 12 * 3600, lockWaitSeconds: 3600, defaultSchedule: '30 5 2 * *' },
};

/** The CronJob of a store's backup job of `kind`: `<backup name>-<kind>`. */
export function backupCronJobName(backupName: string, kind: BackupJobKind): string {
  return `${backupName}-${kind}`;
}

/**
 * Seconds after which a CronJob of `kind` without a successful run is overdue: its cadence plus
 * the time a run may take, plus 10 minutes of scheduling slack.
 */
export function overdueSeconds(kind: BackupJobKind): number {
  const spec = BACKUP_JOB_KINDS[kind];
  return spec.cadenceMinutes * 60 + spec.activeDeadlineSeconds + 600;
}
