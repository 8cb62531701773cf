import { parseQuantity } from '../../quantity';
import { Validator } from '../../validation';

/** PostgreSQL's port, in the container and on the Services. */
export const POSTGRES_PORT = 5432;
/** Where the volume is mounted; PGDATA is a subdirectory so that `lost+found` never meets initdb. */
export const DATA_MOUNT = '/var/lib/postgresql/data';
export const PGDATA = `${DATA_MOUNT}/pgdata`;
/** The image's socket directory (an emptyDir: the root file system is read-only). */
export const SOCKET_DIR = '/var/run/postgresql';
/** Where the configuration ConfigMap is mounted. */
export const CONFIG_DIR = '/etc/postgresql';

/**
 * Server settings rendered into `tuning.conf`, which `postgresql.conf` includes. Memory sizes use
 * PostgreSQL's units (`kB`, `MB`, `GB`, `TB`), as in postgresql.conf.
 */
export interface PostgresTuning {
  /**
   * `max_connections`.
   * @default 100
   */
  readonly maxConnections?: number;
  /**
   * `shared_buffers`: at most half the container's memory limit.
   * @default - a quarter of resources.limits.memory
   */
  readonly sharedBuffers?: string;
  /**
   * `effective_cache_size`: the planner's idea of the memory caching data (shared buffers + page cache).
   * @default - three quarters of resources.limits.memory
   */
  readonly effectiveCacheSize?: string;
  /**
   * `work_mem`: per sort or hash, per query node.
   * @default '4MB'
   */
  readonly workMem?: string;
  /**
   * `maintenance_work_mem`: VACUUM, CREATE INDEX.
   * @default '64MB'
   */
  readonly maintenanceWorkMem?: string;
  /**
   * `max_wal_size`: WAL between automatic checkpoints. With `maxSlotWalKeepSize` at most half of
   * storage.size: pg_wal grows to about their sum while a standby is away.
   * @default '1GB'
   */
  readonly maxWalSize?: string;
  /**
   * `max_slot_wal_keep_size`: WAL a replication slot may hold for a standby that is down or behind,
   * so that a lost standby cannot fill the primary's volume. With `maxWalSize` at most half of
   * storage.size. `'-1'` (unlimited) only without a standby. A standby that was away longer than
   * this allows is cloned again on its next start (standby-init.sh).
   * @default - a quarter of storage.size
   */
  readonly maxSlotWalKeepSize?: string;
  /**
   * `random_page_cost`: 1.1 suits the SSD-backed volumes of cloud StorageClasses.
   * @default 1.1
   */
  readonly randomPageCost?: number;
}

/** The tuning with every default filled in, as rendered. */
export interface ResolvedTuning {
  readonly maxConnections: number;
  readonly sharedBuffers: string;
  readonly effectiveCacheSize: string;
  readonly workMem: string;
  readonly maintenanceWorkMem: string;
  readonly maxWalSize: string;
  /** A size, or `-1` (unlimited). */
  readonly maxSlotWalKeepSize: string;
  readonly randomPageCost: number;
}

const PG_MEMORY = /^([1-9]\d*)(kB|MB|GB|TB)$/;
/** `max_slot_wal_keep_size = -1`: slots keep WAL without limit. */
const UNLIMITED = '-1';
const PG_UNIT_BYTES: Record<string, number> = { kB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };

/** Bytes of a PostgreSQL memory size (`256MB`), NaN when it is not one. */
export function pgMemoryBytes(value: string): number {
  const match = typeof value === 'string' ? PG_MEMORY.exec(value) : null;
  return match ? Number(match[1]) * PG_UNIT_BYTES[match[2]] : Number.NaN;
}

/** A PostgreSQL memory size in whole MB, at least 1MB. */
function megabytes(bytes: number): string {
  return `${Math.max(1, Math.floor(bytes / 2 ** 20))}MB`;
}

/**
 * Fills in the defaults from the memory limit and volume size, and checks every value against
 * PostgreSQL's own bounds and against the pod it runs in.
 */
