import { ResourceRequirements, validateResources } from '../../resources';
import { SecretKeyRef } from '../../secret-ref';
import { parseQuantity } from '../../quantity';
import { Validator } from '../../validation';
import { StorageOptions, validateStorage } from '../storage';
import { DEFAULT_ETCD_IMAGE, DEFAULT_ETCD_RESOURCES, DEFAULT_MILVUS_IMAGE } from './defaults';

/** MinIO run next to Milvus, as a StatefulSet with one volume per pod. */
export interface MinioOptions {
  /** Root user of MinIO, which Milvus also uses (`MINIO_ROOT_USER`, `MINIO_ACCESS_KEY_ID`). */
  readonly accessKeySecret: SecretKeyRef;
  /** Root password of MinIO (`MINIO_ROOT_PASSWORD`, `MINIO_SECRET_ACCESS_KEY`). */
  readonly secretKeySecret: SecretKeyRef;
  /**
   * Pods: 1 runs a single-drive MinIO, 4 to 16 a distributed, erasure-coded MinIO that survives
   * the loss of pods (2 and 3 are refused: erasure coding needs at least 4 drives).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Volume of each MinIO pod (one drive each); size in binary units (`100Gi`; `100G` is refused).
   * @default { size: '100Gi' }
   */
  readonly storage?: StorageOptions;
  /**
   * CPU and memory requests and limits of each MinIO pod's container.
   * @default requests 250m / 1Gi, limits 2 CPU / 4Gi
   */
  readonly resources?: ResourceRequirements;
  /**
   * Bucket Milvus keeps its segments and indexes in (Milvus creates it).
   * @default 'milvus-bucket'
   */
  readonly bucket?: string;
  /**
   * Buckets of this MinIO that hold the application's files (R27: full backup daily, kept 30
   * days), backed up by the daily backup beside the collections. Milvus' own bucket is not one:
   * its segments are backed up consistently through milvus-backup.
   * @default - none
   */
  readonly fileBuckets?: readonly string[];
  /**
   * MinIO image, pinned to a release tag (`latest` is refused).
   * @default 'minio/minio:RELEASE.2023-03-20T20-16-18Z'
   */
  readonly image?: string;
}

/** An S3-compatible bucket outside the cluster (Amazon S3, a central MinIO): no MinIO runs here. */
export interface ExternalObjectStorageOptions {
  /** Host name of the S3 API, optionally with `:port`: `s3.eu-central-1.amazonaws.com`. */
  readonly endpoint: string;
  /** The bucket; it should exist (Milvus creates it only if its key is allowed to). */
  readonly bucket: string;
  /** Access key id. */
  readonly accessKeySecret: SecretKeyRef;
  /** Secret access key. */
  readonly secretKeySecret: SecretKeyRef;
  /**
   * Reach the S3 API over HTTPS (`minio.useSSL` in Milvus' `user.yaml`); also picks the port when the
   * endpoint names none: 443 with SSL, 80 without.
   * @default true
   */
  readonly useSSL?: boolean;
  /**
   * Region of the bucket (`minio.region` in `user.yaml`), a region name such as `eu-central-1`.
   * @default - none: the SDK's default region
   */
  readonly region?: string;
  /**
   * Addresses the endpoint resolves to, for the egress NetworkPolicy (a NetworkPolicy cannot name
   * a host). Only the endpoint's port is opened.
   * @default '0.0.0.0/0'
   */
  readonly egressCidr?: string;
}

/** Where Milvus keeps segments and indexes: exactly one of `minio` and `external`. */
export interface ObjectStorageOptions {
  /**
   * Run MinIO here, as the StatefulSet `<name>-minio`, and keep Milvus' bucket in it; refused
   * together with `external`.
   * @default - none (then `external` is required)
   */
  readonly minio?: MinioOptions;
  /**
   * Use an S3-compatible bucket outside the cluster; refused together with `minio`.
   * @default - none (then `minio` is required)
   */
  readonly external?: ExternalObjectStorageOptions;
}

