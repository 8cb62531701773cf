/** How a new version of a stateless service replaces the old one (R17). */
export enum DeliveryStrategy {
  /** A Deployment's rolling update: surge new pods, never drop below the desired count. */
  ROLLING = 'rolling',
  /**
   * Argo Rollouts blue-green: the new version starts beside the old behind a preview Service, is
   * checked, then takes all traffic at once; checked again, and switched back if it misbehaves while
   * the old pods still run (instant rollback).
   */
  BLUE_GREEN = 'blueGreen',
  /**
   * Argo Rollouts canary: traffic moves to the new version in steps (10% -> 50% -> 100% by default),
   * each held and analysed; any failed analysis aborts and returns all traffic to the old version.
   * Split by ingress-nginx where an Ingress fronts the service, by replica counts elsewhere.
   */
  CANARY = 'canary',
}

/** Release strategy of a service, and the limits its automatic analysis enforces. */
export interface DeliveryOptions {
  /**
   * How a new version replaces the old: a Deployment's rolling update, or an Argo Rollouts
   * blue-green or canary release; `canaryWeights` is refused unless canary, `scaleDownDelaySeconds`
   * unless blue-green.
   * @default DeliveryStrategy.ROLLING
   */
  readonly strategy?: DeliveryStrategy;
  /**
   * Canary: the traffic percentages of the steps before 100%, increasing, each held for
   * `stepPauseMinutes` while the analysis runs.
   * @default [10, 50]
   */
  readonly canaryWeights?: number[];
  /**
   * Canary: minutes each step is held; blue-green: minutes the post-promotion analysis watches the
   * new version. Always a timed pause: an open-ended pause would leave Argo CD's sync Suspended.
   * @default 5
   */
  readonly stepPauseMinutes?: number;
  /**
   * The share of 5xx responses of the new version's pods above which the release rolls back.
   * @default 0.05 (seed 004 11.3)
   */
  readonly maxErrorRatio?: number;
  /**
   * Requests the new version must serve in the analysis window for its error ratio and latency to
   * be judged; with fewer the measurement counts as passed (stated no-data policy: a version that
   * gets no traffic cannot be judged by its traffic, and a canary step always sends it some).
   * @default 20
   */
  readonly minRequests?: number;
  /**
   * Blue-green: seconds the old version keeps running after the switch, so that a failed
   * post-promotion analysis switches back at once.
   * @default 600
   */
  readonly scaleDownDelaySeconds?: number;
}