export function resolveTuning(v: Validator, field: string, tuning: PostgresTuning | undefined, memoryLimit: string, storageSize: string, standby: boolean): ResolvedTuning {
  const t = tuning ?? {};
  const c = v.nested(field);
  const memoryBytes = parseQuantity(memoryLimit);
  const storageBytes = parseQuantity(storageSize);

  const size = (name: keyof PostgresTuning, value: string, minBytes: number, min: string): string => {
    const bytes = pgMemoryBytes(value);
    if (Number.isNaN(bytes)) c.fail(name, 'a PostgreSQL size such as 256MB or 4GB (units kB, MB, GB, TB)', value);
    if (bytes < minBytes) c.fail(name, `at least ${min}`, value);
    return value;
  };

  const resolved: ResolvedTuning = {
    maxConnections: c.integer('maxConnections', t.maxConnections ?? 100, 10, 10000),
    sharedBuffers: size('sharedBuffers', t.sharedBuffers ?? megabytes(memoryBytes / 4), 128 * 2 ** 10, '128kB'),
    effectiveCacheSize: size('effectiveCacheSize', t.effectiveCacheSize ?? megabytes((memoryBytes * 3) / 4), 8 * 2 ** 10, '8kB'),
    workMem: size('workMem', t.workMem ?? '4MB', 64 * 2 ** 10, '64kB'),
    maintenanceWorkMem: size('maintenanceWorkMem', t.maintenanceWorkMem ?? '64MB', 2 ** 20, '1MB'),
    maxWalSize: size('maxWalSize', t.maxWalSize ?? '1GB', 32 * 2 ** 20, '32MB'),
    maxSlotWalKeepSize: t.maxSlotWalKeepSize === UNLIMITED ? UNLIMITED : size('maxSlotWalKeepSize', t.maxSlotWalKeepSize ?? megabytes(storageBytes / 4), 2 ** 20, '1MB'),
    randomPageCost: c.number('randomPageCost', t.randomPageCost ?? 1.1, 0.1, 100),
  };

  // shared_buffers is allocated at start and never given back: past half the limit the kernel's
  // page cache, work_mem and connections have no room and the container is OOM-killed under load.
  if (pgMemoryBytes(resolved.sharedBuffers) > memoryBytes / 2) {
    c.fail('sharedBuffers', `at most half of resources.limits.memory (${memoryLimit}), i.e. ${megabytes(memoryBytes / 2)}`, resolved.sharedBuffers);
  }
  if (resolved.maxSlotWalKeepSize === UNLIMITED && standby) {
    c.fail('maxSlotWalKeepSize', 'a PostgreSQL size when standby is true (-1, unlimited, lets a standby that never comes back keep WAL until the volume is full)', resolved.maxSlotWalKeepSize);
  }
  // pg_wal holds up to max_wal_size between checkpoints plus what slots keep for an absent standby;
  // the other half of the volume is for the data.
  const slotBytes = resolved.maxSlotWalKeepSize === UNLIMITED ? 0 : pgMemoryBytes(resolved.maxSlotWalKeepSize);
  const walBytes = pgMemoryBytes(resolved.maxWalSize) + slotBytes;
  if (walBytes > storageBytes / 2) {
    const given = resolved.maxSlotWalKeepSize === UNLIMITED ? resolved.maxWalSize : `${resolved.maxWalSize} + ${resolved.maxSlotWalKeepSize} = ${megabytes(walBytes)}`;
    c.fail(resolved.maxSlotWalKeepSize === UNLIMITED ? 'maxWalSize' : 'maxWalSize + maxSlotWalKeepSize',
      `at most half of storage.size ${storageSize} (${megabytes(storageBytes / 2)}), leaving the rest of the volume for data`, given);
  }
  return resolved;
}

/**
 * The server's whole `postgresql.conf`: the data directory's own copy (written by initdb or copied
 * by pg_basebackup) is not read. Every setting is valid on PostgreSQL 14 and 15.
 */
/** Where archive_command puts finished WAL for the shipper: on the data volume, beside PGDATA. */
export const WAL_SPOOL_DIR = `${DATA_MOUNT}/wal-spool`;
/** Seconds after which a WAL segment is switched and archived even when not full: part of the RPO. */
export const ARCHIVE_TIMEOUT_SECONDS = 300;

/**
 * postgresql.conf. With `archiveCommand`, continuous archiving: every finished WAL segment (at the
 * latest every ARCHIVE_TIMEOUT_SECONDS) is handed to it.
 */
