import { readShellAssets } from '../../assets';
import { BACKUP_BIN_DIR, BACKUP_SCRIPTS_DIR, BackupJobKind, BackupRepository, StoreBackup } from '../../backup';
import { secureContainer } from '../../container';
import { parseQuantity } from '../../quantity';
import { ResourceRequirements } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { ServiceEndpoint } from '../../workload';
import { BUSYBOX_IMAGE, ETCD_BACKUP_IMAGE } from './etcd-backup';
import type { MilvusComponent } from './milvus-component';
import type { MilvusMinio } from './minio';
import { MILVUS_PORTS } from './ports';

/** zilliztech/milvus-backup: a static Go binary at /app/milvus-backup on alpine 3.17 (its Dockerfile), so the image's own `cp` copies it out. */
export const MILVUS_BACKUP_IMAGE = 'milvusdb/milvus-backup:v0.4.15';
/** The MinIO client: a static binary at /usr/bin/mc on ubi-micro (Dockerfile.release); copied with busybox, as etcd's are. */
export const MC_IMAGE = 'minio/mc:RELEASE.2025-08-13T08-35-41Z';
/** The bucket milvus-backup copies a backup's segments into (it creates it), and the folder there. */
export const MILVUS_BACKUP_BUCKET = 'milvus-backup';
const MILVUS_BACKUP_ROOT = 'backup';
/** The Milvus root path in its bucket: user.yaml's `minio.rootPath` (milvus-config.ts). */
const MILVUS_ROOT_PATH = 'files';
/** Where the pod finds backup.yaml: a file of the scripts ConfigMap. */
const CONFIG_FILE = 'milvus-backup.yaml';
/** Debian's PATH with the copied tools first: the scripts call `milvus-backup` and `mc` by name. */
const PATH = `${BACKUP_BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
const COPY_RESOURCES: ResourceRequirements = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } };
const NOBODY = 65534;
const GIB = 2 ** 30;

/** What {@link addMilvusBackup} backs up, and where: built by the Milvus constructs when backups are configured. */
export interface MilvusBackupOptions {
  /** The environment's restic destination; the jobs use the repository of store `<name>` (the client Service). */
  readonly repository: BackupRepository;
  /** The in-cluster MinIO that holds Milvus' segments: the backup belongs to it. */
  readonly minio: MilvusMinio;
  /** Milvus' bucket (user.yaml's `minio.bucketName`). */
  readonly bucket: string;
  /** MinIO access key id, as the jobs' `MINIO_ACCESS_KEY` (read by milvus-backup and the scripts' `mc`). */
  readonly accessKeySecret: SecretKeyRef;
  /** MinIO secret access key, as the jobs' `MINIO_SECRET_KEY`. */
  readonly secretKeySecret: SecretKeyRef;
  /**
   * The proxy (or standalone): milvus-backup reads the collections through its client port 19530,
   * and asks its metrics port 9091 (Milvus' management API) to pause garbage collection.
   */
  readonly milvus: MilvusComponent;
  /**
   * Application buckets of this MinIO holding files (R27), backed up daily beside the collections.
   * Milvus' own bucket is never one of them: its content is backed up as collections.
   * @default - none: only the collections
   */
  readonly fileBuckets?: readonly string[];
}

/**
 * milvus-backup's backup.yaml without the credentials: milvus-backup reads MINIO_ACCESS_KEY and
 * MINIO_SECRET_KEY from the environment over the file (its paramtable's `loadMinioConfig`), and
 * the pods get those from the Secrets. Milvus runs without authentication here (user.yaml sets no
 * `common.security.authorizationEnabled`), so there is no Milvus user or password either.
 */
export function renderMilvusBackupYaml(o: { milvus: ServiceEndpoint; milvusManagement: ServiceEndpoint; minio: ServiceEndpoint; bucket: string }): string {
  return [
    '# milvus-backup v0.4 backup.yaml. Credentials: MINIO_ACCESS_KEY / MINIO_SECRET_KEY (Secrets).',
    'log:',
    '  level: info',
    '  console: true',
    // No log file: the root file system is read-only, and the Job's log is stdout.
    '  file:',
    '    rootPath: ""',
    'http:',
    '  simpleResponse: true',
    'milvus:',
    `  address: ${JSON.stringify(o.milvus.host)}`,
    `  port: ${o.milvus.port}`,
    '  authorizationEnabled: false',
    '  tlsMode: 0',
    'minio:',
    '  storageType: "minio"',
    `  address: ${JSON.stringify(o.minio.host)}`,
    `  port: ${o.minio.port}`,
    '  useSSL: false',
    '  useIAM: false',
    '  iamEndpoint: ""',
    `  bucketName: ${JSON.stringify(o.bucket)}`,
    `  rootPath: ${JSON.stringify(MILVUS_ROOT_PATH)}`,
    `  backupBucketName: ${JSON.stringify(MILVUS_BACKUP_BUCKET)}`,
    `  backupRootPath: ${JSON.stringify(MILVUS_BACKUP_ROOT)}`,
    'backup:',
    '  maxSegmentGroupSize: 2G',
    '  parallelism:',
    '    backupCollection: 4',
    '    copydata: 128',
    '    restoreCollection: 2',
    '  keepTempFiles: false',
    // Compaction's garbage collection could delete a segment while it is copied: paused for the
    // run (best effort: milvus-backup logs a warning where the proxy does not serve the API).
    '  gcPause:',
    '    enable: true',
    '    seconds: 7200',
    `    address: ${JSON.stringify(`http://${o.milvusManagement.host}:${o.milvusManagement.port}`)}`,
    '',
  ].join('\n');
}

/**
 * Milvus' collections and MinIO's file buckets (R26, R27): a daily `milvus-backup create` of every
 * collection, copied out of the backup bucket with `mc mirror` into restic (and, where file buckets
 * are configured, those buckets in the same job, one snapshot each); the weekly prune and verify;
 * a monthly restore test that restores the latest backup from restic and checks it whole against
 * milvus-backup's own record; and a restore Job that mirrors a backup back into the backup bucket
 * and runs `milvus-backup restore`.
 *
 * One daily job runs both kinds: a store has one job per kind, and the files are a daily full
 * backup (R27), not an hourly incremental.
 */
export function addMilvusBackup(o: MilvusBackupOptions): StoreBackup {
  const bin = (name: string) => `${BACKUP_BIN_DIR}/${name}`;
  const binMount = [{ name: 'backup-bin', mountPath: BACKUP_BIN_DIR }];
  const initContainers = [
    secureContainer({ name: 'install-milvus-backup', image: MILVUS_BACKUP_IMAGE, resources: COPY_RESOURCES, command: ['cp', '/app/milvus-backup', `${BACKUP_BIN_DIR}/`], volumeMounts: binMount }),
    secureContainer({ name: 'install-busybox', image: BUSYBOX_IMAGE, resources: COPY_RESOURCES, command: ['cp', '/bin/busybox', bin('busybox')], volumeMounts: binMount }),
    secureContainer({ name: 'install-mc', image: MC_IMAGE, resources: COPY_RESOURCES, command: [bin('busybox'), 'cp', '/usr/bin/mc', `${BACKUP_BIN_DIR}/`], volumeMounts: binMount }),
  ];
  const client = o.milvus.clientEndpoint;
  if (!client) throw new Error(`${o.milvus.name} serves no client port: the Milvus backup needs the proxy or the standalone`);
  const management: ServiceEndpoint = { host: o.milvus.name, port: MILVUS_PORTS.metrics, targetPort: MILVUS_PORTS.metrics, workload: o.milvus };
  const fileBuckets = o.fileBuckets ?? [];
  const scripts = Object.fromEntries(Object.entries(readShellAssets('lib/data/milvus/backup')).filter(([name]) => name.startsWith('milvus-')));
  const scratchSize = `${Math.ceil(usableBytes(o.minio.storageSize, o.minio.replicas) / GIB)}Gi`;
  const store = client.host;
  return o.minio.addBackup({
    name: `${store}-backup`,
    store,
    repository: o.repository,
    image: ETCD_BACKUP_IMAGE,
    version: MILVUS_BACKUP_IMAGE.split(':')[1],
    runAsUser: NOBODY,
    scripts: { ...scripts, [CONFIG_FILE]: renderMilvusBackupYaml({ milvus: client, milvusManagement: management, minio: o.minio.endpoint, bucket: o.bucket }) },
    initContainers,
    env: [
      { name: 'PATH', value: PATH },
      { name: 'MINIO_ENDPOINT', value: `${o.minio.endpoint.host}:${o.minio.endpoint.port}` },
      { name: 'MINIO_SCHEME', value: 'http' },
      envFromSecret('MINIO_ACCESS_KEY', o.accessKeySecret),
      envFromSecret('MINIO_SECRET_KEY', o.secretKeySecret),
      { name: 'MILVUS_BACKUP_CONFIG', value: `${BACKUP_SCRIPTS_DIR}/${CONFIG_FILE}` },
      { name: 'MILVUS_BACKUP_BUCKET', value: MILVUS_BACKUP_BUCKET },
      { name: 'MILVUS_BACKUP_ROOT', value: MILVUS_BACKUP_ROOT },
      ...(fileBuckets.length ? [{ name: 'MINIO_BUCKETS', value: fileBuckets.join(' ') }] : []),
    ],
    // Staggered after etcd's jobs (02:30, 03:40 Sun, 04:40 Sat, 05:40 on the 2nd).
    jobs: [
      { kind: BackupJobKind.FULL, command: ['milvus-backup.sh', 'collections', ...(fileBuckets.length ? ['files'] : [])], schedule: '50 2 * * *', scratchSize },
      { kind: BackupJobKind.PRUNE, command: ['prune.sh'], schedule: '50 4 * * 6' },
      { kind: BackupJobKind.VERIFY, command: ['verify.sh'], schedule: '50 3 * * 0' },
      { kind: BackupJobKind.RESTORE_TEST, command: ['milvus-restore.sh', 'test', 'latest'], schedule: '50 5 2 * *', scratchSize },
    ],
    restores: [{
      name: `${store}-restore`,
      command: ['milvus-restore.sh', 'restore', '$(RESTORE_SNAPSHOT)'],
      description: 'Restores every collection of a milvus-backup snapshot (RESTORE_SNAPSHOT: latest or a snapshot id) into the running Milvus, with its indexes rebuilt. Collections that exist are refused: drop them first, or set RESTORE_SUFFIX to restore them beside the existing ones as <name><suffix>.',
      env: [{ name: 'RESTORE_SNAPSHOT', value: 'latest' }, { name: 'RESTORE_SUFFIX', value: '' }],
      scratchSize,
    }],
    connections: [o.minio.endpoint, client, management],
  });
}

/** What a MinIO of `replicas` volumes of `size` holds at most: one drive, or an erasure set with MinIO's default parity. */
function usableBytes(size: string, replicas: number): number {
  const bytes = parseQuantity(size);
  if (replicas === 1) return bytes;
  const parity = replicas <= 5 ? 2 : replicas <= 7 ? 3 : 4;
  return bytes * (replicas - parity);
}
