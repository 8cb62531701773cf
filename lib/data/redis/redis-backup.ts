import { readShellAssets } from '../../assets';
import { BackupJobKind, BackupRepository, StoreBackup, StoreBackupSettings, StoreRestoreJob } from '../../backup';
import { envFromSecret } from '../../secret-ref';
import { REDIS_DATA_DIR, REDIS_PORT, REDIS_USER, RedisSettings } from './redis-settings';
import { RedisServers } from './redis-servers';

export interface RedisBackupOptions {
  readonly repository: BackupRepository;
  readonly settings: RedisSettings;
  /** The servers whose masters are backed up: the cluster's members, or the single primary. */
  readonly servers: RedisServers;
  /** Pods of `servers`. */
  readonly podCount: number;
  /** Pods whose volumes a restore writes (every cluster member; the primary alone, whose replicas re-sync from it). */
  readonly restoredPods: number;
  /** @default - the default slots */
  readonly backup?: StoreBackupSettings;
  /** Where the store's settings are, for errors: the construct's id. */
  readonly configPath: string;
}

/**
 * Redis' backups (R26): hourly and daily, `redis-cli --rdb` reads a fresh RDB from every master
 * (the cluster's masters found from CLUSTER NODES, since failovers move them), each checked with
 * redis-check-rdb, all in one snapshot; retention 7 days hourly, 30 days daily. A monthly restore
 * test loads each RDB into a scratch server and compares the key counts; restore Jobs rebuild each
 * member's volume (RDB loaded, rewritten as the AOF the servers start from) while the StatefulSet is
 * scaled to 0.
 */
export function addRedisBackup(options: RedisBackupOptions): StoreBackup {
  const { settings, servers } = options;
  const pods = Array.from({ length: options.podCount }, (_, i) => `${servers.name}-${i}.${servers.headlessServiceName}:${REDIS_PORT}`);
  const scratchSize = settings.storage.size;
  const restores: StoreRestoreJob[] = Array.from({ length: options.restoredPods }, (_, i) => ({
    name: `${servers.name}-restore-${i}`,
    command: ['redis-restore.sh', '$(RESTORE_SNAPSHOT)'],
    description: `Rebuilds the data of ${servers.name}-${i} from a backup (RESTORE_SNAPSHOT: latest or a snapshot id). Scale the StatefulSet ${servers.name} to 0 first, run every member's Job, then scale it back.`,
    env: [{ name: 'RESTORE_SNAPSHOT', value: 'latest' }, { name: 'REDIS_DATA_DIR', value: REDIS_DATA_DIR }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-${servers.name}-${i}` } }],
    volumeMounts: [{ name: 'data', mountPath: REDIS_DATA_DIR }],
    // The restore runs a redis-server holding the data set: the member's own size.
    resources: settings.resources,
  }));
  return servers.addBackup({
    name: `${settings.name}-backup`,
    store: settings.name,
    repository: options.repository,
    image: settings.image,
    version: settings.version,
    runAsUser: REDIS_USER,
    scripts: readShellAssets('lib/data/redis/backup'),
    env: [
      { name: 'REDIS_NODES', value: pods.join(' ') },
      envFromSecret('REDISCLI_AUTH', settings.passwordSecret),
    ],
    jobs: [
      { kind: BackupJobKind.FULL, command: ['redis-backup.sh', 'daily'], schedule: '0 2 * * *', scratchSize },
      { kind: BackupJobKind.INCREMENTAL, command: ['redis-backup.sh', 'hourly'], schedule: '45 * * * *', scratchSize },
      { kind: BackupJobKind.PRUNE, command: ['prune.sh'], schedule: '50 4 * * 6' },
      { kind: BackupJobKind.VERIFY, command: ['verify.sh'], schedule: '50 3 * * 0' },
      { kind: BackupJobKind.RESTORE_TEST, command: ['redis-restore-test.sh', 'latest'], schedule: '50 5 2 * *', scratchSize },
    ],
    restores,
    connections: [servers.endpoint],
    configPath: `${options.configPath}.backup`,
    schedules: options.backup?.schedules,
  });
}
