/**
 * `npm run bench:restore`: backs up and restores a data set of BENCH_RESTORE_GIB GiB (default 1) per
 * engine with the product's own scripts against real servers (MariaDB, PostgreSQL, Redis from
 * Debian's packages) and a local restic repository, then prints the README's RTO/RPO table:
 * measured throughput, and what it means at the production volume sizes against the seeds'
 * targets (full restore < 2 h, point in time < 30 min, RTO <= 4 h, RPO <= 1 h).
 *
 * A local repository measures the engines' and restic's own speed; a restore from a bucket adds
 * the download, which is the bucket's bandwidth: the table states the throughput a link must
 * sustain for the targets to hold.
 */
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

interface BenchResult {
  readonly engine: string;
  readonly server: string;
  readonly dataBytes: number;
  readonly backupSeconds: number;
  readonly restoreSeconds: number;
  readonly pointInTimeSeconds?: number;
  readonly archiveSeconds?: number;
  /** Throughput of the restore's part that grows with the data (the base's extraction); the rest is fixed cost. */
  readonly extractBytesPerSecond?: number;
  /** Bytes of log (WAL, binary logs) the point-in-time restore replayed after its base. */
  readonly replayBytes?: number;
  /** Seconds the replay of `replayBytes` took. @default - all of pointInTimeSeconds (conservative) */
  readonly replaySeconds?: number;
}

type Bench = (options: { bytes: number; workDir: string; variant?: string }) => Promise<BenchResult>;

/**
 * Each benchmark (a name to select it on the command line), its engine's module and variant (the
 * full backup's `fullBackupSource: volume`), the production volume (from the configuration) and the
 * design's RPO.
 */
const ENGINES: readonly { readonly name: string; readonly module: string; readonly variant?: string; readonly prodVolumeGiB: number; readonly volumeOf: string; readonly rpo: string }[] = [
  { name: 'mysql', module: './bench-restore/mysql', prodVolumeGiB: 100, volumeOf: 'logistics MySQL (100Gi), dump', rpo: 'binary logs archived every 30 min: <= 1 h incl. the run and the replica\'s lag' },
  { name: 'mysql-physical', module: './bench-restore/mysql', variant: 'physical', prodVolumeGiB: 100, volumeOf: 'logistics MySQL (100Gi), physical (volume)', rpo: 'binary logs archived every 30 min: <= 1 h incl. the run and the replica\'s lag' },
  { name: 'postgres', module: './bench-restore/postgres', prodVolumeGiB: 200, volumeOf: 'real-estate PostgreSQL (200Gi), pg_basebackup', rpo: 'archive_timeout 5 min + shipping every 60 s: <= 6 min' },
  { name: 'postgres-volume', module: './bench-restore/postgres', variant: 'volume', prodVolumeGiB: 200, volumeOf: 'real-estate PostgreSQL (200Gi), volume base', rpo: 'archive_timeout 5 min + shipping every 60 s: <= 6 min' },
  { name: 'redis', module: './bench-restore/redis', prodVolumeGiB: 2.4, volumeOf: 'Redis (logistics prod: maxmemory at most 2.4 GiB per master, members restored in parallel)', rpo: 'hourly RDB: <= 1 h (a cache: rebuilt from the source of truth)' },
];

const GIB = 1024 ** 3;
const TARGETS = { fullRestoreHours: 2, pointInTimeMinutes: 30, rtoHours: 4 };
/** The log a database writes in a day at prod size, assumed (no production history exists yet): the replay after a daily base. */
const DAILY_LOG_GIB = 10;

function hours(seconds: number): string {
  return seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

async function main(): Promise<void> {
  const gib = Number(process.env.BENCH_RESTORE_GIB ?? 1);
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !ENGINES.some((e) => e.name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}: one of ${ENGINES.map((e) => e.name).join(', ')}`);
  const rows: string[] = [];
  for (const engine of ENGINES) {
    const name = engine.name;
    if (only.length > 0 && !only.includes(name)) continue;
    const workDir = mkdtempSync(join(tmpdir(), `bench-restore-${name}-`));
    // Servers that run as their own user (PostgreSQL as postgres) must enter it.
    chmodSync(workDir, 0o755);
    try {
      const { benchRestore } = (await import(engine.module)) as { benchRestore: Bench };
      process.stderr.write(`bench:restore ${name}: ${gib} GiB ...\n`);
      const r = await benchRestore({ bytes: gib * GIB, workDir, variant: engine.variant });
      const restoreRate = r.dataBytes / r.restoreSeconds;
      const backupRate = r.dataBytes / r.backupSeconds;
      const prodBytes = engine.prodVolumeGiB * GIB;
      // The measured restore, plus the rest of the prod volume at the rate of the part that grows
      // with the data where the bench measured it apart (else everything scaled, fixed costs too).
      const prodRestore = r.extractBytesPerSecond
        ? r.restoreSeconds + Math.max(0, prodBytes - r.dataBytes) / r.extractBytesPerSecond
        : prodBytes / restoreRate;
      const meets = prodRestore <= TARGETS.fullRestoreHours * 3600 ? 'yes' : `no: ${hours(prodRestore)} > ${TARGETS.fullRestoreHours} h`;
      // Point in time at the end of a day: the prod restore plus a day's log at the measured replay rate.
      let pointInTime = 'n/a';
      if (r.pointInTimeSeconds !== undefined && r.replayBytes) {
        const replaySeconds = Math.max(r.replaySeconds ?? r.pointInTimeSeconds, 0.01);
        const prodPointInTime = prodRestore + (DAILY_LOG_GIB * GIB) / (r.replayBytes / replaySeconds);
        pointInTime = `${hours(prodPointInTime)} (${prodPointInTime <= TARGETS.pointInTimeMinutes * 60 ? 'meets' : 'misses'} < ${TARGETS.pointInTimeMinutes} min)`;
      }
      rows.push(`| ${engine.volumeOf} | ${r.server} | ${(r.dataBytes / GIB).toFixed(2)} GiB | ${(backupRate / 2 ** 20).toFixed(0)} MiB/s | ${(restoreRate / 2 ** 20).toFixed(0)} MiB/s`
        + ` | ${r.extractBytesPerSecond ? `${(r.extractBytesPerSecond / 2 ** 20).toFixed(0)} MiB/s` : 'n/a'}`
        + ` | ${r.pointInTimeSeconds !== undefined ? `${r.pointInTimeSeconds.toFixed(0)} s${r.replayBytes ? ` (${(r.replayBytes / GIB).toFixed(2)} GiB of log)` : ''}` : 'n/a'}`
        + ` | ${hours(prodRestore)} | ${meets} | ${pointInTime} | ${engine.rpo} |`);
      process.stderr.write(`bench:restore ${name}: ${JSON.stringify(r)}\n`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  console.log(`| Store (prod volume) | Measured on | Data | Backup | Restore | Base extract | Point in time (measured) | Full restore at prod size | < 2 h | Point in time at prod size, after ${DAILY_LOG_GIB} GiB of log | RPO by design |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((e) => {
  process.stderr.write(`bench:restore failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
