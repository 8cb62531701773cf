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
}

type Bench = (options: { bytes: number; workDir: string }) => Promise<BenchResult>;

/** Each engine's benchmark, its production volume (from the configuration) and the design's RPO. */
const ENGINES: readonly { readonly module: string; readonly prodVolumeGiB: number; readonly volumeOf: string; readonly rpo: string }[] = [
  { module: './bench-restore/mysql', prodVolumeGiB: 100, volumeOf: 'logistics MySQL (100Gi)', rpo: 'binary logs archived hourly: <= 1 h plus the archive run (minutes)' },
  { module: './bench-restore/postgres', prodVolumeGiB: 200, volumeOf: 'real-estate PostgreSQL (200Gi)', rpo: 'archive_timeout 5 min + shipping every 60 s: <= 6 min' },
  { module: './bench-restore/redis', prodVolumeGiB: 2.4, volumeOf: 'Redis (logistics prod: maxmemory at most 2.4 GiB per master, members restored in parallel)', rpo: 'hourly RDB: <= 1 h (a cache: rebuilt from the source of truth)' },
];

const GIB = 1024 ** 3;
const TARGETS = { fullRestoreHours: 2, pointInTimeMinutes: 30, rtoHours: 4 };

function hours(seconds: number): string {
  return seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

async function main(): Promise<void> {
  const gib = Number(process.env.BENCH_RESTORE_GIB ?? 1);
  const only = process.argv.slice(2);
  const rows: string[] = [];
  for (const engine of ENGINES) {
    const name = engine.module.split('/').pop()!;
    if (only.length > 0 && !only.includes(name)) continue;
    const workDir = mkdtempSync(join(tmpdir(), `bench-restore-${name}-`));
    // Servers that run as their own user (PostgreSQL as postgres) must enter it.
    chmodSync(workDir, 0o755);
    try {
      const { benchRestore } = (await import(engine.module)) as { benchRestore: Bench };
      process.stderr.write(`bench:restore ${name}: ${gib} GiB ...\n`);
      const r = await benchRestore({ bytes: gib * GIB, workDir });
      const restoreRate = r.dataBytes / r.restoreSeconds;
      const backupRate = r.dataBytes / r.backupSeconds;
      const prodBytes = engine.prodVolumeGiB * GIB;
      const prodRestore = prodBytes / restoreRate;
      const meets = prodRestore <= TARGETS.fullRestoreHours * 3600 ? 'yes' : `no: ${hours(prodRestore)} > ${TARGETS.fullRestoreHours} h`;
      rows.push(`| ${engine.volumeOf} | ${r.server} | ${(r.dataBytes / GIB).toFixed(2)} GiB | ${(backupRate / 2 ** 20).toFixed(0)} MiB/s | ${(restoreRate / 2 ** 20).toFixed(0)} MiB/s`
        + ` | ${r.pointInTimeSeconds !== undefined ? `${r.pointInTimeSeconds.toFixed(0)} s` : 'n/a'} | ${hours(prodRestore)} | ${meets} | ${engine.rpo} |`);
      process.stderr.write(`bench:restore ${name}: ${JSON.stringify(r)}\n`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  console.log('| Store (prod volume) | Measured on | Data | Backup | Restore | Point-in-time replay | Full restore at prod size | < 2 h | RPO by design |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((e) => {
  process.stderr.write(`bench:restore failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