/** What standalone and cluster Milvus share: the name, the image, etcd and object storage. */
export interface MilvusCommonProps {
  /**
   * Name of the client Service (`milvus:19530`) and prefix of every other object.
   * @default 'milvus'
   */
  readonly name?: string;
  /**
   * A Milvus 2.3 image.
   * @default 'milvusdb/milvus:v2.3.21'
   */
  readonly image?: string;
  /**
   * etcd members; an odd number, so that a majority survives the loss of members.
   * @default 1 for standalone, 3 for a cluster
   */
  readonly etcdReplicas?: number;
  /**
   * Volume of each etcd member: at least 5Gi, etcd's 4Gi backend quota plus its write-ahead log.
   * @default { size: '10Gi' }
   */
  readonly etcdStorage?: StorageOptions;
  /**
   * CPU and memory requests and limits of each etcd member's container.
   * @default requests 250m / 512Mi, limits 1 CPU / 2Gi
   */
  readonly etcdResources?: ResourceRequirements;
  /**
   * An etcd image tagged v3.5.11 or later (`quay.io/coreos/etcd`, `gcr.io/etcd-development/etcd`
   * or a mirror).
   * @default 'quay.io/coreos/etcd:v3.5.16'
   */
  readonly etcdImage?: string;
  /** Where segments and indexes live: a MinIO run here, or an external bucket. */
  readonly objectStorage: ObjectStorageOptions;
}

/** {@link MilvusCommonProps} checked, with defaults applied. */
export interface ResolvedCommon {
  /** A DNS label of at most 40 characters: the client Service, and the prefix of every other object. */
  readonly name: string;
  /** A pinned Milvus 2.3 image (`milvusdb/milvus:v2.3.<patch>`). */
  readonly image: string;
  /** The etcd `<name>-etcd` is built from: the `etcd*` props with their defaults. */
  readonly etcd: {
    /** Members: 1, 3, 5 or 7. */
    readonly replicas: number;
    /** Each member's volume, at least 5Gi. */
    readonly storage: StorageOptions;
    /** Requests and limits of each member's container. */
    readonly resources: ResourceRequirements;
    /** A pinned etcd image, v3.5.11 or later. */
    readonly image: string;
  };
}

const MILVUS_2_3 = /^milvusdb\/milvus:v2\.3\.\d+$/;
const ETCD_MIN_STORAGE = '5Gi';
const ETCD_WITH_PROBES = /\/etcd:v3\.(5\.(1[1-9]|[2-9]\d|\d{3,})|([6-9]|\d{2,})\.\d+)$/;

/** Checks the shared props (errors read `<where>: milvus.<field> ...`) and applies defaults. */
export function resolveCommon(v: Validator, props: MilvusCommonProps, defaultEtcdReplicas: number): ResolvedCommon {
  const name = v.dnsLabel('name', props.name ?? 'milvus', 40);
  const image = v.pinnedImage('image', props.image ?? DEFAULT_MILVUS_IMAGE);
  // The arguments and user.yaml rendered here are Milvus 2.3's (mixture coordinators, indexCoord).
  if (!MILVUS_2_3.test(image)) v.fail('image', 'a Milvus 2.3 image such as milvusdb/milvus:v2.3.21', image);

  const replicas = v.integer('etcdReplicas', props.etcdReplicas ?? defaultEtcdReplicas, 1, 7);
  if (replicas % 2 === 0) v.fail('etcdReplicas', 'an odd number (1, 3, 5 or 7) so that a majority of etcd members survives a failure', replicas);
  const storage = props.etcdStorage ?? { size: '10Gi' };
  validateStorage(v, 'etcdStorage', storage);
  if (parseQuantity(storage.size) < parseQuantity(ETCD_MIN_STORAGE)) {
    v.fail('etcdStorage.size', `at least ${ETCD_MIN_STORAGE} (etcd's 4Gi backend quota plus its write-ahead log)`, storage.size);
  }
  const resources = props.etcdResources ?? DEFAULT_ETCD_RESOURCES;
  validateResources(v, 'etcdResources', resources);
  const etcdImage = v.pinnedImage('etcdImage', props.etcdImage ?? DEFAULT_ETCD_IMAGE);
  if (!ETCD_WITH_PROBES.test(etcdImage)) v.fail('etcdImage', 'an etcd image tagged v3.5.11 or later (its /livez and /readyz are the probes)', etcdImage);

  validateObjectStorageChoice(v, props.objectStorage);
  return { name, image, etcd: { replicas, storage, resources, image: etcdImage } };
}

/** Exactly one of `minio` and `external`. The fields of each are checked where they are used. */
function validateObjectStorageChoice(v: Validator, storage: ObjectStorageOptions | undefined): void {
  const expectation = 'exactly one of { minio: {...} } (MinIO run here) and { external: {...} } (an S3 bucket)';
  if (!storage || typeof storage !== 'object') v.fail('objectStorage', expectation, storage);
  if ((storage.minio === undefined) === (storage.external === undefined)) {
    v.fail('objectStorage', expectation, Object.keys(storage).filter((k) => (storage as Record<string, unknown>)[k] !== undefined));
  }
}
