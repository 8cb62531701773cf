import { Chart } from 'cdk8s';
import { Construct } from 'constructs';

/** Folder of an environment's restore Jobs, below its manifests: `kubectl apply -f <env>/` does not recurse into it. */
export const RESTORE_FOLDER = 'restore';

const RESTORE_CHART = Symbol.for('ai-platform.RestoreChart');

/**
 * The chart of one store's restore Jobs, written to `<environment>/restore/<id>.k8s.yaml` rather
 * than beside the environment's manifests: neither `kubectl apply -f dist/<solution>/<env>/` nor
 * Argo CD's (non-recursive) directory source picks it up, so a restore only ever runs when a person
 * creates it (the runbook's command).
 */
export class RestoreChart extends Chart {
  /** Whether `x` is a restore chart (cdk8s' Chart answers `instanceof` for every chart, so a marker decides). */
  public static isRestoreChart(x: unknown): boolean {
    return typeof x === 'object' && x !== null && RESTORE_CHART in x;
  }

  constructor(scope: Construct, id: string, namespace: string | undefined) {
    super(scope, id, { namespace });
    Object.defineProperty(this, RESTORE_CHART, { value: true });
  }
}
