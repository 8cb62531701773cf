import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { MILVUS_PORTS } from './ports';

/** How Milvus reaches its object storage (credentials are not here: they come from Secrets). */
export interface MilvusObjectStorageSettings {
  /** Host name: the MinIO Service, or the external endpoint's host. */
  readonly address: string;
  /** S3 API port: 9000 for the MinIO run here; an external endpoint's port, or 443 (SSL) / 80 without one. */
  readonly port: number;
  /** Bucket of Milvus' segments and indexes (`minio.bucketName`); Milvus writes under its `files/` prefix. */
  readonly bucket: string;
  /** HTTPS to the S3 API: false for the MinIO run here, the external bucket's `useSSL` (true by default). */
  readonly useSSL: boolean;
  /**
   * Region of the bucket (`minio.region`): the external bucket's `region`.
   * @default - none
   */
  readonly region?: string;
}

/** What `user.yaml` says: the topology and where etcd, object storage and Kafka are. */
export interface MilvusSettings {
  /** `standalone` runs every role in one process with RocksMQ; `cluster` uses Kafka. */
  readonly mode: 'standalone' | 'cluster';
  /** `host:port` of etcd. */
  readonly etcdEndpoints: readonly string[];
  /** Where segments and indexes live (`minio.*`); the credentials come from Secrets, not from here. */
  readonly objectStorage: MilvusObjectStorageSettings;
  /** `host:port` Kafka bootstrap address; required for a cluster. @default - none */
  readonly kafkaBrokerList?: string;
  /** Coordinators run active-standby (more than one mixcoord pod). @default false */
  readonly activeStandby?: boolean;
}

type YamlValue = string | number | boolean | readonly string[] | YamlMap;
interface YamlMap { readonly [key: string]: YamlValue | undefined }

/** Where Milvus keeps local files: RocksMQ (standalone) and its segment and index cache. */
export const MILVUS_DATA_DIR = '/var/lib/milvus';

/**
 * The `user.yaml` Milvus 2.3 merges over the `milvus.yaml` in its image: where etcd, object
 * storage and the message queue are, and the ports the NetworkPolicies open. Milvus reads
 * environment variables over both files, which is how the object-storage credentials arrive
 * (`MINIO_ACCESS_KEY_ID`, `MINIO_SECRET_ACCESS_KEY` from Secrets): no secret is ever in this file.
 */
export function renderUserYaml(settings: MilvusSettings): string {
  if (settings.mode === 'cluster' && !settings.kafkaBrokerList) throw new Error('a Milvus cluster needs kafkaBrokerList');
  const standby = settings.activeStandby ?? false;
  const s3 = settings.objectStorage;
  const config: YamlMap = {
    etcd: { endpoints: settings.etcdEndpoints, rootPath: 'by-dev' },
    minio: {
      address: s3.address,
      port: s3.port,
      useSSL: s3.useSSL,
      bucketName: s3.bucket,
      rootPath: 'files',
      useIAM: false,
      region: s3.region,
    },
    ...(settings.mode === 'standalone'
      ? { mq: { type: 'rocksmq' }, rocksmq: { path: `${MILVUS_DATA_DIR}/rdb_data` } }
      // With the default type a cluster would pick Pulsar, which milvus.yaml configures at localhost.
      : { mq: { type: 'kafka' }, kafka: { brokerList: settings.kafkaBrokerList, securityProtocol: 'PLAINTEXT' } }),
    localStorage: { path: `${MILVUS_DATA_DIR}/data/` },
    rootCoord: { port: MILVUS_PORTS.rootCoord, enableActiveStandby: standby },
    proxy: { port: MILVUS_PORTS.proxy, internalPort: MILVUS_PORTS.proxyInternal },
    queryCoord: { port: MILVUS_PORTS.queryCoord, enableActiveStandby: standby },
    queryNode: { port: MILVUS_PORTS.queryNode },
    // No port: 2.3's index coordinator serves through the data coordinator.
    indexCoord: { enableActiveStandby: standby },
    indexNode: { port: MILVUS_PORTS.indexNode },
    dataCoord: { port: MILVUS_PORTS.dataCoord, enableActiveStandby: standby },
    dataNode: { port: MILVUS_PORTS.dataNode },
    // Logs go to stdout only: the root file system is read-only and the cluster collects stdout.
    log: { level: 'info', file: { rootPath: '' }, format: 'text' },
  };
  return [
    '# Milvus 2.3 user.yaml, merged over the image\'s milvus.yaml.',
    '# Object-storage credentials come from MINIO_ACCESS_KEY_ID / MINIO_SECRET_ACCESS_KEY (Secrets).',
    ...yamlLines(config, 0),
    '',
  ].join('\n');
}

/** Block-style YAML with every string double-quoted (a JSON string is a valid YAML scalar). */
function yamlLines(map: YamlMap, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      lines.push(`${pad}${key}:`, ...value.map((item) => `${pad}  - ${JSON.stringify(item)}`));
    } else if (typeof value === 'object') {
      lines.push(`${pad}${key}:`, ...yamlLines(value as YamlMap, indent + 2));
    } else {
      lines.push(`${pad}${key}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
    }
  }
  return lines;
}

/** The `user.yaml` ConfigMap of one Milvus. */
export interface MilvusConfigProps {
  /** Name of the ConfigMap. */
  readonly name: string;
  /** Labels of the ConfigMap (the Milvus constructs pass their standard labels, component `vector-database`). */
  readonly labels: Readonly<Record<string, string>>;
  /** Rendered into `user.yaml`; a cluster without `kafkaBrokerList` is refused. */
  readonly settings: MilvusSettings;
}

/** The ConfigMap with `user.yaml` that every Milvus pod mounts at `/milvus/configs/user.yaml`. */
export class MilvusConfig extends Construct {
  /** The ConfigMap, with the single key `user.yaml`. */
  public readonly configMap: k8s.KubeConfigMap;
  /** The rendered file. */
  public readonly userYaml: string;
  /** sha256 of `user.yaml`: a pod annotation, so that a change rolls every pod. */
  public readonly checksum: string;

  constructor(scope: Construct, id: string, props: MilvusConfigProps) {
    super(scope, id);
    this.userYaml = renderUserYaml(props.settings);
    this.checksum = createHash('sha256').update(this.userYaml).digest('hex');
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: { name: props.name, labels: { ...props.labels } },
      data: { 'user.yaml': this.userYaml },
    });
  }

  /** The pod volume holding the file. */
  public volume(): k8s.Volume {
    return { name: 'milvus-config', configMap: { name: this.configMap.name } };
  }

  /** The mount of `user.yaml` beside the image's `milvus.yaml` (a sub-path: the rest of the directory stays). */
  public mount(): k8s.VolumeMount {
    return { name: 'milvus-config', mountPath: '/milvus/configs/user.yaml', subPath: 'user.yaml', readOnly: true };
  }
}
