import { percent } from '../alert-thresholds';
import { HTTP_METRICS, OPERATIONAL_HANDLERS, serverErrorRatio } from '../http-metrics';
import { RuleGroup } from '../rules';
import { Severity } from '../severity';
import { DocumentedAlertRule, namespaceMatcher, noneOfMatcher, oneOfMatcher, selector } from './promql';

/** The latency histogram the rules read (see {@link HTTP_METRICS}). */
export const LATENCY_HISTOGRAM = HTTP_METRICS.durationHighrSeconds;

/** Recorded 5xx ratio per service, over 5m. */
export const SERVER_ERROR_RATIO_RECORD = 'namespace_job:http_requests_server_errors_per_requests:ratio_rate5m';
/** Recorded p95 latency per service, over 5m. */
export const LATENCY_P95_RECORD = 'namespace_job:http_request_duration_highr_seconds:p95_rate5m';

/** A service that serves the app metrics contract. */
export interface HttpService {
  /** Its `job` label: the workload's name. */
  readonly job: string;
  readonly latencyP95Seconds: number;
}

export interface AppHttpRulesOptions {
  readonly namespace: string;
  readonly services: readonly HttpService[];
  readonly serverErrorRatio: number;
}

/** Selector matchers of a service's own requests: its jobs in the namespace, operational handlers left out. */
export function appRequestMatchers(namespace: string, jobs: readonly string[]): string[] {
  return [namespaceMatcher(namespace), oneOfMatcher('job', jobs), noneOfMatcher('handler', OPERATIONAL_HANDLERS)];
}

/**
 * The error ratio and p95 latency of every app service, recorded per service
 * (`level:metric:operations`), and the alerts on them: 5xx over `serverErrorRatio`, p95 over the
 * service's own threshold.
 */
export function appHttpRuleGroups(options: AppHttpRulesOptions): RuleGroup[] {
  if (options.services.length === 0) return [];
  const ns = namespaceMatcher(options.namespace);
  const jobs = options.services.map((s) => s.job);
  const requests = appRequestMatchers(options.namespace, jobs).join(', ');
  const latency = options.services
    .map((s) => `${selector(LATENCY_P95_RECORD, ns, oneOfMatcher('job', [s.job]))} > ${s.latencyP95Seconds}`)
    .join('\nor ');
  const latencyThresholds = options.services.map((s) => `${s.job} ${s.latencyP95Seconds} s`).join(', ');
  const alerts: DocumentedAlertRule[] = [
    {
      alert: 'HttpServerErrorRatioHigh',
      expr: `${selector(SERVER_ERROR_RATIO_RECORD, ns)} > ${options.serverErrorRatio}`,
      forDuration: '5m',
      severity: Severity.P2,
      summary: `{{ $labels.job }} answers over ${percent(options.serverErrorRatio)} of its requests with 5xx`,
      description: 'Server errors above target. Look at the service\'s logs and at what it depends on (stores, model services); a recent rollout is the first suspect.',
      threshold: `> ${percent(options.serverErrorRatio)} of requests`,
      expressionSummary: `${HTTP_METRICS.requestsTotal} status="5xx" / all, per service, over 5m (probes and scrapes left out)`,
    },
    {
      alert: 'HttpLatencyP95High',
      expr: latency,
      forDuration: '10m',
      severity: Severity.P2,
      summary: '{{ $labels.job }} answers slower than its p95 latency threshold',
      description: 'The 95th percentile of request durations is over the service\'s threshold: saturation (CPU, HPA at max), a slow store or a slow model. Check the resources alerts and the dependencies.',
      threshold: `p95 > ${latencyThresholds}`,
      expressionSummary: `p95 of ${LATENCY_HISTOGRAM}, per service, over 5m`,
    },
  ];
  return [{
    name: 'app-http',
    rules: [
      { record: SERVER_ERROR_RATIO_RECORD, expr: serverErrorRatio(requests, '5m') },
      {
        record: LATENCY_P95_RECORD,
        expr: `histogram_quantile(0.95, sum by (namespace, job, le) (rate(${selector(`${LATENCY_HISTOGRAM}_bucket`, ns, oneOfMatcher('job', jobs))}[5m])))`,
      },
      ...alerts,
    ],
  }];
}
