import { parseQuantity } from '../../quantity';
import { Validator } from '../../validation';

/** Port of the classic MySQL protocol. */
export const MYSQL_PORT = 3306;
/** uid and gid of the `mysql` user of the official image: mysqld runs as the owner of its data. */
export const MYSQL_UID = 999;
/** Mount point of the volume. The data directory is a sub-directory (see {@link DATA_DIR}). */
export const DATA_MOUNT = '/var/lib/mysql';
/**
 * `mysqld --initialize` refuses a data directory that holds anything, and the root of a fresh
 * volume may hold `lost+found`: the data lives one level down, created by the entrypoint.
 */
export const DATA_DIR = `${DATA_MOUNT}/data`;
/** Socket, pid file and server.sh's ready file: an emptyDir, the root file system is read-only. */
export const RUN_DIR = '/var/run/mysqld';
/** The image's /etc/my.cnf includes every `*.cnf` of this directory. */
export const CONFIG_DIR = '/etc/mysql/conf.d';
/** Key of the server configuration in the config ConfigMap. */
export const CONFIG_FILE = 'server.cnf';
/** Where the scripts ConfigMap is mounted. */
export const SCRIPTS_DIR = '/opt/mysql-scripts';
/** The scripts of lib/data/mysql that run in the container, by ConfigMap key. */
export const SCRIPT_FILES = ['client.sh', 'probe.sh', 'replication.sh', 'server.sh'] as const;

/** Server tuning, rendered into the `server.cnf` both the primary and the replicas read. */
export interface MySqlTuning {
  /**
   * InnoDB buffer pool, a memory quantity such as `1Gi`; at most three quarters of the memory limit,
   * which also holds per-connection buffers.
   * @default - half the memory limit, at least 128Mi
   */
  readonly innodbBufferPoolSize?: string;
  /**
   * Client connections the server accepts.
   * @default 500
   */
  readonly maxConnections?: number;
  /**
   * How long the primary keeps binary logs. A replica that stays down longer cannot catch up and
   * must be re-created from a fresh copy.
   * @default 604800 (7 days)
   */
  readonly binlogExpireSeconds?: number;
}

/** {@link MySqlTuning} with every value decided. */
export interface ResolvedMySqlTuning {
  /** Mebibytes. */
  readonly innodbBufferPoolMiB: number;
  /** `max_connections`: an integer from 10 to 100000. */
  readonly maxConnections: number;
  /** `binlog_expire_logs_seconds`: an integer from 3600 (1 hour) to 4294967295. */
  readonly binlogExpireSeconds: number;
}

const MiB = 2 ** 20;

/** Checks the tuning against the memory limit of the container and fills in the defaults. */
export function resolveTuning(v: Validator, field: string, tuning: MySqlTuning | undefined, memoryLimit: string): ResolvedMySqlTuning {
  const t = tuning ?? {};
  const c = v.nested(field);
  const limitBytes = parseQuantity(memoryLimit);
  let innodbBufferPoolMiB = Math.max(128, Math.floor(limitBytes / 2 / MiB));
  if (t.innodbBufferPoolSize !== undefined) {
    c.memory('innodbBufferPoolSize', t.innodbBufferPoolSize);
    const bytes = parseQuantity(t.innodbBufferPoolSize);
    if (bytes < 128 * MiB) c.fail('innodbBufferPoolSize', 'at least 128Mi', t.innodbBufferPoolSize);
    if (bytes > limitBytes * 0.75) {
      c.fail('innodbBufferPoolSize', `at most three quarters of resources.limits.memory (${memoryLimit})`, t.innodbBufferPoolSize);
    }
    innodbBufferPoolMiB = Math.floor(bytes / MiB);
  }
  return {
    innodbBufferPoolMiB,
    maxConnections: c.integer('maxConnections', t.maxConnections ?? 500, 10, 100000),
    binlogExpireSeconds: c.integer('binlogExpireSeconds', t.binlogExpireSeconds ?? 604800, 3600, 4294967295),
  };
}

/**
 * The server configuration of every pod (MySQL 8.0 option names). Per-pod values (server id,
 * report host) are command-line options from server.sh; so is a replica's read-only (once its data
 * directory is initialised), and replication.sh persists super_read_only: a read_only here would
 * break the entrypoint's first initialisation, which writes.
 */
export function renderServerCnf(tuning: ResolvedMySqlTuning): string {
  return [
    '# Rendered by the MySql construct (lib/data/mysql); read after the image\'s /etc/my.cnf.',
    '[mysqld]',
    `datadir = ${DATA_DIR}`,
    '',
    '# Replication with GTID auto-positioning. Replicas log what they apply, so any of them can',
    '# become the source; relay log names do not depend on the host name, and a replica that',
    '# crashed fetches its relay log again instead of trusting a torn one.',
    'gtid_mode = ON',
    'enforce_gtid_consistency = ON',
    'log_bin = mysql-bin',
    'log_replica_updates = ON',
    'relay_log = mysql-relay-bin',
    'relay_log_recovery = ON',
    `binlog_expire_logs_seconds = ${tuning.binlogExpireSeconds}`,
    '',
    '# Durability: a commit is on disk in the redo log and the binary log before it returns.',
    'innodb_flush_log_at_trx_commit = 1',
    'sync_binlog = 1',
    '',
    '# Clients',
    'skip_name_resolve = ON',
    `max_connections = ${tuning.maxConnections}`,
    'max_allowed_packet = 64M',
    'character_set_server = utf8mb4',
    '# Nothing uses the X protocol: its listener (33060) stays closed.',
    'mysqlx = OFF',
    '',
    '# Memory',
    `innodb_buffer_pool_size = ${tuning.innodbBufferPoolMiB}M`,
    '',
  ].join('\n');
}
