import { k8s } from 'cdk8s-plus-27';

/** Timing of a probe. Every field is in seconds or counts, as the Kubernetes Probe fields are. */
export interface ProbeTiming {
  /** Seconds after the container started before the first probe. @default 0 */
  readonly initialDelaySeconds?: number;
  /** Seconds between probes. @default 10 */
  readonly periodSeconds?: number;
  /** Seconds one probe may take. @default 5 (3 for HTTP probes) */
  readonly timeoutSeconds?: number;
  /** Consecutive failures that count as failed. @default 3 */
  readonly failureThreshold?: number;
}

/** An HTTP GET probe on a named container port. */
export function httpProbe(path: string, port: string, timing: ProbeTiming = {}): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromString(port) },
    initialDelaySeconds: timing.initialDelaySeconds ?? 0,
    periodSeconds: timing.periodSeconds ?? 10,
    timeoutSeconds: timing.timeoutSeconds ?? 3,
    failureThreshold: timing.failureThreshold ?? 3,
  };
}

/** A probe that runs a command in the container (`pg_isready`, `probe.sh ready`, `redis-cli ping`). */
export function execProbe(command: string[], timing: ProbeTiming = {}): k8s.Probe {
  return {
    exec: { command },
    initialDelaySeconds: timing.initialDelaySeconds ?? 0,
    periodSeconds: timing.periodSeconds ?? 10,
    timeoutSeconds: timing.timeoutSeconds ?? 5,
    failureThreshold: timing.failureThreshold ?? 3,
  };
}
