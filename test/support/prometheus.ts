/**
 * Prometheus' own tools for the tests: `promtool check rules` / `promtool test rules` on rule files
 * taken from PrometheusRule objects, and a real Prometheus server (Debian package `prometheus`)
 * scraping exporters on loopback and evaluating those rules.
 */
import { spawnSync } from 'child_process';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { dump } from 'js-yaml';
import { findBinary, freePort, ServerProcess, tempDir, Unrecoverable, waitFor } from './real-servers';

export const PROMETHEUS_BINARIES = { promtool: findBinary('promtool'), prometheus: findBinary('prometheus') };
export const ALERTMANAGER_BINARIES = { amtool: findBinary('amtool'), alertmanager: findBinary('prometheus-alertmanager') ?? findBinary('alertmanager') };

/** A rule group as it appears in a rule file (and in a PrometheusRule's spec.groups). */
export interface RuleFileGroup {
  readonly name: string;
  readonly rules: readonly Record<string, unknown>[];
}

/** The rule groups of PrometheusRule objects (rendered manifests), as one rule file's content. */
export function ruleFileOf(prometheusRules: readonly Record<string, any>[]): { groups: RuleFileGroup[] } {
  return { groups: prometheusRules.flatMap((r) => r.spec.groups as RuleFileGroup[]) };
}

/** Runs promtool with `args` in `cwd`; returns its exit status and output. */
export function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(PROMETHEUS_BINARIES.promtool!, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** `promtool check rules` on a rule file written from `content`. */
export function checkRules(content: { groups: readonly RuleFileGroup[] }): { status: number | null; output: string } {
  const dir = tempDir('promtool-check');
  try {
    writeFileSync(join(dir.path, 'rules.yaml'), dump(content, { lineWidth: -1 }));
    return promtool(['check', 'rules', 'rules.yaml'], dir.path);
  } finally {
    dir.remove();
  }
}

/** One unit test of `promtool test rules`: input series and the alerts expected at given times. */
export interface RuleUnitTest {
  readonly interval?: string;
  readonly input_series: readonly { series: string; values: string }[];
  readonly alert_rule_test?: readonly { eval_time: string; alertname: string; exp_alerts: readonly { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] }[];
  readonly promql_expr_test?: readonly { expr: string; eval_time: string; exp_samples: readonly { labels?: string; value: number }[] }[];
}

/** `promtool test rules` with the rule file `content` and `tests`. */
export function testRules(content: { groups: readonly RuleFileGroup[] }, tests: readonly RuleUnitTest[], evaluationInterval = '1m'): { status: number | null; output: string } {
  const dir = tempDir('promtool-test');
  try {
    writeFileSync(join(dir.path, 'rules.yaml'), dump(content, { lineWidth: -1 }));
    writeFileSync(join(dir.path, 'tests.yaml'), dump({ rule_files: ['rules.yaml'], evaluation_interval: evaluationInterval, tests }, { lineWidth: -1 }));
    return promtool(['test', 'rules', 'tests.yaml'], dir.path);
  } finally {
    dir.remove();
  }
}

export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly string[];
  /** Labels added to every series of the job (as a PodMonitor adds `namespace`, `pod`, ...). */
  readonly labels?: Record<string, string>;
}

export interface PrometheusServerOptions {
  readonly jobs: readonly ScrapeJob[];
  readonly rules: { groups: readonly RuleFileGroup[] };
  /** @default 1 */
  readonly scrapeIntervalSeconds?: number;
}

/** A Prometheus server on a free loopback port, in a directory of its own, stopped by {@link stop}. */
export class PrometheusServer {
  public static async start(options: PrometheusServerOptions): Promise<PrometheusServer> {
    const dir = tempDir('prometheus');
    const port = await freePort();
    const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
    writeFileSync(join(dir.path, 'rules.yaml'), dump(options.rules, { lineWidth: -1 }));
    writeFileSync(join(dir.path, 'prometheus.yml'), dump({
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: ['rules.yaml'],
      scrape_configs: options.jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: j.targets, labels: j.labels ?? {} }] })),
    }, { lineWidth: -1 }));
    const child = new ServerProcess(PROMETHEUS_BINARIES.prometheus!, [
      '--config.file=prometheus.yml', `--storage.tsdb.path=${join(dir.path, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    ], { cwd: dir.path });
    const server = new PrometheusServer(child, port, dir);
    await waitFor('Prometheus to be ready', async () => {
      child.assertRunning('prometheus');
      return (await fetch(`${server.url}/-/ready`)).ok;
    }, 30_000);
    return server;
  }

  private constructor(private readonly process: ServerProcess, public readonly port: number, private readonly dir: { path: string; remove: () => void }) {}

  public get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The result vector of an instant query. */
  public async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = await response.json() as { status: string; data?: { result: any[] }; error?: string };
    if (body.status !== 'success') throw new Unrecoverable(`query ${expr} failed: ${body.error}`);
    return body.data!.result;
  }

  /** Alerts and their state (`pending`, `firing`). */
  public async alerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
    const body = await (await fetch(`${this.url}/api/v1/alerts`)).json() as { data: { alerts: any[] } };
    return body.data.alerts;
  }

  /** Metric names of every series scraped from `job`. */
  public async metricNames(job: string): Promise<Set<string>> {
    const result = await this.query(`count by (__name__) ({job="${job}"})`);
    return new Set(result.map((r) => r.metric.__name__));
  }

  /** Waits until an alert named `alert` (with `labels`, if given) is firing. */
  public async waitFiring(alert: string, timeoutMs = 60_000, labels: Record<string, string> = {}): Promise<void> {
    await waitFor(`alert ${alert} to fire`, async () => {
      this.process.assertRunning('prometheus');
      return (await this.alerts()).some((a) => a.labels.alertname === alert && a.state === 'firing'
        && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
    }, timeoutMs, 500);
  }

  public async stop(): Promise<void> {
    await this.process.stop();
    this.dir.remove();
  }
}

/**
 * The rule groups of a synthesized PrometheusRule (`name` among `objects`) for a test Prometheus:
 * `for:` shortened so alerts fire within seconds, group names prefixed where two stores' rules
 * share one server.
 */
export function ruleGroupsOf(objects: readonly Record<string, any>[], name: string, options: { forDuration?: string; prefix?: string } = {}): RuleFileGroup[] {
  const rule = objects.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === name);
  if (!rule) throw new Error(`no PrometheusRule ${name}`);
  const forDuration = options.forDuration ?? '3s';
  return rule.spec.groups.map((g: Record<string, any>) => ({
    name: options.prefix ? `${options.prefix}-${g.name}` : g.name,
    rules: g.rules.map((r: Record<string, any>) => (r.for ? { ...r, for: forDuration } : r)),
  }));
}
