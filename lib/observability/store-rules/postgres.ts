import { RuleGroup } from '../rules';
import { DocumentedAlertRule } from '../rules/promql';
import { Severity } from '../severity';
import { StoreSeries } from './store-selector';

/** Thresholds of the PostgreSQL alerts. */
export interface PostgresAlertOptions {
  /**
   * Bytes of WAL a standby may have left to replay (`pg_stat_replication` replay lag on the
   * primary) before it alerts.
   * @default 268435456 (256 MiB)
   */
  readonly replicationLagBytes?: number;
}

/** Bytes of WAL left to replay at which a standby alerts (PostgresReplicationLagging) unless configured: 256 MiB. */
export const DEFAULT_POSTGRES_REPLICATION_LAG_BYTES = 256 * 1024 * 1024;

/** What {@link postgresRuleGroups} builds the PostgreSQL alerts from. */
export interface PostgresRuleOptions {
  /** Builds the selectors, limited to the store's namespace (`StoreSeries.of(store)`). */
  readonly series: StoreSeries;
  /** `job` of the primary's exporter (the primary's workload name). */
  readonly primaryJob: string;
  /** `job` of the standbys' exporters, and how many standbys must stream; none without standbys. */
  readonly standby?: {
    /** `job` of the standbys' exporters (the standbys' workload name). */
    readonly job: string;
    /** Standbys the store runs: fewer streaming on the primary fires PostgresStandbyNotStreaming. */
    readonly replicas: number;
  };
  /** Bytes of WAL a standby may have left to replay (seen on the primary) before PostgresReplicationLagging fires. */
  readonly replicationLagBytes: number;
}

/** Metrics of postgres_exporter the PostgreSQL alerts read (the tests check a real exporter serves each). */
export const POSTGRES_ALERT_METRICS = ['pg_up', 'pg_stat_replication_pg_wal_lsn_diff'] as const;

/**
 * The PostgreSQL store's alerts, from postgres_exporter beside each server: a server down (the
 * exporter's `pg_up`), and with standbys: fewer standbys streaming than there are, seen where it
 * matters, on the primary (`pg_stat_replication`, state `streaming`), and replay lag in bytes.
 */
export function postgresRuleGroups(options: PostgresRuleOptions): RuleGroup[] {
  const { series: s, primaryJob } = options;
  const rules: DocumentedAlertRule[] = [{
    alert: 'PostgresPrimaryDown',
    expr: s.downExpr('pg_up', primaryJob, '2m'),
    forDuration: '2m',
    severity: Severity.P0,
    summary: 'The PostgreSQL primary does not answer its exporter: writes fail',
    description: 'postgres_exporter beside the primary cannot log in to it (pg_up is 0), or no exporter of the primary has been scraped for 2m. Every write of the application fails. Check the primary pod\'s postgres container and its init container (a fenced start names the fix).',
    threshold: 'pg_up == 0, or no series for 2m',
    expressionSummary: "pg_up of the primary's exporter, and its presence",
  }];
  if (options.standby) {
    const streaming = s.select('pg_stat_replication_pg_wal_lsn_diff', [primaryJob], 'state="streaming"');
    rules.push(
      {
        alert: 'PostgresStandbyDown',
        expr: s.downExpr('pg_up', options.standby.job, '2m'),
        forDuration: '2m',
        severity: Severity.P1,
        summary: 'A PostgreSQL standby does not answer its exporter',
        description: 'postgres_exporter beside a standby cannot log in to it (pg_up is 0), or no standby exporter has been scraped for 2m. postgres-read has fewer or no servers, and a switchover has no target.',
        threshold: 'pg_up == 0, or no series for 2m',
        expressionSummary: "pg_up of each standby's exporter, and their presence",
      },
      {
        alert: 'PostgresStandbyNotStreaming',
        expr: `count by (namespace, job) (${streaming}) < ${options.standby.replicas}\n`
          + `or (max by (namespace, job) (${s.select('pg_up', [primaryJob])}) == 1 unless on (namespace, job) ${streaming})`,
        forDuration: '2m',
        severity: Severity.P1,
        summary: `Fewer than ${options.standby.replicas} PostgreSQL standbys stream from the primary`,
        description: 'The primary\'s pg_stat_replication shows fewer standbys in state streaming than the store runs: a standby is down, catching up from the archive, or lost its slot. postgres-read serves stale or no data and a switchover would lose writes. Check the standby pod (probe.sh says why it is not ready).',
        threshold: `fewer than ${options.standby.replicas} standby streaming`,
        expressionSummary: "standbys in state streaming in the primary's pg_stat_replication",
      },
      {
        alert: 'PostgresReplicationLagging',
        expr: `${s.select('pg_stat_replication_pg_wal_lsn_diff', [primaryJob])} > ${options.replicationLagBytes}`,
        forDuration: '5m',
        severity: Severity.P2,
        summary: 'A PostgreSQL standby has {{ $value | humanize1024 }}B of WAL left to replay',
        description: 'A standby replays the primary\'s WAL late: reads from postgres-read return old data, and a switchover now would wait for (or lose) that WAL. Look for long queries on the standby holding replay back, and at its disk.',
        threshold: `> ${options.replicationLagBytes} bytes of WAL behind`,
        expressionSummary: "WAL bytes left to replay per standby (pg_stat_replication_pg_wal_lsn_diff on the primary)",
      },
    );
  }
  return [{ name: 'postgres', rules }];
}
