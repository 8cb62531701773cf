import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { namespaceMatcher, oneOfMatcher, selector } from '../rules/promql';

/**
 * Where a store's series are: its namespace (the chart's, so one environment's rules never see
 * another's series on a shared Prometheus) and its jobs (`job` = the workload's name, set by the
 * PodMonitor).
 */
export class StoreSeries {
  /** For the store construct at `scope`: its chart's namespace, when the chart has one. */
  public static of(scope: Construct): StoreSeries {
    return new StoreSeries(Chart.of(scope).namespace);
  }

  /** @param namespace `namespace` matcher of every selector; none when undefined (a chart without namespace). */
  constructor(
    /** Namespace every selector is limited to (`namespace="..."`); undefined for a chart without namespace. */
    public readonly namespace?: string,
  ) {}

  /** `metric{namespace="...", job="..."}` (or `job=~"a|b"`), plus `extra` matchers. */
  public select(metric: string, jobs: readonly string[], ...extra: string[]): string {
    return selector(metric, this.namespace ? namespaceMatcher(this.namespace) : '', oneOfMatcher('job', jobs), ...extra);
  }

  /**
   * The server behind an exporter is down: the exporter says so (`<metric> == 0`, its own `up`
   * stays 1), or no exporter of the job was scraped for `window` (pod gone, PodMonitor not selected).
   */
  public downExpr(metric: string, job: string, window: string): string {
    return `${this.select(metric, [job])} == 0\nor absent_over_time(${this.select(metric, [job])}[${window}])`;
  }
}

