import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Validator } from './validation';

/** Horizontal autoscaling of a stateless tier (R9). */
export interface AutoscalingOptions {
  /** Pods at least; 2 or more keeps the service up through a node failure. */
  readonly minReplicas: number;
  /** Pods at most. */
  readonly maxReplicas: number;
  /**
   * Average CPU utilisation (percent of requests) the HPA keeps.
   * @default 70
   */
  readonly targetCpuUtilizationPercent?: number;
  /**
   * Average memory utilisation (percent of requests) the HPA keeps as well.
   * @default - CPU only
   */
  readonly targetMemoryUtilizationPercent?: number;
}

/** Properties of {@link Autoscaler}: the scaling bounds and targets, and the HPA's name, labels and target workload. */
export interface AutoscalerProps extends AutoscalingOptions {
  /** Name of the HPA. */
  readonly name: string;
  /** Labels of the HPA object, usually the target workload's standard labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** The Deployment (or Rollout) that is scaled: the HPA's `spec.scaleTargetRef`. */
  readonly target: {
    /** API version of the target: `apps/v1` for a Deployment, `argoproj.io/v1alpha1` for a Rollout. */
    readonly apiVersion: string;
    /** Kind of the target: `Deployment` or `Rollout`. */
    readonly kind: string;
    /** Name of the target object in the same namespace. */
    readonly name: string;
  };
}

/**
 * An autoscaling/v2 HorizontalPodAutoscaler that scales up fast and down slowly (five minutes of
 * stabilisation), so that a short dip does not remove capacity a spike needs again.
 */
export class Autoscaler extends Construct {
  /** Fewest pods the HPA keeps, after validation (an integer from 1 to 1000). */
  public readonly minReplicas: number;
  /** Most pods the HPA scales to, after validation (1 to 1000, at least `minReplicas`). */
  public readonly maxReplicas: number;
  /** The emitted autoscaling/v2 HorizontalPodAutoscaler, named `props.name`. */
  public readonly hpa: k8s.KubeHorizontalPodAutoscalerV2;

  constructor(scope: Construct, id: string, props: AutoscalerProps) {
    super(scope, id);
    const v = Validator.of(this, `${scope.node.id}.autoscaling`);
    this.minReplicas = v.integer('minReplicas', props.minReplicas, 1, 1000);
    this.maxReplicas = v.integer('maxReplicas', props.maxReplicas, 1, 1000);
    if (this.maxReplicas < this.minReplicas) v.fail('maxReplicas', `at least minReplicas (${this.minReplicas})`, this.maxReplicas);
    const cpu = v.integer('targetCpuUtilizationPercent', props.targetCpuUtilizationPercent ?? 70, 1, 100);
    const memory = props.targetMemoryUtilizationPercent === undefined
      ? undefined
      : v.integer('targetMemoryUtilizationPercent', props.targetMemoryUtilizationPercent, 1, 100);

    const metrics: k8s.MetricSpecV2[] = [utilization('cpu', cpu)];
    if (memory !== undefined) metrics.push(utilization('memory', memory));

    this.hpa = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Resource', {
      metadata: { name: props.name, labels: { ...props.labels } },
      spec: {
        scaleTargetRef: { apiVersion: props.target.apiVersion, kind: props.target.kind, name: props.target.name },
        minReplicas: this.minReplicas,
        maxReplicas: this.maxReplicas,
        metrics,
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: 'Max',
            policies: [
              { type: 'Percent', value: 100, periodSeconds: 60 },
              { type: 'Pods', value: 4, periodSeconds: 60 },
            ],
          },
          scaleDown: {
            stabilizationWindowSeconds: 300,
            selectPolicy: 'Min',
            policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
          },
        },
      },
    });
  }
}

function utilization(name: string, averageUtilization: number): k8s.MetricSpecV2 {
  return { type: 'Resource', resource: { name, target: { type: 'Utilization', averageUtilization } } };
}
