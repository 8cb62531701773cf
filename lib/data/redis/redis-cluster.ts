import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BackupRepository, StoreBackup } from '../../backup';
import { addRedisBackup } from './redis-backup';
import { AlertRules } from '../../observability/alert-rules';
import { redisRuleGroups } from '../../observability/store-rules/redis';
import { StoreSeries } from '../../observability/store-rules/store-selector';
import { Validator } from '../../validation';
import { ServiceEndpoint } from '../../workload';
import { RedisClusterBootstrap } from './redis-cluster-bootstrap';
import { checksumOf, redisConfigFiles, RedisServerOptions, resolveRedisSettings } from './redis-settings';
import { RedisServers } from './redis-servers';

/** Props of {@link RedisCluster}: the server options every member shares, and the cluster's shape. */
export interface RedisClusterProps extends RedisServerOptions {
  /**
   * Masters: the hash slots are split among them. Redis Cluster needs at least 3.
   * @default 3
   */
  readonly masters?: number;
  /**
   * Replicas of each master, promoted by the cluster when their master fails, also after a full
   * restart in which the master does not come back (`cluster-replica-validity-factor 0`); 0 in
   * development means no failover: a lost master's slots are given to its pod when it comes back
   * empty, and their keys are lost.
   * @default 1
   */
  readonly replicasPerMaster?: number;
}

/**
 * Redis 7 in cluster mode (R12, logistics): one StatefulSet of `masters x (1 + replicasPerMaster)`
 * members with AOF + RDB persistence on retained volumes (R14), a headless Service for the members'
 * stable names, the client Service `<name>` on 6379, and a bootstrap Job that forms the cluster.
 *
 * Addresses: members gossip their pod IPs and announce their pod DNS names
 * (`<name>-<i>.<name>-headless.<namespace>.svc`) to clients, so MOVED redirects stay valid across
 * restarts; at each start a member rewrites the addresses in its nodes.conf from those names, so a
 * cluster whose pods all came back with new IPs finds itself again.
 *
 * Scaling: raising `replicasPerMaster` adds empty members that the bootstrap Job joins as replicas.
 * Raising `masters` needs resharding, which the Job refuses to guess (it fails and names the
 * redis-cli commands); lowering either removes the highest pod ordinals, which may be masters, so
 * move their slots or fail them over first.
 */
export class RedisCluster extends Construct {
  /** Where clients connect (any member: a cluster client follows the redirects). */
  public readonly endpoint: ServiceEndpoint;
  /** The members' StatefulSet, headless Service and client Service. */
  public readonly members: RedisServers;
  /** The Job that forms the cluster. */
  public readonly bootstrap: RedisClusterBootstrap;
  /** ConfigMap `<name>-config`: redis.conf (cluster mode), the start and probe scripts and cluster-bootstrap.sh. */
  public readonly configMap: k8s.KubeConfigMap;
  /** Masters the hash slots are split among: 3 or more. */
  public readonly masters: number;
  /** Replicas of each master: 0 or more. */
  public readonly replicasPerMaster: number;
  /** Pods of the members' StatefulSet: `masters x (1 + replicasPerMaster)`. */
  public readonly memberCount: number;
  /** The store's alerts (member down, cluster not ok, master without replica), from redis_exporter beside each member. */
  public readonly alertRules: AlertRules;
  /** The store's backups: undefined where the environment has no backup settings. */
  public readonly backup?: StoreBackup;

  constructor(scope: Construct, id: string, props: RedisClusterProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    // `<name>-cluster-bootstrap` must fit the 52 characters of a workload name.
    const settings = resolveRedisSettings(v, props, 34);
    this.masters = v.integer('masters', props.masters ?? 3, 3);
    this.replicasPerMaster = v.integer('replicasPerMaster', props.replicasPerMaster ?? 1, 0);
    this.memberCount = this.masters * (1 + this.replicasPerMaster);

    const files = redisConfigFiles(settings, { cluster: true });
    const configMapName = `${settings.name}-config`;
    this.members = new RedisServers(this, 'Members', {
      settings,
      name: settings.name,
      serviceName: settings.name,
      replicas: this.memberCount,
      role: { kind: 'cluster-member' },
      configMapName,
      configChecksum: checksumOf(files),
    });
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: { name: configMapName, labels: { ...this.members.labels.labels } },
      data: files,
    });
    this.bootstrap = new RedisClusterBootstrap(this, 'Bootstrap', {
      settings,
      name: `${settings.name}-cluster-bootstrap`,
      members: this.members,
      memberCount: this.memberCount,
      replicasPerMaster: this.replicasPerMaster,
      configMapName,
    });
    this.endpoint = this.members.endpoint;
    const repository = BackupRepository.of(this);
    if (repository) {
      // Every member's volume is restored: a replica gets its master's data, so whichever wins holds it.
      this.backup = addRedisBackup({
        repository, settings, servers: this.members, podCount: this.memberCount, restoredPods: this.memberCount, backup: props.backup, configPath: id,
      });
    }
    this.alertRules = this.members.addAlertRules(redisRuleGroups({
      series: StoreSeries.of(this),
      topology: { kind: 'cluster', job: this.members.name, replicasPerMaster: this.replicasPerMaster },
    }), { name: `${settings.name}-rules` });
  }
}
