import { Construct } from 'constructs';
import {
  AnalysisTemplate, AnalysisTemplateSpecMetrics, AnalysisTemplateSpecMetricsConsecutiveErrorLimit, AnalysisTemplateSpecMetricsCount,
  AnalysisTemplateSpecMetricsFailureLimit,
} from '../../imports/analysistemplate-argoproj.io';
import { StandardLabels } from '../labels';
import { HTTP_METRICS, OPERATIONAL_HANDLERS } from '../observability/http-metrics';
import { monitoringOf } from '../observability/monitoring-settings';
import { namespaceMatcher, noneOfMatcher, selector } from '../observability/rules/promql';

/** The argument every analysis takes: the pod-template hash of the version under test. */
export const POD_TEMPLATE_HASH_ARG = 'pod-template-hash';
/** The label Prometheus puts the hash under (PodMonitor `podTargetLabels: [rollouts-pod-template-hash]`). */
export const POD_TEMPLATE_HASH_LABEL = 'rollouts_pod_template_hash';
/** The pod label Argo Rollouts stamps on each version's pods. */
export const POD_TEMPLATE_HASH_POD_LABEL = 'rollouts-pod-template-hash';
/** The window each measurement reads. */
export const ANALYSIS_WINDOW = '2m';
/** What a measurement returns when the version served too few requests to be judged. */
export const NOT_ENOUGH_TRAFFIC = -1;

const HASH = `{{args.${POD_TEMPLATE_HASH_ARG}}}`;

/** Which pods and requests a query reads: one service's new version in one namespace. */
export interface AnalysisTarget {
  /** The service's namespace: every query is restricted to it. */
  readonly namespace: string;
  /** `job` of the service's metrics (its workload name). */
  readonly job: string;
}

/** The `http_requests_total` selector of the new version, probes and scrapes left out, plus `extra`. */
function requests(t: AnalysisTarget, ...extra: string[]): string {
  return selector(HTTP_METRICS.requestsTotal, namespaceMatcher(t.namespace), `job="${t.job}"`, `${POD_TEMPLATE_HASH_LABEL}="${HASH}"`,
    noneOfMatcher('handler', OPERATIONAL_HANDLERS), ...extra);
}

/** `<value> and enough traffic, or -1`: the stated no-data policy, so an empty result or NaN never reaches a condition. */
function judgedOnlyWithTraffic(t: AnalysisTarget, value: string, minRequests: number): string {
  return `(
  ${value}
  and on () sum(increase(${requests(t)}[${ANALYSIS_WINDOW}])) >= ${minRequests}
)
or on () vector(${NOT_ENOUGH_TRAFFIC})`;
}

/**
 * The 5xx share of the new version's responses over the analysis window: 0 when it served requests
 * and none failed (no 5xx series exists until the first 5xx), -1 when it served fewer than
 * `minRequests`.
 */
export function errorRatioQuery(t: AnalysisTarget, minRequests: number): string {
  const errors = `(sum(rate(${requests(t, `status="${HTTP_METRICS.serverErrorStatus}"`)}[${ANALYSIS_WINDOW}])) or on () vector(0))`;
  const all = `sum(rate(${requests(t)}[${ANALYSIS_WINDOW}]))`;
  return judgedOnlyWithTraffic(t, `${errors}\n  / ${all}`, minRequests);
}

/** The new version's p95 latency in seconds over the analysis window; -1 with too little traffic. */
export function latencyP95Query(t: AnalysisTarget, minRequests: number): string {
  const buckets = selector(`${HTTP_METRICS.durationHighrSeconds}_bucket`, namespaceMatcher(t.namespace), `job="${t.job}"`, `${POD_TEMPLATE_HASH_LABEL}="${HASH}"`);
  return judgedOnlyWithTraffic(t, `histogram_quantile(0.95, sum by (le) (rate(${buckets}[${ANALYSIS_WINDOW}])))`, minRequests);
}

