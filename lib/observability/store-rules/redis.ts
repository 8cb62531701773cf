import { RuleGroup } from '../rules';
import { DocumentedAlertRule } from '../rules/promql';
import { Severity } from '../severity';
import { StoreSeries } from './store-selector';

/** Hash slots of a Redis Cluster: all must be served for `cluster_state:ok`. */
export const REDIS_CLUSTER_SLOTS = 16384;

/** The Redis topologies the alerts know. */
export type RedisTopology =
  /** Cluster members in one job; each master should have `replicasPerMaster` replicas. */
  | {
    /** A Redis Cluster. */
    readonly kind: 'cluster';
    /** `job` of every cluster member's exporter (the members' workload name). */
    readonly job: string;
    /** Replicas each master should have connected; 0 leaves out RedisMasterWithoutReplica. */
    readonly replicasPerMaster: number;
  }
  /** A primary, and `replicas` replicas in `replicaJob` (none when 0). */
  | {
    /** One primary and its replicas. */
    readonly kind: 'primary-replica';
    /** `job` of the primary's exporter (the primary's workload name). */
    readonly primaryJob: string;
    /** `job` of the replicas' exporters; absent when the store runs no replicas. */
    readonly replicaJob?: string;
    /** Replicas that should be connected to the primary; 0 leaves out the replica alerts. */
    readonly replicas: number;
  };

/** What {@link redisRuleGroups} builds the Redis alerts from. */
export interface RedisRuleOptions {
  /** Builds the selectors, limited to the store's namespace (`StoreSeries.of(store)`). */
  readonly series: StoreSeries;
  /** Cluster or primary-replica, with the jobs and replica counts the alerts compare against. */
  readonly topology: RedisTopology;
}

/** Metrics of redis_exporter the Redis alerts read (the tests check a real exporter serves each). */
export const REDIS_ALERT_METRICS = ['redis_up', 'redis_cluster_state', 'redis_cluster_slots_ok', 'redis_connected_slaves', 'redis_instance_info'] as const;

/**
 * The Redis store's alerts, from redis_exporter beside each server: a server down (the exporter's
 * `redis_up`), a cluster that is not ok or serves fewer than all slots (seen by any member), and a
 * master or primary with fewer replicas connected than configured.
 */
export function redisRuleGroups(options: RedisRuleOptions): RuleGroup[] {
  const { series: s, topology: t } = options;
  const down = (alert: string, job: string, severity: Severity, what: string): DocumentedAlertRule => ({
    alert,
    expr: s.downExpr('redis_up', job, '2m'),
    forDuration: '2m',
    severity,
    summary: `${what} does not answer its exporter`,
    description: `redis_exporter beside ${what[0].toLowerCase()}${what.slice(1)} cannot reach it (redis_up is 0), or no exporter of ${job} has been scraped for 2m. Check the pod's redis container (redis-probe.sh readiness says why).`,
    threshold: 'redis_up == 0, or no series for 2m',
    expressionSummary: `redis_up of ${what[0].toLowerCase()}${what.slice(1)}'s exporter, and its presence`,
  });
  const rules: DocumentedAlertRule[] = [];
  if (t.kind === 'cluster') {
    rules.push(
      down('RedisDown', t.job, Severity.P1, 'A Redis cluster member'),
      {
        alert: 'RedisClusterNotOk',
        expr: `${s.select('redis_cluster_state', [t.job])} == 0\nor ${s.select('redis_cluster_slots_ok', [t.job])} < ${REDIS_CLUSTER_SLOTS}`,
        forDuration: '1m',
        severity: Severity.P1,
        summary: 'Redis cluster member {{ $labels.instance }} sees the cluster down or slots not served',
        description: 'CLUSTER INFO on a member says cluster_state:fail, or fewer than 16384 slots are ok: the cluster refuses commands for those slots (cluster-require-full-coverage). A master is down without a replica to take over, or the cluster is half formed. Read the redis-cluster-bootstrap Job\'s log: it repairs what it can prove and names the command otherwise.',
        threshold: `cluster_state fail, or fewer than ${REDIS_CLUSTER_SLOTS} slots ok`,
        expressionSummary: "redis_cluster_state and redis_cluster_slots_ok per member (CLUSTER INFO)",
      },
    );
    if (t.replicasPerMaster > 0) {
      rules.push({
        alert: 'RedisMasterWithoutReplica',
        expr: `${s.select('redis_connected_slaves', [t.job])} < ${t.replicasPerMaster}\nand on (namespace, job, instance) ${s.select('redis_instance_info', [t.job], 'role="master"')}`,
        forDuration: '5m',
        severity: Severity.P2,
        summary: 'Redis master {{ $labels.instance }} has {{ $value }} replicas connected',
        description: `A master has fewer than ${t.replicasPerMaster} replica(s) connected: losing it now loses its slots' keys and takes the cluster down. A replica pod is down or syncing; the bootstrap Job re-adds a replaced member.`,
        threshold: `fewer than ${t.replicasPerMaster} replica(s) connected to a master`,
        expressionSummary: "redis_connected_slaves of each member whose role is master",
      });
    }
  } else {
    rules.push(down('RedisPrimaryDown', t.primaryJob, Severity.P1, 'The Redis primary'));
    if (t.replicas > 0 && t.replicaJob) {
      rules.push(
        down('RedisReplicaDown', t.replicaJob, Severity.P2, 'A Redis replica'),
        {
          alert: 'RedisReplicaMissing',
          expr: `${s.select('redis_connected_slaves', [t.primaryJob])} < ${t.replicas}`,
          forDuration: '5m',
          severity: Severity.P2,
          summary: 'The Redis primary has {{ $value }} replicas connected',
          description: `Fewer than ${t.replicas} replica(s) replicate from the primary: redis-read has fewer servers, and a lost primary volume would lose the data. Check the replica pods.`,
          threshold: `fewer than ${t.replicas} replica(s) connected`,
          expressionSummary: "redis_connected_slaves of the primary",
        },
      );
    }
  }
  return [{ name: 'redis', rules }];
}
