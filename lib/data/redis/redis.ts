import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BackupRepository, StoreBackup } from '../../backup';
import { addRedisBackup } from './redis-backup';
import { AlertRules } from '../../observability/alert-rules';
import { redisRuleGroups } from '../../observability/store-rules/redis';
import { StoreSeries } from '../../observability/store-rules/store-selector';
import { Validator } from '../../validation';
import { ServiceEndpoint } from '../../workload';
import { checksumOf, redisConfigFiles, RedisServerOptions, resolveRedisSettings } from './redis-settings';
import { RedisServers } from './redis-servers';

/** Props of {@link Redis}: the server options the primary and its replicas share, and the number of replicas. */
export interface RedisProps extends RedisServerOptions {
  /**
   * Read replicas of the primary (`replicaof`), behind the Service `<name>-read`. 0 is a single
   * server. Replicas are not promoted automatically: the primary's volume is the data's home.
   * @default 0
   */
  readonly replicas?: number;
}

/**
 * Redis 7, single or primary/replica (R12, real estate): a primary StatefulSet behind the Service
 * `<name>`, and with `replicas > 0` a replica StatefulSet behind `<name>-read` replicating from the
 * primary Service. AOF + RDB persistence on retained volumes (R14), password from a Secret.
 */
export class Redis extends Construct {
  /** The primary: reads and writes. */
  public readonly endpoint: ServiceEndpoint;
  /** The replicas (reads only), when there are any. */
  public readonly readEndpoint?: ServiceEndpoint;
  /** StatefulSet `<name>` with one pod behind Service `<name>`: the data's home, backed up when backups are on. */
  public readonly primary: RedisServers;
  /** StatefulSet `<name>-replica` behind Service `<name>-read`; undefined when `replicas` is 0. */
  public readonly replicaSet?: RedisServers;
  /** ConfigMap `<name>-config`: redis.conf and the start and probe scripts, shared by primary and replicas. */
  public readonly configMap: k8s.KubeConfigMap;
  /** Read replicas: an integer from 0 to 10. */
  public readonly replicas: number;
  /** The store's alerts (primary or replica down, replica missing), from redis_exporter beside each server. */
  public readonly alertRules: AlertRules;
  /** The store's backups: undefined where the environment has no backup settings. */
  public readonly backup?: StoreBackup;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    // `<name>-replica` must fit the 52 characters of a workload name.
    const settings = resolveRedisSettings(v, props, 44);
    this.replicas = v.integer('replicas', props.replicas ?? 0, 0, 10);

    const files = redisConfigFiles(settings, { cluster: false });
    const configMapName = `${settings.name}-config`;
    const configChecksum = checksumOf(files);
    this.primary = new RedisServers(this, 'Primary', {
      settings,
      name: settings.name,
      serviceName: settings.name,
      replicas: 1,
      role: { kind: 'primary' },
      configMapName,
      configChecksum,
    });
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: { name: configMapName, labels: { ...this.primary.labels.labels } },
      data: files,
    });
    this.endpoint = this.primary.endpoint;

    if (this.replicas > 0) {
      this.replicaSet = new RedisServers(this, 'Replicas', {
        settings,
        name: `${settings.name}-replica`,
        serviceName: `${settings.name}-read`,
        replicas: this.replicas,
        role: { kind: 'replica', primary: this.primary.endpoint },
        configMapName,
        configChecksum,
      });
      this.readEndpoint = this.replicaSet.endpoint;
    }
    const repository = BackupRepository.of(this);
    if (repository) {
      // The primary holds the data; its replicas re-sync from it after a restore.
      this.backup = addRedisBackup({ repository, settings, servers: this.primary, podCount: 1, restoredPods: 1, backup: props.backup, configPath: id });
    }
    this.alertRules = this.primary.addAlertRules(redisRuleGroups({
      series: StoreSeries.of(this),
      topology: { kind: 'primary-replica', primaryJob: this.primary.name, replicaJob: this.replicaSet?.name, replicas: this.replicas },
    }), { name: `${settings.name}-rules` });
  }
}
