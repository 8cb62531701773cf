import { Construct } from 'constructs';
import {
  VerticalPodAutoscaler, VerticalPodAutoscalerSpecResourcePolicyContainerPolicies,
  VerticalPodAutoscalerSpecResourcePolicyContainerPoliciesMaxAllowed, VerticalPodAutoscalerSpecResourcePolicyContainerPoliciesMinAllowed,
  VerticalPodAutoscalerSpecResourcePolicyContainerPoliciesMode, VerticalPodAutoscalerSpecUpdatePolicyUpdateMode,
} from '../../imports/verticalpodautoscaler-autoscaling.k8s.io';
import { StandardLabels } from '../labels';
import { parseQuantity } from '../quantity';
import { ComputeResources, ResourceRequirements } from '../resources';
import { Validator } from '../validation';

/**
 * Bounds of a store's vertical scaling recommendation (R9, seed 000 capacity planning): the
 * VerticalPodAutoscaler never recommends below `minAllowed` or above `maxAllowed`.
 */
export interface VerticalScalingSettings {
  /**
   * Lowest CPU and memory the VPA may recommend for the main container (its `minAllowed`); above
   * `maxAllowed` is refused.
   * @default - the container's requests
   */
  readonly minAllowed?: ComputeResources;
  /**
   * Highest CPU and memory the VPA may recommend for the main container (its `maxAllowed`).
   * @default - twice the container's limits
   */
  readonly maxAllowed?: ComputeResources;
}

/** Props of {@link StoreVerticalScaling}, given by the store's StatefulSet. */
export interface StoreVerticalScalingProps {
  /** Name of the VPA and of the StatefulSet it watches. */
  readonly name: string;
  /** The store's labels, put on the VerticalPodAutoscaler. */
  readonly labels: StandardLabels;
  /** The store's main container: the one the recommendation is for. */
  readonly containerName: string;
  /** The main container's requests and limits: the default bounds derive from them (minAllowed, maxAllowed). */
  readonly resources: ResourceRequirements;
  /**
   * The store's configured bounds of the recommendation (`verticalScaling` in its settings).
   * @default - see VerticalScalingSettings
   */
  readonly settings?: VerticalScalingSettings;
}

/** `cpu`/`memory` quantity times `factor`, as a Kubernetes quantity (millicores, Mi). */
function scaled(resources: ComputeResources, factor: number): ComputeResources {
  return {
    cpu: `${Math.round(parseQuantity(resources.cpu) * factor * 1000)}m`,
    memory: `${Math.round((parseQuantity(resources.memory) * factor) / 2 ** 20)}Mi`,
  };
}

/**
 * A `VerticalPodAutoscaler` (autoscaling.k8s.io/v1) over a store's StatefulSet in recommendation
 * mode (`updateMode: "Off"`): it only recommends, so a database is never evicted to be resized; the
 * operator reads the recommendation (`kubectl describe vpa <name>`) and resizes through the
 * configuration. Sidecars (exporters) are left out of the recommendation. Horizontal scaling stays
 * with the HPAs of the stateless tiers.
 */
export class StoreVerticalScaling extends Construct {
  /** The VerticalPodAutoscaler `<name>`, `updateMode: "Off"`: it recommends for the main container only. */
  public readonly resource: VerticalPodAutoscaler;

  constructor(scope: Construct, id: string, props: StoreVerticalScalingProps) {
    super(scope, id);
    const v = Validator.of(this, 'verticalScaling');
    const min = props.settings?.minAllowed ?? props.resources.requests;
    const max = props.settings?.maxAllowed ?? scaled(props.resources.limits, 2);
    for (const [field, bounds] of [['minAllowed', min], ['maxAllowed', max]] as const) {
      v.cpu(`${field}.cpu`, bounds.cpu);
      v.memory(`${field}.memory`, bounds.memory);
    }
    v.notAbove('minAllowed.cpu', min.cpu, 'maxAllowed.cpu', max.cpu);
    v.notAbove('minAllowed.memory', min.memory, 'maxAllowed.memory', max.memory);
    const quantities = <T>(bounds: ComputeResources, make: (q: string) => T) => ({ cpu: make(bounds.cpu), memory: make(bounds.memory) });
    const policies: VerticalPodAutoscalerSpecResourcePolicyContainerPolicies[] = [
      {
        containerName: props.containerName,
        controlledResources: ['cpu', 'memory'],
        minAllowed: quantities(min, (q) => VerticalPodAutoscalerSpecResourcePolicyContainerPoliciesMinAllowed.fromString(q)),
        maxAllowed: quantities(max, (q) => VerticalPodAutoscalerSpecResourcePolicyContainerPoliciesMaxAllowed.fromString(q)),
      },
      { containerName: '*', mode: VerticalPodAutoscalerSpecResourcePolicyContainerPoliciesMode.OFF },
    ];
    this.resource = new VerticalPodAutoscaler(this, 'Resource', {
      metadata: { name: props.name, labels: { ...props.labels.labels } },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: props.name },
        updatePolicy: { updateMode: VerticalPodAutoscalerSpecUpdatePolicyUpdateMode.OFF },
        resourcePolicy: { containerPolicies: policies },
      },
    });
  }
}
