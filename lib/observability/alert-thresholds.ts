import { Validator } from '../validation';

/**
 * Thresholds of the environment's alerts (seed 004 11.4 defaults), configurable per environment
 * under `monitoring.thresholds`. Ratios are fractions (0.9 is 90%).
 */
export interface AlertThresholds {
  /** Container CPU usage over its limit. @default 0.9 */
  readonly cpuLimitRatio?: number;
  /** Container memory working set over its limit. @default 0.9 */
  readonly memoryLimitRatio?: number;
  /** Used bytes of a persistent volume over its capacity. @default 0.9 */
  readonly volumeUsageRatio?: number;
  /** 5xx responses over all responses, per service. @default 0.01 */
  readonly serverErrorRatio?: number;
  /**
   * p95 request latency in seconds, per scraped service name (`api`, a model's name). The web
   * tier (nginx) exposes no metrics and has no latency alert.
   * @default - 1 for the API, 5 for model services
   */
  readonly latencyP95Seconds?: Record<string, number>;
  /**
   * Thresholds of the solution's business alerts, by the names the solution declares (README
   * "Metrics contract"): `recommendationSuccessRatio`, `valuationAccuracyRatio` (real estate),
   * `busyApiRequestsPerSecond` (logistics).
   * @default - each solution's defaults
   */
  readonly business?: Record<string, number>;
}

/** The thresholds every environment shares, with their defaults applied. */
export interface ResolvedAlertThresholds {
  /** Container CPU usage over its CPU limit above which the environment alerts; in (0, 1]. */
  readonly cpuLimitRatio: number;
  /** Container memory working set over its memory limit above which the environment alerts; in (0, 1]. */
  readonly memoryLimitRatio: number;
  /** Used bytes over capacity of a PersistentVolumeClaim above which the environment alerts; in (0, 1]. */
  readonly volumeUsageRatio: number;
  /** 5xx responses over all responses of a scraped service above which it alerts; in (0, 1]. */
  readonly serverErrorRatio: number;
}

/** The shared thresholds used when `monitoring.thresholds` sets none: 90% for saturation, 1% of 5xx. */
export const DEFAULT_ALERT_THRESHOLDS: ResolvedAlertThresholds = {
  cpuLimitRatio: 0.9,
  memoryLimitRatio: 0.9,
  volumeUsageRatio: 0.9,
  serverErrorRatio: 0.01,
};

/** p95 latency (seconds) above which the API alerts. */
export const DEFAULT_API_LATENCY_P95_SECONDS = 1;
/** p95 latency (seconds) above which a model service alerts: inference takes longer than CRUD. */
export const DEFAULT_MODEL_LATENCY_P95_SECONDS = 5;

/** The shared thresholds of `thresholds` over the defaults, each checked to be a ratio in (0, 1]. */
export function resolveAlertThresholds(v: Validator, thresholds: AlertThresholds = {}): ResolvedAlertThresholds {
  const ratio = (field: keyof ResolvedAlertThresholds): number => {
    const value = thresholds[field] ?? DEFAULT_ALERT_THRESHOLDS[field];
    if (typeof value !== 'number' || !(value > 0 && value <= 1)) v.fail(field, 'a ratio above 0 and at most 1 (0.9 is 90%)', value);
    return value;
  };
  return {
    cpuLimitRatio: ratio('cpuLimitRatio'),
    memoryLimitRatio: ratio('memoryLimitRatio'),
    volumeUsageRatio: ratio('volumeUsageRatio'),
    serverErrorRatio: ratio('serverErrorRatio'),
  };
}

/** A ratio as the alert table and annotations say it: `90%`, `1%`, `0.5%`. */
export function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(4))}%`;
}
