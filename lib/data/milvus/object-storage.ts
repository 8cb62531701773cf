import { Construct } from 'constructs';
import { validateResources } from '../../resources';
import { SecretKeyRef } from '../../secret-ref';
import { Validator } from '../../validation';
import { NetworkPeer, Workload } from '../../workload';
import { validateStorage } from '../storage';
import { DEFAULT_MINIO_IMAGE, DEFAULT_MINIO_RESOURCES } from './defaults';
import { MilvusObjectStorageSettings } from './milvus-config';
import { MilvusMinio } from './minio';
import { ExternalObjectStorageOptions, MinioOptions, ObjectStorageOptions } from './options';

/** Object storage as Milvus sees it, whichever kind it is. */
export interface ResolvedObjectStorage {
  /** Address, port, bucket, SSL and region, as rendered into `user.yaml`'s `minio` section. */
  readonly settings: MilvusObjectStorageSettings;
  /** Access key id, given to every Milvus pod as `MINIO_ACCESS_KEY_ID`. */
  readonly accessKeySecret: SecretKeyRef;
  /** Secret access key, given to every Milvus pod as `MINIO_SECRET_ACCESS_KEY`. */
  readonly secretKeySecret: SecretKeyRef;
  /** The MinIO run here; undefined for an external bucket. */
  readonly minio?: MilvusMinio;
  /** Buckets of the MinIO run here that hold the application's files (backed up daily). */
  readonly fileBuckets: readonly string[];
  /** Opens the NetworkPolicies from a Milvus workload to the storage. */
  connect(workload: Workload): void;
}

// S3 bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ENDPOINT = /^([^:/\s]+)(?::(\d{1,5}))?$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const REGION = /^[a-z0-9-]+$/;

/**
 * Checks `objectStorage` (its `minio` or `external` part; that exactly one is given was checked
 * before) and creates the MinIO workload when there is one.
 */
export function resolveObjectStorage(scope: Construct, v: Validator, options: ObjectStorageOptions, namePrefix: string): ResolvedObjectStorage {
  return options.minio
    ? inClusterMinio(scope, v.nested('objectStorage.minio'), options.minio, `${namePrefix}-minio`)
    : externalBucket(v.nested('objectStorage.external'), options.external as ExternalObjectStorageOptions);
}

function inClusterMinio(scope: Construct, v: Validator, options: MinioOptions, name: string): ResolvedObjectStorage {
  v.secretKeyRef('accessKeySecret', options.accessKeySecret);
  v.secretKeyRef('secretKeySecret', options.secretKeySecret);
  const replicas = v.integer('replicas', options.replicas ?? 1, 1, 16);
  if (replicas > 1 && replicas < 4) {
    v.fail('replicas', '1 (a single drive) or 4 to 16 (distributed: erasure coding needs at least 4 drives)', replicas);
  }
  const storage = options.storage ?? { size: '100Gi' };
  validateStorage(v, 'storage', storage);
  const resources = options.resources ?? DEFAULT_MINIO_RESOURCES;
  validateResources(v, 'resources', resources);
  const bucket = options.bucket ?? 'milvus-bucket';
  if (typeof bucket !== 'string' || !BUCKET.test(bucket)) v.fail('bucket', 'an S3 bucket name (3-63 lower-case letters, digits, \'.\' and \'-\')', bucket);
  const image = v.pinnedImage('image', options.image ?? DEFAULT_MINIO_IMAGE);
  const fileBuckets = options.fileBuckets ?? [];
  if (!Array.isArray(fileBuckets)) v.fail('fileBuckets', 'a list of S3 bucket names', fileBuckets);
  fileBuckets.forEach((b, i) => {
    if (typeof b !== 'string' || !BUCKET.test(b)) v.fail(`fileBuckets[${i}]`, 'an S3 bucket name (3-63 lower-case letters, digits, \'.\' and \'-\')', b);
    else if (b === bucket) v.fail(`fileBuckets[${i}]`, `a bucket of the application's files, not Milvus' own bucket (backed up through milvus-backup)`, b);
    else if (fileBuckets.indexOf(b) !== i) v.fail(`fileBuckets[${i}]`, 'a bucket named once', b);
  });

  const minio = new MilvusMinio(scope, 'Minio', {
    name,
    image,
    replicas,
    storage,
    resources,
    accessKeySecret: options.accessKeySecret,
    secretKeySecret: options.secretKeySecret,
  });
  return {
    settings: { address: minio.endpoint.host, port: minio.endpoint.port, bucket, useSSL: false },
    accessKeySecret: options.accessKeySecret,
    secretKeySecret: options.secretKeySecret,
    minio,
    fileBuckets,
    connect: (workload) => { workload.connectTo(minio.endpoint); },
  };
}

function externalBucket(v: Validator, options: ExternalObjectStorageOptions): ResolvedObjectStorage {
  const useSSL = options.useSSL ?? true;
  if (typeof useSSL !== 'boolean') v.fail('useSSL', 'true or false', useSSL);
  const match = typeof options.endpoint === 'string' ? ENDPOINT.exec(options.endpoint) : null;
  if (!match) v.fail('endpoint', 'a host name with an optional port, such as s3.eu-central-1.amazonaws.com or minio.example.com:9000', options.endpoint);
  const host = v.dnsSubdomain('endpoint', match[1]);
  const port = match[2] === undefined ? (useSSL ? 443 : 80) : Number(match[2]);
  if (port < 1 || port > 65535) v.fail('endpoint', 'a port between 1 and 65535', options.endpoint);
  if (typeof options.bucket !== 'string' || !BUCKET.test(options.bucket)) {
    v.fail('bucket', 'an S3 bucket name (3-63 lower-case letters, digits, \'.\' and \'-\')', options.bucket);
  }
  v.secretKeyRef('accessKeySecret', options.accessKeySecret);
  v.secretKeyRef('secretKeySecret', options.secretKeySecret);
  if (options.region !== undefined && (typeof options.region !== 'string' || !REGION.test(options.region))) {
    v.fail('region', 'a region name such as eu-central-1', options.region);
  }
  const cidr = options.egressCidr ?? '0.0.0.0/0';
  if (!isCidr(cidr)) v.fail('egressCidr', 'an IPv4 CIDR such as 10.20.0.0/16', cidr);

  return {
    settings: { address: host, port, bucket: options.bucket, useSSL, region: options.region },
    accessKeySecret: options.accessKeySecret,
    secretKeySecret: options.secretKeySecret,
    fileBuckets: [],
    connect: (workload) => workload.allowEgressTo(NetworkPeer.cidr(cidr), port),
  };
}

function isCidr(value: unknown): boolean {
  const match = typeof value === 'string' ? CIDR.exec(value) : null;
  if (!match) return false;
  const octets = match.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && Number(match[5]) <= 32;
}
