/**
 * The application tier's metrics contract. The API and the AI services are Python/uvicorn apps
 * written by the user; they expose Prometheus metrics at `GET /metrics` on their HTTP port, named
 * as prometheus-fastapi-instrumentator names them by default (status codes grouped: `2xx`, `5xx`),
 * plus each solution's business metrics. Alert rules, dashboards and (later) rollout analyses use
 * these names and nothing else.
 */

/** Path the app serves its metrics on, on its HTTP container port. */
export const APP_METRICS_PATH = '/metrics';

/** prometheus-fastapi-instrumentator's default metrics and labels. */
export const HTTP_METRICS = {
  /** Counter of requests, labels `handler`, `method`, `status` (grouped: `2xx`, `4xx`, `5xx`). */
  requestsTotal: 'http_requests_total',
  /**
   * Histogram of request durations in seconds, labels `handler`, `method`; its default buckets stop
   * at 1 s (0.1, 0.5, 1), so no quantile above 1 s can be read from it.
   */
  durationSeconds: 'http_request_duration_seconds',
  /**
   * The high-resolution latency histogram (no labels besides the target's), buckets up to 60 s:
   * what latency alerts and dashboards use.
   */
  durationHighrSeconds: 'http_request_duration_highr_seconds',
  /** The `status` value of server errors (the instrumentator groups status codes). */
  serverErrorStatus: '5xx',
} as const;

/** The instrumentator's default buckets of {@link HTTP_METRICS.durationHighrSeconds}, in seconds. */
export const LATENCY_HISTOGRAM_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 7.5, 10, 30, 60,
];

/**
 * Handlers that are not the service's work: the scrape itself and the probes. Left out of the
 * error ratio and of "is the API busy", so that idle pods (probed every few seconds) do not dilute
 * or fake them; the apps exclude them from the latency histogram (`excluded_handlers`).
 */
export const OPERATIONAL_HANDLERS: readonly string[] = [APP_METRICS_PATH, '/health', '/ready'];

/** A business metric a solution's app exposes (README: "Metrics contract"). */
export interface BusinessMetric {
  /**
   * Prometheus metric name: snake_case, prefixed with the solution (`real_estate_`), unique in the
   * solution. The suffix `_ratio`, `_seconds` or `_bytes` sets a gauge's dashboard unit.
   */
  readonly name: string;
  /**
   * `counter` (name must end in `_total`; dashboards show its rate per minute summed over pods) or
   * `gauge` (name must not end in `_total`; shown as each pod reports it).
   */
  readonly type: 'counter' | 'gauge';
  /**
   * Label names the app sets on the metric; dashboards group and name series by them. Labels that
   * Prometheus or the alert routing set (`job`, `instance`, `namespace`, `pod`, `severity`, `le`, ...)
   * are refused.
   */
  readonly labels: readonly string[];
  /** The metric's HELP text: what it counts or measures, with its unit; also its dashboard panel's description. */
  readonly help: string;
}

/**
 * Ratio of 5xx responses to all responses over `window`, per `by` labels. The ratio is computed
 * from the sums of numerator and denominator (Prometheus' naming practice), and is absent (not NaN)
 * when there was no traffic: `> 0` on the denominator.
 */
export function serverErrorRatio(selector: string, window: string, by: readonly string[] = ['namespace', 'job']): string {
  const group = by.length > 0 ? ` by (${by.join(', ')})` : '';
  const total = `sum${group} (rate(${HTTP_METRICS.requestsTotal}{${selector}}[${window}]))`;
  return `sum${group} (rate(${HTTP_METRICS.requestsTotal}{${joinSelectors(selector, `status="${HTTP_METRICS.serverErrorStatus}"`)}}[${window}]))\n  / (${total} > 0)`;
}


function joinSelectors(...selectors: string[]): string {
  return selectors.filter((s) => s.length > 0).join(', ');
}
