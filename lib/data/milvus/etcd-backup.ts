import { k8s } from 'cdk8s-plus-27';
import { readShellAssets } from '../../assets';
import { BACKUP_BIN_DIR, BackupJobKind, BackupRepository, StoreBackup, StoreRestoreJob } from '../../backup';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import type { MilvusEtcd } from './etcd';

/**
 * The image the etcd backup scripts run in: bash and GNU coreutils (the etcd image is distroless,
 * with no shell at all). The etcd binaries come from the etcd image itself, copied with busybox.
 */
export const ETCD_BACKUP_IMAGE = 'debian:bookworm-20241111-slim';
/** A statically linked busybox: the only way to copy files out of a distroless image. */
export const BUSYBOX_IMAGE = 'busybox:1.36.1-musl';
/** Where the etcd image keeps its binaries (etcd's own Dockerfile). */
const ETCD_BINARIES = ['/usr/local/bin/etcd', '/usr/local/bin/etcdctl', '/usr/local/bin/etcdutl'];
const COPY_RESOURCES: ResourceRequirements = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } };
const NOBODY = 65534;

export interface EtcdBackupOptions {
  readonly repository: BackupRepository;
  /** The etcd workload (its StatefulSet, headless Service and members). */
  readonly etcd: MilvusEtcd;
  readonly image: string;
  readonly version: string;
  readonly replicas: number;
  readonly clientPort: number;
  readonly peerPort: number;
  /** The members' data directory. */
  readonly dataDir: string;
  readonly storageSize: string;
}

/**
 * Milvus' metadata (R26): a daily `etcdctl snapshot save` from the first healthy member, checked
 * against the sha256 etcd appends to every snapshot, its key count recorded at the snapshot's
 * revision; a monthly restore test that starts a scratch etcd from it and compares the count; and a
 * restore Job per member volume (`etcdutl snapshot restore` with the member's name and peers).
 */
export function addEtcdBackup(o: EtcdBackupOptions): StoreBackup {
  const members = Array.from({ length: o.replicas }, (_, i) => `${o.etcd.name}-${i}`);
  const bin = (name: string) => `${BACKUP_BIN_DIR}/${name}`;
  const tools = [
    { name: 'ETCD_BIN', value: bin('etcd') },
    { name: 'ETCDCTL_BIN', value: bin('etcdctl') },
    { name: 'ETCDUTL_BIN', value: bin('etcdutl') },
  ];
  const copyBusybox = secureContainer({
    name: 'install-busybox', image: BUSYBOX_IMAGE, resources: COPY_RESOURCES,
    command: ['cp', '/bin/busybox', bin('busybox')],
    volumeMounts: [{ name: 'backup-bin', mountPath: BACKUP_BIN_DIR }],
  });
  const copyEtcd = secureContainer({
    name: 'install-etcd', image: o.image, resources: COPY_RESOURCES,
    command: [bin('busybox'), 'cp', ...ETCD_BINARIES, `${BACKUP_BIN_DIR}/`],
    volumeMounts: [{ name: 'backup-bin', mountPath: BACKUP_BIN_DIR }],
  });
  const restores: StoreRestoreJob[] = members.map((member) => ({
    name: `${member}-restore`,
    command: ['etcd-restore.sh', '$(RESTORE_SNAPSHOT)'],
    description: `Rebuilds ${member}'s data directory from an etcd snapshot (RESTORE_SNAPSHOT: latest or a snapshot id). Scale the StatefulSet ${o.etcd.name} to 0 and Milvus' components with it, run every member's Job, then scale back.`,
    env: [
      { name: 'RESTORE_SNAPSHOT', value: 'latest' },
      { name: 'ETCD_DATA_DIR', value: `${o.dataDir}/data` },
      { name: 'ETCD_NAME', value: member },
      { name: 'ETCD_INITIAL_CLUSTER', value: o.etcd.initialCluster },
      { name: 'ETCD_INITIAL_ADVERTISE_PEER_URLS', value: `http://${member}.${o.etcd.headlessServiceName}:${o.peerPort}` },
      // The cluster's name (its --initial-cluster-token): not a credential.
      { name: 'ETCD_CLUSTER_NAME', value: o.etcd.name },
      ...tools,
    ],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-${member}` } } as k8s.Volume],
    volumeMounts: [{ name: 'data', mountPath: o.dataDir }],
  }));
  return o.etcd.addBackup({
    name: `${o.etcd.name}-backup`,
    store: o.etcd.name,
    repository: o.repository,
    image: ETCD_BACKUP_IMAGE,
    version: o.version,
    runAsUser: NOBODY,
    scripts: Object.fromEntries(Object.entries(readShellAssets('lib/data/milvus/backup')).filter(([name]) => name.startsWith('etcd-'))),
    initContainers: [copyBusybox, copyEtcd],
    env: [
      { name: 'ETCDCTL_ENDPOINTS', value: members.map((m) => `http://${m}.${o.etcd.headlessServiceName}:${o.clientPort}`).join(',') },
      ...tools,
    ],
    jobs: [
      { kind: BackupJobKind.FULL, command: ['etcd-snapshot.sh'], schedule: '30 2 * * *', scratchSize: o.storageSize },
      { kind: BackupJobKind.PRUNE, command: ['prune.sh'], schedule: '40 4 * * 6' },
      { kind: BackupJobKind.VERIFY, command: ['verify.sh'], schedule: '40 3 * * 0' },
      { kind: BackupJobKind.RESTORE_TEST, command: ['etcd-restore-test.sh', 'latest'], schedule: '40 5 2 * *', scratchSize: o.storageSize },
    ],
    restores,
    connections: [o.etcd.endpoint],
  });
}
