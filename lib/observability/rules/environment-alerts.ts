import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { AlertRules } from '../alert-rules';
import { AlertThresholds, resolveAlertThresholds, ResolvedAlertThresholds } from '../alert-thresholds';
import { BusinessMonitoring, resolveBusinessThresholds, validateBusinessMetrics } from '../business-metrics';
import { EnvironmentMonitoringSettings } from '../environment-monitoring-settings';
import { MONITORING_CONTEXT_KEY } from '../monitoring-settings';
import { isAlertRule, RuleGroup } from '../rules';
import { Validator } from '../../validation';
import { LATENCY_HISTOGRAM_BUCKETS } from '../http-metrics';
import { appHttpRuleGroups, appRequestMatchers, HttpService } from './app-http-rules';
import { kubernetesRuleGroups } from './kubernetes-rules';
import { DocumentedAlertRule, namespaceMatcher } from './promql';

/** A service serving the app metrics contract, and its p95 latency threshold unless configured. */
export interface HttpServiceMonitoring {
  /** Its `job` label (the workload's name). */
  readonly job: string;
  /** Seconds. */
  readonly defaultLatencyP95Seconds: number;
}

/** Props of {@link EnvironmentAlerts}. */
export interface EnvironmentAlertsProps {
  /**
   * Name of the PrometheusRule holding the environment's alerts.
   * @default - `<namespace>-alerts`
   */
  readonly name?: string;
  /**
   * The environment's namespace: every alert's selectors are limited to it. Refused when neither
   * this nor the chart sets one.
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /** `job` of every workload Prometheus scrapes in the namespace: each must keep a target. */
  readonly scrapedJobs: readonly string[];
  /** The services serving the HTTP metrics contract (API, model services). */
  readonly httpServices: readonly HttpServiceMonitoring[];
  /** The API's job, whose traffic tells whether business should be flowing. */
  readonly apiJob: string;
  /**
   * The solution's business metrics and alerts, added as the `<solution>-business` rule group, with
   * their thresholds from `monitoring.thresholds.business` over the solution's defaults.
   * @default - no business alerts
   */
  readonly business?: BusinessMonitoring;
  /**
   * Thresholds of the alerts (ratios as fractions, latencies in seconds), each over its default;
   * values out of range are refused.
   * @default - `monitoring.thresholds` of the environment (the App's monitoring context), else the defaults
   */
  readonly thresholds?: AlertThresholds;
}

/**
 * One environment's alerts, as one PrometheusRule `<namespace>-alerts`: resource saturation,
 * workload availability and scrape targets (kubernetes-rules.ts), the app services' error ratio
 * and latency (app-http-rules.ts), and the solution's business alerts. Every selector is limited
 * to the environment's namespace; thresholds come from `monitoring.thresholds`.
 */
export class EnvironmentAlerts extends Construct {
  /** The environment's namespace: every alert's selectors are limited to it. */
  public readonly namespace: string;
  /** The shared thresholds in force: `thresholds` (props or `monitoring.thresholds`) over the defaults. */
  public readonly thresholds: ResolvedAlertThresholds;
  /** p95 threshold in seconds per service job. */
  public readonly latencyP95Seconds: Readonly<Record<string, number>>;
  /** The solution's business thresholds in force, by name: configured over its defaults; empty without `business`. */
  public readonly businessThresholds: Readonly<Record<string, number>>;
  /** The solution's business metrics and alerts, as given; undefined when it has none. */
  public readonly business?: BusinessMonitoring;
  /**
   * The rule groups: Kubernetes (saturation, availability, scrape targets), app HTTP, then
   * `<solution>-business` when the solution has business alerts.
   */
  public readonly groups: readonly RuleGroup[];
  /** The PrometheusRule holding {@link EnvironmentAlerts.groups}, named `<namespace>-alerts` unless `name` is set. */
  public readonly rules: AlertRules;

  constructor(scope: Construct, id: string, props: EnvironmentAlertsProps) {
    super(scope, id);
    const v = Validator.of(this, 'monitoring.thresholds');
    const namespace = props.namespace ?? Chart.of(this).namespace ?? Validator.of(this, id).fail('namespace', 'set, on the props or the chart', undefined);
    this.namespace = namespace;
    const configured: AlertThresholds = props.thresholds
      ?? (this.node.tryGetContext(MONITORING_CONTEXT_KEY) as EnvironmentMonitoringSettings | undefined)?.thresholds ?? {};
    this.thresholds = resolveAlertThresholds(v, configured);
    this.latencyP95Seconds = resolveLatency(v, props.httpServices, configured.latencyP95Seconds ?? {});
    this.business = props.business;
    this.businessThresholds = resolveBusinessThresholds(v, props.business?.thresholds ?? {}, configured.business);
    if (props.business) validateBusinessMetrics(Validator.of(this, props.business.solution), props.business.solution, props.business.metrics);

    const services: HttpService[] = props.httpServices.map((s) => ({ job: s.job, latencyP95Seconds: this.latencyP95Seconds[s.job] }));
    const businessAlerts = props.business?.alerts({
      namespace,
      namespaceMatcher: namespaceMatcher(namespace),
      apiRequestMatchers: appRequestMatchers(namespace, [props.apiJob]),
      thresholds: this.businessThresholds,
    }) ?? [];
    this.groups = [
      ...kubernetesRuleGroups({ namespace, thresholds: this.thresholds, scrapedJobs: [...new Set(props.scrapedJobs)].sort() }),
      ...appHttpRuleGroups({ namespace, services, serverErrorRatio: this.thresholds.serverErrorRatio }),
      ...(businessAlerts.length > 0 ? [{ name: `${props.business!.solution}-business`, rules: businessAlerts }] : []),
    ];
    this.rules = new AlertRules(this, 'Rules', { name: props.name ?? `${namespace}-alerts`, groups: this.groups });
  }

  /** Every alert, with what its expression computes. */
  public get alerts(): DocumentedAlertRule[] {
    return this.groups.flatMap((g) => g.rules.filter(isAlertRule)) as DocumentedAlertRule[];
  }
}

/** Highest finite bucket of the latency histogram: histogram_quantile never reports more. */
const MAX_LATENCY_SECONDS = LATENCY_HISTOGRAM_BUCKETS[LATENCY_HISTOGRAM_BUCKETS.length - 1];

function resolveLatency(v: Validator, services: readonly HttpServiceMonitoring[], configured: Readonly<Record<string, number>>): Record<string, number> {
  const jobs = services.map((s) => s.job);
  for (const job of Object.keys(configured)) {
    if (!jobs.includes(job)) v.fail(`latencyP95Seconds.${job}`, `a service that serves the metrics contract (${jobs.join(', ')})`, job);
  }
  return Object.fromEntries(services.map((s) => {
    const value = configured[s.job] ?? s.defaultLatencyP95Seconds;
    // At or above the highest bucket the p95 can never exceed the threshold: the alert could not fire.
    if (typeof value !== 'number' || !(value > 0 && value < MAX_LATENCY_SECONDS)) {
      v.fail(`latencyP95Seconds.${s.job}`, `seconds above 0 and below ${MAX_LATENCY_SECONDS} (the latency histogram's highest bucket)`, value);
    }
    return [s.job, value];
  }));
}
