import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  Rollout, RolloutSpecStrategy, RolloutSpecStrategyCanarySteps, toJson_RolloutSpecStrategy, RolloutSpecStrategyCanaryStepsPauseDuration, RolloutSpecStrategyCanaryTrafficRouting,
} from '../../imports/rollout-argoproj.io';
import { StandardLabels } from '../labels';
import { Validator } from '../validation';
import { DeliveryOptions, DeliveryStrategy } from './delivery-options';
import { POD_TEMPLATE_HASH_ARG, RolloutAnalysis } from './rollout-analysis';

/** {@link DeliveryOptions} with every default applied, checked. */
export interface ResolvedDelivery {
  /** How a new version replaces the old: `rolling` unless configured. */
  readonly strategy: DeliveryStrategy;
  /** Canary traffic percentages before 100%: increasing whole numbers 1-99, `[10, 50]` unless configured. */
  readonly canaryWeights: readonly number[];
  /** Minutes each canary step (or blue-green analysis) is held, 1-60: 5 unless configured. */
  readonly stepPauseMinutes: number;
  /** 5xx share of the new version's responses above which it is rolled back, 0.0001-0.5: 0.05 unless configured. */
  readonly maxErrorRatio: number;
  /** Requests in the analysis window below which a measurement passes unjudged, 1-1000000: 20 unless configured. */
  readonly minRequests: number;
  /** Blue-green: seconds the old version keeps running after the switch, 30-86400: 600 unless configured. */
  readonly scaleDownDelaySeconds: number;
}

/** Checks `options` (field names under `field`) and applies the defaults. */
export function resolveDelivery(v: Validator, field: string, options: DeliveryOptions | undefined): ResolvedDelivery {
  const o = options ?? {};
  const strategy = v.oneOf(`${field}.strategy`, o.strategy ?? DeliveryStrategy.ROLLING, Object.values(DeliveryStrategy));
  const canaryWeights = o.canaryWeights ?? [10, 50];
  if (!Array.isArray(canaryWeights) || canaryWeights.length === 0
    || canaryWeights.some((w, i) => !Number.isInteger(w) || w < 1 || w > 99 || (i > 0 && w <= canaryWeights[i - 1]))) {
    v.fail(`${field}.canaryWeights`, 'increasing whole percentages between 1 and 99 (100 follows the last step)', canaryWeights);
  }
  if (o.canaryWeights !== undefined && strategy !== DeliveryStrategy.CANARY) {
    v.fail(`${field}.canaryWeights`, `unset unless strategy is ${DeliveryStrategy.CANARY} (it is ${strategy})`, o.canaryWeights);
  }
  if (o.scaleDownDelaySeconds !== undefined && strategy !== DeliveryStrategy.BLUE_GREEN) {
    v.fail(`${field}.scaleDownDelaySeconds`, `unset unless strategy is ${DeliveryStrategy.BLUE_GREEN} (it is ${strategy})`, o.scaleDownDelaySeconds);
  }
  const maxErrorRatio = v.number(`${field}.maxErrorRatio`, o.maxErrorRatio ?? 0.05, 0.0001, 0.5);
  return {
    strategy,
    canaryWeights,
    stepPauseMinutes: v.integer(`${field}.stepPauseMinutes`, o.stepPauseMinutes ?? 5, 1, 60),
    maxErrorRatio,
    minRequests: v.integer(`${field}.minRequests`, o.minRequests ?? 20, 1, 1_000_000),
    scaleDownDelaySeconds: v.integer(`${field}.scaleDownDelaySeconds`, o.scaleDownDelaySeconds ?? 600, 30, 86_400),
  };
}

/** Props of {@link ProgressiveRollout}, given by the stateless service it replaces the Deployment of. */
export interface ProgressiveRolloutProps {
  /** Name of the Rollout (the service's name); its Services are `<name>` (stable/active) and `<name>-preview` or `<name>-canary`. */
  readonly name: string;
  /** The service's namespace: the analysis queries read only its metrics. */
  readonly namespace: string;
  /** The service's labels: on the Rollout and AnalysisTemplate; the selector labels select the pods. */
  readonly labels: StandardLabels;
  /** The resolved strategy and limits: `blueGreen` or `canary` (`rolling` is refused: that is a Deployment). */
  readonly delivery: ResolvedDelivery;
  /**
   * Pods of the Rollout (`spec.replicas`), the service's fixed count where it has no HPA.
   * @default - none: an HPA owns the count (a Rollout without `spec.replicas` under an HPA, argo-rollouts #1864)
   */
  readonly replicas?: number;
  /** The pod template, as the Deployment would have it: Argo Rollouts adds its hash label to each version's pods. */
  readonly template: k8s.PodTemplateSpec;
  /** Makes a Service like the service's own, with another name (the Rollout adds its hash selector). */
  readonly addService: (name: string) => k8s.KubeService;
  /** The service serves the HTTP metrics contract: the analysis judges its errors and latency. @default - restarts only */
  readonly http?: {
    /** The p95 latency above which the new version is rolled back, in seconds. */
    readonly maxLatencyP95Seconds: number;
  };
}

