import { createHash } from 'crypto';
import { readAsset } from '../../assets';
import { StoreBackupSettings } from '../../backup/backup-settings';
import { VerticalScalingSettings } from '../../ops/vertical-scaling';
import { ResourceRequirements, validateResources } from '../../resources';
import { SecretKeyRef } from '../../secret-ref';
import { parseQuantity } from '../../quantity';
import { Validator } from '../../validation';
import { StorageOptions, validateStorage } from '../storage';

/** The official image, pinned (BSD-licensed 7.2 line). Debian based: the scripts need bash and getent. */
export const DEFAULT_REDIS_IMAGE = 'redis:7.2.5';
/** Client port of every Redis server. */
export const REDIS_PORT = 6379;
/** Cluster bus port (client port + 10000). */
export const REDIS_BUS_PORT = 16379;
/** The `redis` user of the official image. */
export const REDIS_USER = 999;
/** Where the ConfigMap (base configuration and scripts) is mounted. */
export const REDIS_CONFIG_DIR = '/usr/local/etc/redis';
/** Where redis-start.sh renders the configuration with the password (memory-backed emptyDir). */
export const REDIS_RUNTIME_DIR = '/run/redis';
/** The data volume: AOF, RDB and nodes.conf. */
export const REDIS_DATA_DIR = '/data';
/** `cluster-node-timeout`: how long a member may not answer before it is suspected (and failed over). */
export const REDIS_CLUSTER_NODE_TIMEOUT_MS = 15_000;

/** What Redis does when `maxmemory` is reached (`maxmemory-policy`). */
export type RedisEvictionPolicy =
  | 'noeviction'
  | 'volatile-lru'
  | 'volatile-lfu'
  | 'volatile-random'
  | 'volatile-ttl'
  | 'allkeys-lru'
  | 'allkeys-lfu'
  | 'allkeys-random';

const EVICTION_POLICIES: readonly RedisEvictionPolicy[] = [
  'noeviction', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random',
];

/** Props both Redis constructs share: plain data, so they live in the typed environment configuration. */
export interface RedisServerOptions {
  /**
   * Name of the client Service and prefix of every object (`<name>-headless`, `<name>-config`, ...).
   * @default 'redis'
   */
  readonly name?: string;
  /**
   * The official Redis 7 image, pinned to a release.
   * @default 'redis:7.2.5'
   */
  readonly image?: string;
  /** The persistent volume of each pod (AOF and RDB files). */
  readonly storage: StorageOptions;
  /**
   * Resources of each Redis container. Memory requests equal limits by default: a cache that the
   * node can take memory back from is one that gets OOM-killed.
   * @default - requests 250m CPU / 1Gi, limits 1 CPU / 1Gi
   */
  readonly resources?: ResourceRequirements;
  /** The Secret key holding the password: `requirepass` and `masterauth` (read at start, never rendered). */
  readonly passwordSecret: SecretKeyRef;
  /**
   * `maxmemory`: the data set limit, a memory quantity of at most 60% of the memory limit. The rest
   * is headroom for the fork of an RDB save or AOF rewrite (copy-on-write of the pages written
   * meanwhile), replication and client buffers, and allocator fragmentation: above that, a save
   * under write load is what gets the container OOM-killed.
   * @default - 60% of the memory limit
   */
  readonly maxmemory?: string;
  /**
   * `maxmemory-policy`. The default evicts only keys with a TTL (cache entries) and refuses writes
   * when nothing evictable is left, so keys stored without a TTL are never silently dropped.
   * Use `allkeys-lru` for a pure cache.
   * @default 'volatile-lru'
   */
  readonly maxmemoryPolicy?: RedisEvictionPolicy;
  /**
   * Bounds of the VerticalPodAutoscaler's recommendation for each server (R9; recommendation only).
   * @default - the container's requests to twice its limits
   */
  readonly verticalScaling?: VerticalScalingSettings;
  /**
   * Backup schedules, where the environment backs up (its `backup` settings).
   * @default - daily at 02:00, hourly at :45, see BackupScheduleSettings
   */
  readonly backup?: StoreBackupSettings;
}

/** The largest share of the container memory limit `maxmemory` may take (see {@link RedisServerOptions.maxmemory}). */
export const MAXMEMORY_SHARE_OF_LIMIT = 0.6;

/** Each Redis container when `resources` is not set: memory request equals limit, so the node never reclaims it. */
export const DEFAULT_REDIS_RESOURCES: ResourceRequirements = {
  requests: { cpu: '250m', memory: '1Gi' },
  limits: { cpu: '1', memory: '1Gi' },
};

/** {@link RedisServerOptions} checked, with defaults applied. */
export interface RedisSettings {
  /** A DNS label: the client Service, and the prefix of the store's other objects. */
  readonly name: string;
  /** Pinned Redis image, used by the servers, the bootstrap Job and the backup Jobs. */
  readonly image: string;
  /** The image tag, for the version label. */
  readonly version: string;
  /** Each server's volume (claim template `data`, mounted at /data); also the backup Jobs' scratch size. */
  readonly storage: StorageOptions;
  /** Requests and limits of each `redis` container, and of the restore Jobs, which load the data set. */
  readonly resources: ResourceRequirements;
  /** The password's Secret key: `requirepass`/`masterauth` at start, `REDISCLI_AUTH` for probes, exporter and jobs. */
  readonly passwordSecret: SecretKeyRef;
  /** `maxmemory` in bytes: at most 60% of the memory limit, which it is by default. */
  readonly maxmemoryBytes: number;
  /** `maxmemory-policy` of redis.conf. */
  readonly maxmemoryPolicy: RedisEvictionPolicy;
  /**
   * Bounds of each server's VerticalPodAutoscaler recommendation.
   * @default - the container's requests to twice its limits
   */
  readonly verticalScaling?: VerticalScalingSettings;
}

