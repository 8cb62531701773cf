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
   * p95 request latency in seconds, per service name (`api`, `web`, a model's name).
   * @default - 1 for the API and the web tier, 5 for model services
   */
  readonly latencyP95Seconds?: Record<string, number>;
}