/** Container restarts of the new version's pods (`<rollout>-<hash>-xxxxx`) over 5 minutes; 0 when there were none. */
export function restartsQuery(namespace: string, rollout: string): string {
  return `sum(increase(${selector('kube_pod_container_status_restarts_total', namespaceMatcher(namespace), `pod=~"${rollout}-${HASH}-[a-z0-9]+"`)}[5m]))
or on () vector(0)`;
}

/** Argo Rollouts' success and failure conditions of a "not above `limit`" measurement. */
export function notAbove(limit: number): {
  /** `result[0] <= <limit>`: the measurement passes. */
  successCondition: string;
  /** `result[0] > <limit>`: the measurement fails. */
  failureCondition: string;
} {
  return { successCondition: `result[0] <= ${limit}`, failureCondition: `result[0] > ${limit}` };
}

/** Props of {@link RolloutAnalysis}. */
export interface RolloutAnalysisProps {
  /** Name of the AnalysisTemplate. */
  readonly name: string;
  /** The service's labels, put on the AnalysisTemplate. */
  readonly labels: StandardLabels;
  /** The service's namespace and metrics `job` the queries read. */
  readonly target: AnalysisTarget;
  /** The Rollout: its pods are `<rollout>-<hash>-xxxxx`. */
  readonly rollout: string;
  /** The service serves the HTTP metrics contract: judge its error ratio and latency. Else only restarts. */
  readonly http?: {
    /** 5xx share of the new version's responses above which a measurement fails (0.05 is 5%). */
    readonly maxErrorRatio: number;
    /** p95 latency above which a measurement fails, in seconds. */
    readonly maxLatencyP95Seconds: number;
    /** Requests in the 2-minute window below which a measurement passes unjudged (returns -1). */
    readonly minRequests: number;
  };
  /** Measurements before the analysis succeeds; without it the analysis runs until the rollout ends (background). */
  readonly count?: number;
}

/**
 * An `AnalysisTemplate` (argoproj.io/v1alpha1) judging the new version of one service from
 * Prometheus: its 5xx share and p95 latency (the HTTP metrics contract, new pods only through the
 * pod-template hash), and that its pods do not restart. Every measurement has a failure limit and
 * an error limit, so an analysis whose queries keep erroring fails instead of passing.
 */
export class RolloutAnalysis extends Construct {
  /** Name of the AnalysisTemplate, as the Rollout's analyses reference it (`templateName`). */
  public readonly name: string;
  /** The AnalysisTemplate: restarts always, error ratio and p95 latency with `http`; one measurement a minute. */
  public readonly resource: AnalysisTemplate;

  constructor(scope: Construct, id: string, props: RolloutAnalysisProps) {
    super(scope, id);
    this.name = props.name;
    const address = monitoringOf(this).prometheusUrl;
    const measure = (name: string, query: string, limit: number, initialDelay?: string): AnalysisTemplateSpecMetrics => ({
      name,
      interval: '1m',
      initialDelay,
      count: props.count === undefined ? undefined : AnalysisTemplateSpecMetricsCount.fromNumber(props.count),
      // Two bad minutes fail the version; one may be noise. Two failed queries in a row fail it
      // too: an analysis that cannot measure must not pass (argo-rollouts #4479).
      failureLimit: AnalysisTemplateSpecMetricsFailureLimit.fromNumber(1),
      consecutiveErrorLimit: AnalysisTemplateSpecMetricsConsecutiveErrorLimit.fromNumber(2),
      ...notAbove(limit),
      provider: { prometheus: { address, query } },
    });
    const metrics: AnalysisTemplateSpecMetrics[] = [measure('restarts', restartsQuery(props.target.namespace, props.rollout), 0)];
    if (props.http) {
      metrics.push(
        measure('error-ratio', errorRatioQuery(props.target, props.http.minRequests), props.http.maxErrorRatio, ANALYSIS_WINDOW),
        measure('latency-p95', latencyP95Query(props.target, props.http.minRequests), props.http.maxLatencyP95Seconds, ANALYSIS_WINDOW),
      );
    }
    this.resource = new AnalysisTemplate(this, 'Resource', {
      metadata: { name: props.name, labels: { ...props.labels.labels } },
      spec: { args: [{ name: POD_TEMPLATE_HASH_ARG }], metrics },
    });
  }
}