/**
 * Checks the shared props (fields `<prefix>.name`, `.image`, `.storage`, ...) and applies defaults.
 * @param maxNameLength longest name whose derived object names still fit Kubernetes' limits
 */
export function resolveRedisSettings(v: Validator, props: RedisServerOptions, maxNameLength: number): RedisSettings {
  const name = v.dnsLabel('name', props.name ?? 'redis', maxNameLength);
  const image = v.pinnedImage('image', props.image ?? DEFAULT_REDIS_IMAGE);
  validateStorage(v, 'storage', props.storage);
  const resources = props.resources ?? DEFAULT_REDIS_RESOURCES;
  validateResources(v, 'resources', resources);
  v.secretKeyRef('passwordSecret', props.passwordSecret);
  const limit = parseQuantity(resources.limits.memory);
  const maxmemoryLimit = Math.floor(limit * MAXMEMORY_SHARE_OF_LIMIT);
  let maxmemoryBytes = maxmemoryLimit;
  if (props.maxmemory !== undefined) {
    v.memory('maxmemory', props.maxmemory);
    maxmemoryBytes = Math.floor(parseQuantity(props.maxmemory));
    if (maxmemoryBytes > maxmemoryLimit) {
      v.fail('maxmemory', `at most ${MAXMEMORY_SHARE_OF_LIMIT * 100}% of the memory limit (${v.field('resources.limits.memory')} `
        + `${resources.limits.memory}: ${maxmemoryLimit} bytes), the rest being headroom for the fork of RDB saves and AOF rewrites`, props.maxmemory);
    }
  }
  const maxmemoryPolicy = v.oneOf('maxmemoryPolicy', props.maxmemoryPolicy ?? 'volatile-lru', EVICTION_POLICIES);
  return {
    name,
    image,
    version: image.slice(image.lastIndexOf(':') + 1),
    storage: props.storage,
    resources,
    passwordSecret: props.passwordSecret,
    maxmemoryBytes,
    maxmemoryPolicy,
    verticalScaling: props.verticalScaling,
  };
}

/**
 * The static part of redis.conf (no password, address or port: redis-start.sh adds those at start
 * and includes this file).
 */
export function renderRedisConf(settings: RedisSettings, mode: { readonly cluster: boolean }): string {
  const lines = [
    '# Static Redis configuration (lib/data/redis). redis-start.sh includes it from the file it renders',
    '# at start with the password, bind address, port, data directory and cluster announce settings.',
    'daemonize no',
    'logfile ""',
    'loglevel notice',
    'timeout 0',
    'tcp-keepalive 300',
    '',
    '# Persistence: the AOF loses at most a second of writes; RDB snapshots make restarts and backups fast.',
    'appendonly yes',
    'appendfsync everysec',
    'appenddirname "appendonlydir"',
    'appendfilename "appendonly.aof"',
    'aof-use-rdb-preamble yes',
    'aof-load-truncated yes',
    'auto-aof-rewrite-percentage 100',
    'auto-aof-rewrite-min-size 64mb',
    'save 3600 1 300 100 60 10000',
    'dbfilename dump.rdb',
    'stop-writes-on-bgsave-error yes',
    'rdbcompression yes',
    'rdbchecksum yes',
    '',
    '# Memory',
    `maxmemory ${settings.maxmemoryBytes}`,
    `maxmemory-policy ${settings.maxmemoryPolicy}`,
    '',
    '# Replication',
    'replica-serve-stale-data yes',
    'replica-read-only yes',
    'repl-diskless-sync yes',
  ];
  if (mode.cluster) {
    lines.push(
      '',
      '# Cluster: members announce their pod DNS names (stable) to clients and their pod IPs on the bus;',
      '# redis-start.sh repairs nodes.conf from those names when pods come back with new IPs.',
      'cluster-enabled yes',
      'cluster-config-file nodes.conf',
      `cluster-node-timeout ${REDIS_CLUSTER_NODE_TIMEOUT_MS}`,
      // A replica takes over from a failed master however long it was cut off from it: after a full
      // restart every replica's link is "old", and with the default factor (10) none would ever
      // fail over, leaving the cluster down until the lost master returns. Its data is the freshest
      // copy there is.
      'cluster-replica-validity-factor 0',
      'cluster-require-full-coverage yes',
      'cluster-allow-reads-when-down no',
      'cluster-preferred-endpoint-type hostname',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The files of the Redis ConfigMap: the base configuration and the scripts the containers run. */
export function redisConfigFiles(settings: RedisSettings, mode: { readonly cluster: boolean }): Record<string, string> {
  const files: Record<string, string> = {
    'redis.conf': renderRedisConf(settings, mode),
    'redis-start.sh': readAsset('lib/data/redis/redis-start.sh'),
    'redis-probe.sh': readAsset('lib/data/redis/redis-probe.sh'),
  };
  if (mode.cluster) files['cluster-bootstrap.sh'] = readAsset('lib/data/redis/cluster-bootstrap.sh');
  return files;
}

/** A checksum of the ConfigMap, put on pod templates so that a change of configuration rolls the pods. */
export function checksumOf(files: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(files).sort()) hash.update(key).update('\0').update(files[key]).update('\0');
  return hash.digest('hex');
}
