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
  /** Histogram of request durations in seconds, labels `handler`, `method`. */
  durationSeconds: 'http_request_duration_seconds',
  /** The `status` value of server errors (the instrumentator groups status codes). */
  serverErrorStatus: '5xx',
} as const;

/** A business metric a solution's app exposes (README: "Metrics contract"). */
export interface BusinessMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: readonly string[];
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

/** The q-quantile of request duration over `window`, per `by` labels. */
export function durationQuantile(q: number, selector: string, window: string, by: readonly string[] = ['namespace', 'job']): string {
  return `histogram_quantile(${q}, sum by (${[...by, 'le'].join(', ')}) (rate(${HTTP_METRICS.durationSeconds}_bucket{${selector}}[${window}])))`;
}

function joinSelectors(...selectors: string[]): string {
  return selectors.filter((s) => s.length > 0).join(', ');
}
