import { Construct } from 'constructs';
import { BackupRepository, StoreBackup } from '../../backup';
import { ResourceRequirements, validateResources } from '../../resources';
import { StandardLabels } from '../../labels';
import { AlertRules } from '../../observability/alert-rules';
import { milvusRuleGroups } from '../../observability/store-rules/milvus';
import { StoreSeries } from '../../observability/store-rules/store-selector';
import { Validator } from '../../validation';
import { ServiceEndpoint } from '../../workload';
import { StorageOptions, validateStorage } from '../storage';
import { DEFAULT_STANDALONE_RESOURCES, tagOf } from './defaults';
import { MilvusEtcd } from './etcd';
import { MilvusComponent, MilvusRole } from './milvus-component';
import { addMilvusBackup } from './milvus-backup';
import { MilvusConfig } from './milvus-config';
import { MilvusMinio } from './minio';
import { resolveObjectStorage } from './object-storage';
import { MilvusCommonProps, resolveCommon } from './options';

/** Props of {@link MilvusStandalone}: what it shares with a cluster, and the one Milvus pod's resources and volume. */
export interface MilvusStandaloneProps extends MilvusCommonProps {
  /**
   * CPU and memory requests and limits of the Milvus pod, which runs every role in one process.
   * @default requests 1 CPU / 4Gi, limits 4 CPU / 8Gi
   */
  readonly resources?: ResourceRequirements;
  /**
   * Volume at /var/lib/milvus: RocksMQ (the write-ahead log of recent inserts) and the local
   * segment cache.
   * @default { size: '50Gi' }
   */
  readonly storage?: StorageOptions;
}

/**
 * Milvus 2.3 standalone as milvus-helm installs it with `cluster.enabled=false`: one
 * `milvus run standalone` pod with RocksMQ on a persistent volume, etcd (1 member unless told
 * otherwise) for metadata, and object storage for segments and indexes (a single-drive MinIO, or
 * an external bucket). Clients connect to Service `<name>` (default `milvus`) on 19530.
 */
export class MilvusStandalone extends Construct {
  /** `milvus:19530`. */
  public readonly endpoint: ServiceEndpoint;
  /** The Milvus StatefulSet (one pod). */
  public readonly milvus: MilvusComponent;
  /** The metadata store `<name>-etcd` (1 member unless `etcdReplicas` says otherwise). */
  public readonly etcd: MilvusEtcd;
  /** The MinIO run here; undefined with an external bucket. */
  public readonly minio?: MilvusMinio;
  /**
   * Milvus' collections (milvus-backup), attached to the MinIO run here: undefined where the
   * environment has no backup settings, or the bucket is external.
   */
  public readonly backup?: StoreBackup;
  /** ConfigMap `<name>-config` with the standalone's `user.yaml` (RocksMQ; a change rolls the pod). */
  public readonly config: MilvusConfig;
  /** The store's alerts (Milvus unavailable, etcd without leader, MinIO nodes offline). */
  public readonly alertRules: AlertRules;

  constructor(scope: Construct, id: string, props: MilvusStandaloneProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    const common = resolveCommon(v, props, 1);
    const resources = props.resources ?? DEFAULT_STANDALONE_RESOURCES;
    validateResources(v, 'resources', resources);
    const storage = props.storage ?? { size: '50Gi' };
    validateStorage(v, 'storage', storage);

    this.etcd = new MilvusEtcd(this, 'Etcd', { name: `${common.name}-etcd`, ...common.etcd });
    const objectStorage = resolveObjectStorage(this, v, props.objectStorage, common.name);
    this.minio = objectStorage.minio;

    this.config = new MilvusConfig(this, 'Config', {
      name: `${common.name}-config`,
      labels: new StandardLabels(this, { name: common.name, component: 'vector-database', version: tagOf(common.image) }).labels,
      settings: {
        mode: 'standalone',
        etcdEndpoints: [`${this.etcd.endpoint.host}:${this.etcd.endpoint.port}`],
        objectStorage: objectStorage.settings,
      },
    });

    this.milvus = new MilvusComponent(this, 'Standalone', {
      name: common.name,
      role: MilvusRole.STANDALONE,
      image: common.image,
      // RocksMQ is a local log: one writer only.
      replicas: 1,
      resources,
      config: this.config,
      accessKeySecret: objectStorage.accessKeySecret,
      secretKeySecret: objectStorage.secretKeySecret,
      storage,
    });
    this.milvus.connectTo(this.etcd.endpoint);
    objectStorage.connect(this.milvus);
    this.endpoint = this.milvus.clientEndpoint as ServiceEndpoint;
    const repository = BackupRepository.of(this);
    if (repository && objectStorage.minio) {
      this.backup = addMilvusBackup({
        repository, minio: objectStorage.minio, bucket: objectStorage.settings.bucket, milvus: this.milvus, fileBuckets: objectStorage.fileBuckets,
        accessKeySecret: objectStorage.accessKeySecret, secretKeySecret: objectStorage.secretKeySecret,
      });
    }
    this.alertRules = this.milvus.addAlertRules(milvusRuleGroups({
      series: StoreSeries.of(this),
      accessJob: this.milvus.name,
      etcdJob: this.etcd.name,
      minioJob: this.minio?.name,
    }), { name: `${common.name}-rules` });
  }
}