export function renderPostgresqlConf(options: { readonly archiveCommand?: string } = {}): string {
  const archive = options.archiveCommand
    ? [
      '',
      '# Continuous archiving (lib/data/postgres/backup): archive_command spools each finished WAL',
      '# file on the data volume; the wal-shipper sidecar uploads the spool to the bucket.',
      'archive_mode = on',
      `archive_timeout = ${ARCHIVE_TIMEOUT_SECONDS}`,
      `archive_command = '${options.archiveCommand}'`,
    ]
    : [];
  return [
    '# Rendered by the Postgres construct (lib/data/postgres). The server runs with',
    `# -c config_file=${CONFIG_DIR}/postgresql.conf; settings not named here keep PostgreSQL's defaults.`,
    '',
    '# Connections',
    "listen_addresses = '*'",
    `port = ${POSTGRES_PORT}`,
    `unix_socket_directories = '${SOCKET_DIR}'`,
    `hba_file = '${CONFIG_DIR}/pg_hba.conf'`,
    `ident_file = '${CONFIG_DIR}/pg_ident.conf'`,
    "password_encryption = 'scram-sha-256'",
    '',
    '# Replication: the same file serves the primary and its standbys',
    'wal_level = replica',
    'max_wal_senders = 10',
    'max_replication_slots = 10',
    'hot_standby = on',
    '# pg_rewind needs it to turn a former primary into a standby of the new one after a switchover',
    'wal_log_hints = on',
    ...archive,
    '',
    '# Logging to stderr: the container runtime collects it',
    'logging_collector = off',
    "log_destination = 'stderr'",
    "log_line_prefix = '%m [%p] %q%u@%d '",
    'log_connections = off',
    'log_checkpoints = on',
    "log_timezone = 'UTC'",
    '',
    '# Locale-independent defaults (initdb would otherwise write them from the environment)',
    "timezone = 'UTC'",
    "datestyle = 'iso, mdy'",
    "lc_messages = 'C'",
    "default_text_search_config = 'pg_catalog.english'",
    'dynamic_shared_memory_type = posix',
    '',
    '# Sizing, from the construct\'s tuning',
    "include 'tuning.conf'",
    '',
  ].join('\n');
}

/** `tuning.conf`: the sizing settings, included by `postgresql.conf`. */
export function renderTuningConf(t: ResolvedTuning): string {
  return [
    '# Rendered from the Postgres construct\'s tuning (config) and resources.',
    `max_connections = ${t.maxConnections}`,
    `shared_buffers = '${t.sharedBuffers}'`,
    `effective_cache_size = '${t.effectiveCacheSize}'`,
    `work_mem = '${t.workMem}'`,
    `maintenance_work_mem = '${t.maintenanceWorkMem}'`,
    `max_wal_size = '${t.maxWalSize}'`,
    `max_slot_wal_keep_size = '${t.maxSlotWalKeepSize}'`,
    `random_page_cost = ${t.randomPageCost}`,
    '',
  ].join('\n');
}

/**
 * `pg_hba.conf`: password (SCRAM) authentication for everyone, also on the pod's own socket, except
 * the pod's OS user (uid 999, `postgres`), which owns the data directory anyway and logs in as
 * `user` by peer authentication on that socket: the readiness probe needs no password, so a rotated
 * Secret never makes a pod unready. The replication role may only replicate. Which pods reach the
 * port at all is the NetworkPolicy's job (pod addresses are not known in advance, so addresses here
 * are `all`).
 */
export function renderHbaConf(replicationUser: string, user: string): string {
  return [
    '# TYPE  DATABASE     USER  ADDRESS  METHOD',
    `local   all          ${user}  peer  map=${IDENT_MAP}`,
    'local   all          all            scram-sha-256',
    `host    replication  ${replicationUser}  all  scram-sha-256`,
    `host    all          ${replicationUser}  all  reject`,
    'host    all          all   all      scram-sha-256',
    '',
  ].join('\n');
}

/** The pg_ident.conf map of the peer line of pg_hba.conf. */
const IDENT_MAP = 'pod';
/** The image's OS user (uid 999). */
const POD_OS_USER = 'postgres';

/** `pg_ident.conf`: the pod's OS user may log in as `user` over the socket (see renderHbaConf). */
export function renderIdentConf(user: string): string {
  return [
    '# MAPNAME  SYSTEM-USERNAME  PG-USERNAME',
    `${IDENT_MAP}  ${POD_OS_USER}  ${user}`,
    '',
  ].join('\n');
}