/**
 * An Argo Rollouts `Rollout` in place of a Deployment: blue-green (active and preview Services,
 * pre-promotion analysis, post-promotion analysis that switches back on failure, a scale-down delay
 * that keeps the old version for an instant rollback) or canary (weights with timed pauses, a
 * background analysis from the first step; traffic split by ingress-nginx once
 * {@link ProgressiveRollout.routeTrafficThrough} names the Ingress, by replica counts otherwise), with its
 * AnalysisTemplate. No step is an open-ended pause: under Argo CD a paused Rollout is Suspended and
 * later sync waves never run.
 */
export class ProgressiveRollout extends Construct {
  /** The `argoproj.io/v1alpha1` Rollout. */
  public readonly rollout: ApiObject;
  /** The AnalysisTemplate `<name>-analysis` every analysis of the Rollout runs. */
  public readonly analysis: RolloutAnalysis;
  /** Blue-green: the Service in front of the new version before promotion. */
  public readonly previewService?: k8s.KubeService;
  /** Canary with traffic routing: the Service ingress-nginx sends the canary weight to. */
  public readonly canaryService?: k8s.KubeService;
  private stableIngress?: string;
  private readonly props: ProgressiveRolloutProps;

  constructor(scope: Construct, id: string, props: ProgressiveRolloutProps) {
    super(scope, id);
    this.props = props;
    const d = props.delivery;
    if (d.strategy === DeliveryStrategy.ROLLING) throw new Error('ProgressiveRollout is for the blueGreen and canary strategies');
    this.analysis = new RolloutAnalysis(this, 'Analysis', {
      name: `${props.name}-analysis`,
      labels: props.labels,
      target: { namespace: props.namespace, job: props.name },
      rollout: props.name,
      http: props.http && { maxErrorRatio: d.maxErrorRatio, maxLatencyP95Seconds: props.http.maxLatencyP95Seconds, minRequests: d.minRequests },
      // Blue-green's pre- and post-promotion analyses must end (one measurement a minute for the
      // pause); a canary's background analysis runs until the rollout completes.
      count: d.strategy === DeliveryStrategy.BLUE_GREEN ? d.stepPauseMinutes : undefined,
    });
    if (d.strategy === DeliveryStrategy.BLUE_GREEN) this.previewService = props.addService(`${props.name}-preview`);

    // A plain ApiObject with the Rollout's group, version and kind: the generated Rollout class
    // re-serializes its whole spec with its own types, which drops the pod template's quantities and
    // named ports (k8s' own classes). The template is rendered by the Kubernetes types' serializer,
    // the strategy by the generated Rollout types'.
    this.rollout = new ApiObject(this, 'Resource', {
      ...Rollout.GVK,
      metadata: { name: props.name, labels: { ...props.labels.labels } },
      spec: {
        replicas: props.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: { ...props.labels.selectorLabels } },
        template: k8s.toJson_PodTemplateSpec(props.template),
        strategy: Lazy.any({ produce: () => toJson_RolloutSpecStrategy(this.strategy()) }),
      },
    });
  }

  /**
   * Splits canary traffic with ingress-nginx through the Ingress `name` that fronts this service:
   * Argo Rollouts clones it into a canary Ingress with the weight (stable Ingress, stable and canary
   * Services). Only for the canary strategy.
   */
  public routeTrafficThrough(ingressName: string): void {
    if (this.props.delivery.strategy !== DeliveryStrategy.CANARY) return;
    this.stableIngress = ingressName;
    (this as { canaryService?: k8s.KubeService }).canaryService ??= this.props.addService(`${this.props.name}-canary`);
  }

  /** The analysis of the newest version's pods (`podTemplateHashValue: Latest`). */
  private analysisRef() {
    return {
      templates: [{ templateName: this.analysis.name }],
      args: [{ name: POD_TEMPLATE_HASH_ARG, valueFrom: { podTemplateHashValue: 'Latest' } }],
    };
  }

  private strategy(): RolloutSpecStrategy {
    const { name, delivery: d } = this.props;
    if (d.strategy === DeliveryStrategy.BLUE_GREEN) {
      return {
        blueGreen: {
          activeService: name,
          previewService: `${name}-preview`,
          // Promotion is automatic once the pre-promotion analysis passes: nothing waits on a person.
          autoPromotionEnabled: true,
          prePromotionAnalysis: this.analysisRef(),
          postPromotionAnalysis: this.analysisRef(),
          scaleDownDelaySeconds: d.scaleDownDelaySeconds,
        },
      };
    }
    const pause: RolloutSpecStrategyCanarySteps = { pause: { duration: RolloutSpecStrategyCanaryStepsPauseDuration.fromString(`${d.stepPauseMinutes}m`) } };
    const steps: RolloutSpecStrategyCanarySteps[] = d.canaryWeights.flatMap((weight) => [{ setWeight: weight }, pause]);
    const trafficRouting: RolloutSpecStrategyCanaryTrafficRouting | undefined = this.stableIngress ? { nginx: { stableIngress: this.stableIngress } } : undefined;
    return {
      canary: {
        ...(trafficRouting ? { stableService: name, canaryService: `${name}-canary`, trafficRouting } : {}),
        steps,
        // Judged from the first step until the rollout completes; a failure aborts it and all
        // traffic returns to the stable version.
        analysis: { ...this.analysisRef(), startingStep: 1 },
      },
    };
  }
}
