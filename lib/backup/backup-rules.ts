import { RuleGroup } from '../observability/rules';
import { DocumentedAlertRule, namespaceMatcher, selector } from '../observability/rules/promql';
import { Severity } from '../observability/severity';
import { BACKUP_JOB_KINDS, BackupJobKind, overdueSeconds } from './backup-jobs';

/**
 * The kube-state-metrics series the backup alerts read (kube-prometheus-stack scrapes them out of
 * the box). A backup reports where the alerting sees it by how its Job ends: a script exits non-zero
 * on any failure, so the Job fails; a success moves the CronJob's last successful time.
 */
export const BACKUP_METRICS = {
  /** Number of a Job's pods that failed (the Job failed when its backoffLimit ran out), labels `job_name`. */
  jobFailed: 'kube_job_status_failed',
  /** When a Job started (unix seconds), labels `job_name`. */
  jobStartTime: 'kube_job_status_start_time',
  /** A Job's owner, labels `job_name`, `owner_kind`, `owner_name` (the CronJob). */
  jobOwner: 'kube_job_owner',
  /** When a CronJob's last successful Job finished (unix seconds), label `cronjob`. */
  cronJobLastSuccess: 'kube_cronjob_status_last_successful_time',
  /** When a CronJob was created (unix seconds), label `cronjob`. */
  cronJobCreated: 'kube_cronjob_created',
} as const;

/** Name of the WAL shipper sidecar beside a PostgreSQL server. */
export const WAL_SHIPPER_CONTAINER = 'wal-shipper';

/**
 * postgres_exporter's count of failed archive_command runs (`pg_stat_archiver`), labels `pod`,
 * `job`: archive_command refuses new WAL while the shipper is failing, so it counts shipping failures.
 */
export const WAL_ARCHIVE_FAILURES_METRIC = 'pg_stat_archiver_failed_count';

/** `-<kind>`: the suffix of every backup CronJob of `kinds` (backupCronJobName). */
function cronJobPattern(kinds: readonly BackupJobKind[]): string {
  return `.+-(${kinds.join('|')})`;
}

/**
 * The latest Job of each backup CronJob of `kinds`, as `owner_name`/`job_name` series: a failure
 * alerts until a later run of the same CronJob succeeds, and an old failed Job kept in the history
 * does not.
 */
function latestJobFailed(ns: string, kinds: readonly BackupJobKind[]): string {
  const owner = selector(BACKUP_METRICS.jobOwner, ns, 'owner_kind="CronJob"', `owner_name=~"${cronJobPattern(kinds)}"`);
  const started = `${selector(BACKUP_METRICS.jobStartTime, ns)} * on (namespace, job_name) group_left (owner_name) ${owner}`;
  return `(${selector(BACKUP_METRICS.jobFailed, ns)} > 0) * on (namespace, job_name) group_left (owner_name) ${owner}
and on (namespace, job_name)
topk by (namespace, owner_name) (1, ${started})`;
}

/** A CronJob of `kind` without a successful run for longer than its cadence and run time allow. */
function overdue(ns: string, kind: BackupJobKind): string {
  const cronJob = `cronjob=~"${cronJobPattern([kind])}"`;
  const limit = overdueSeconds(kind);
  return `time() - ${selector(BACKUP_METRICS.cronJobLastSuccess, ns, cronJob)} > ${limit}
or (time() - ${selector(BACKUP_METRICS.cronJobCreated, ns, cronJob)} > ${limit}
  unless on (namespace, cronjob) ${selector(BACKUP_METRICS.cronJobLastSuccess, ns, cronJob)})`;
}

const hours = (seconds: number) => `${Math.round(seconds / 3600)}h`;

/**
 * An environment's backup alerts (R29), one set for every store's CronJobs in `namespace`: a
 * failed backup, archive or prune; a failed verify or restore test (the backups cannot be trusted);
 * and backups overdue (the RPO is at risk: also catches a CronJob that no longer runs at all).
 */
