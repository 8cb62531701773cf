import { RuleGroup } from '../rules';
import { DocumentedAlertRule } from '../rules/promql';
import { Severity } from '../severity';
import { StoreSeries } from './store-selector';

/** Thresholds of the MySQL alerts (`mysql.alerts` in the configuration). */
export interface MySqlAlertOptions {
  /**
   * Seconds a replica may apply behind the primary (`Seconds_Behind_Master`) before it alerts.
   * @default 300
   */
  readonly replicationLagSeconds?: number;
}

/** Seconds behind the primary at which a replica alerts (MysqlReplicationLagging) unless configured. */
export const DEFAULT_MYSQL_REPLICATION_LAG_SECONDS = 300;

/** What {@link mysqlRuleGroups} builds the MySQL alerts from. */
export interface MySqlRuleOptions {
  /** Builds the selectors, limited to the store's namespace (`StoreSeries.of(store)`). */
  readonly series: StoreSeries;
  /** `job` of the primary's exporter (the primary's workload name). */
  readonly primaryJob: string;
  /** `job` of the replicas' exporters. */
  readonly replicaJob: string;
  /** Seconds a replica may be behind the primary (`Seconds_Behind_Master`) before MysqlReplicationLagging fires. */
  readonly replicationLagSeconds: number;
}

/** Metrics of mysqld_exporter the MySQL alerts read (the tests check a real exporter serves each). */
export const MYSQL_ALERT_METRICS = [
  'mysql_up',
  'mysql_slave_status_slave_io_running',
  'mysql_slave_status_slave_sql_running',
  'mysql_slave_status_seconds_behind_master',
] as const;

/**
 * The MySQL store's alerts, from its exporters (mysqld_exporter beside each server): the server
 * down (the exporter's `mysql_up`, not Prometheus' `up`, which only says the exporter answers),
 * replication stopped or never set up on a replica, and replication lag.
 */
export function mysqlRuleGroups(options: MySqlRuleOptions): RuleGroup[] {
  const { series: s, replicaJob } = options;
  const io = s.select('mysql_slave_status_slave_io_running', [replicaJob]);
  const sql = s.select('mysql_slave_status_slave_sql_running', [replicaJob]);
  const rules: DocumentedAlertRule[] = [
    {
      alert: 'MysqlPrimaryDown',
      expr: s.downExpr('mysql_up', options.primaryJob, '2m'),
      forDuration: '2m',
      severity: Severity.P0,
      summary: 'The MySQL primary does not answer its exporter: writes fail',
      description: 'mysqld_exporter beside the primary cannot log in to it (mysql_up is 0), or no exporter of the primary has been scraped for 2m. Every write of the application fails. Check the primary pod\'s mysql container (kubectl logs -c mysql), its volume and its events.',
      threshold: 'mysql_up == 0, or no series for 2m',
      expressionSummary: "mysql_up of the primary's exporter, and its presence",
    },
    {
      alert: 'MysqlReplicaDown',
      expr: s.downExpr('mysql_up', replicaJob, '2m'),
      forDuration: '2m',
      severity: Severity.P1,
      summary: 'A MySQL replica does not answer its exporter',
      description: 'mysqld_exporter beside a replica cannot log in to it (mysql_up is 0), or no replica exporter has been scraped for 2m. Reads move to the other replicas, if any. Check the replica pod\'s mysql container.',
      threshold: 'mysql_up == 0, or no series for 2m',
      expressionSummary: "mysql_up of each replica's exporter, and their presence",
    },
    {
      alert: 'MysqlReplicationStopped',
      // A replica whose server answers but shows no replication at all (reset, never set up) has no slave_status series.
      expr: `${io} == 0\nor ${sql} == 0\nor (${s.select('mysql_up', [replicaJob])} == 1 unless on (namespace, job, instance) ${io})`,
      forDuration: '2m',
      severity: Severity.P1,
      summary: 'Replication is stopped on MySQL replica {{ $labels.instance }}',
      description: 'The replica\'s I/O or SQL thread does not run (SHOW REPLICA STATUS), or it has no replication configured. It is out of mysql-read and falls behind without bound. Read Last_IO_Error and Last_SQL_Error on the replica; a purged binary log (1236) is repaired by restarting the pod (replication.sh copies again).',
      threshold: 'an I/O or SQL thread not running, or no replication',
      expressionSummary: "mysql_slave_status_slave_io_running / _sql_running per replica, and replicas without replication",
    },
    {
      alert: 'MysqlReplicationLagging',
      expr: `${s.select('mysql_slave_status_seconds_behind_master', [replicaJob])} > ${options.replicationLagSeconds}`,
      forDuration: '5m',
      severity: Severity.P2,
      summary: 'MySQL replica {{ $labels.instance }} is {{ $value }}s behind the primary',
      description: 'The replica applies the primary\'s changes late: reads from mysql-read return old data. Look for long transactions or a write burst on the primary, and at the replica\'s CPU and disk.',
      threshold: `> ${options.replicationLagSeconds} s behind the primary`,
      expressionSummary: "mysql_slave_status_seconds_behind_master per replica",
    },
  ];
  return [{ name: 'mysql', rules }];
}