export function backupRuleGroups(namespace: string): RuleGroup[] {
  const ns = namespaceMatcher(namespace);
  const writing = [BackupJobKind.FULL, BackupJobKind.INCREMENTAL, BackupJobKind.PRUNE];
  const full = BACKUP_JOB_KINDS[BackupJobKind.FULL];
  const rules: DocumentedAlertRule[] = [
    {
      alert: 'BackupJobFailed',
      expr: latestJobFailed(ns, writing),
      forDuration: '5m',
      severity: Severity.P2,
      summary: 'Backup job {{ $labels.owner_name }} failed',
      description: 'The latest run of a backup, archive or prune CronJob failed (its script exits non-zero on any error: the store unreachable, the bucket refusing, a dump cut short). Nothing it wrote counts as a backup. Read the failed pod\'s log (kubectl logs job/<job>), fix the cause and start a run by hand (kubectl create job --from=cronjob/<cronjob> <name>).',
      threshold: 'the latest Job of the CronJob failed',
      expressionSummary: 'kube_job_status_failed of the newest Job of each backup, archive and prune CronJob',
    },
    {
      alert: 'BackupVerifyFailed',
      expr: latestJobFailed(ns, [BackupJobKind.VERIFY]),
      forDuration: '5m',
      severity: Severity.P1,
      summary: 'Backup verification {{ $labels.owner_name }} failed: the backups may not restore',
      description: 'The weekly check found the repository damaged, unreadable (password, credentials) or the latest backup incomplete. Until a verify passes, treat the backups as missing: read the log, repair (restic check / restic repair) or take a new full backup, and verify again.',
      threshold: 'the latest verify Job failed',
      expressionSummary: 'kube_job_status_failed of the newest Job of each verify CronJob',
    },
    {
      alert: 'RestoreTestFailed',
      expr: latestJobFailed(ns, [BackupJobKind.RESTORE_TEST]),
      forDuration: '5m',
      severity: Severity.P1,
      summary: 'Restore test {{ $labels.owner_name }} failed: the latest backup did not restore correctly',
      description: 'The monthly restore of the latest backup into a scratch instance failed or its data differed from the counts recorded at backup time. The backups cannot be relied on for recovery until a restore test passes.',
      threshold: 'the latest restore-test Job failed',
      expressionSummary: 'kube_job_status_failed of the newest Job of each restore-test CronJob',
    },
    {
      alert: 'BackupOverdue',
      expr: [BackupJobKind.FULL, BackupJobKind.INCREMENTAL].map((k) => overdue(ns, k)).join('\nor\n'),
      forDuration: '10m',
      severity: Severity.P1,
      summary: 'No successful {{ $labels.cronjob }} for longer than its schedule allows',
      description: `A full backup (${full.cadence}) or an hourly archive has not succeeded within its cadence plus its run time: the recovery point objective is at risk. Look for failed or stuck Jobs of the CronJob (suspended, missed starts, a run at its deadline).`,
      threshold: `full: ${hours(overdueSeconds(BackupJobKind.FULL))}, hourly: ${hours(overdueSeconds(BackupJobKind.INCREMENTAL))} since the last success`,
      expressionSummary: 'time since kube_cronjob_status_last_successful_time (or since creation when it never succeeded)',
    },
    {
      alert: 'BackupCheckOverdue',
      expr: [BackupJobKind.VERIFY, BackupJobKind.RESTORE_TEST, BackupJobKind.PRUNE].map((k) => overdue(ns, k)).join('\nor\n'),
      forDuration: '1h',
      severity: Severity.P2,
      summary: 'No successful {{ $labels.cronjob }} for longer than its schedule allows',
      description: 'A weekly verify or prune, or the monthly restore test, has not succeeded in time: backups go unproven, or the repository grows without bound.',
      threshold: `verify and prune: ${hours(overdueSeconds(BackupJobKind.VERIFY))}, restore test: ${hours(overdueSeconds(BackupJobKind.RESTORE_TEST))} since the last success`,
      expressionSummary: 'time since kube_cronjob_status_last_successful_time (or since creation)',
    },
  ];
  return [{ name: 'backups', rules }];
}

/**
 * The alert of a store that ships its WAL continuously from a sidecar (PostgreSQL): the shipper
 * retries and never exits for a failure (a restarting sidecar would take the primary out of its
 * Service), archive_command refuses new WAL once the spool has not been shipped for an hour, and
 * PostgreSQL counts those refusals.
 */
export function walShippingRuleGroups(namespace: string): RuleGroup[] {
  const ns = namespaceMatcher(namespace);
  const rules: DocumentedAlertRule[] = [
    {
      alert: 'WalShippingFailing',
      expr: `increase(${selector(WAL_ARCHIVE_FAILURES_METRIC, ns)}[15m]) > 0`,
      forDuration: '15m',
      severity: Severity.P1,
      summary: 'WAL of {{ $labels.pod }} has not been shipped off-site for over an hour: point-in-time recovery falls behind',
      description: 'archive_command refuses new WAL because the oldest file in the spool is older than its limit (an hour): the wal-shipper sidecar cannot upload to the bucket. Nothing is lost yet (the WAL waits in pg_wal and the spool on the data volume), but the recovery point stops advancing and the volume fills. Read kubectl logs <pod> -c wal-shipper (credentials, bucket reachable, repository lock) long before the volume alert fires.',
      threshold: 'archive_command failed within 15m, for 15m',
      expressionSummary: 'increase of pg_stat_archiver_failed_count (postgres_exporter)',
    },
  ];
  return [{ name: 'wal-shipping', rules }];
}
