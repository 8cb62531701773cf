import { Inventory } from './inventory';
import { groupOf, LabelSelectorJson, ManifestObject } from './manifest';
import { isReplicated, podTemplateOf } from './pod-template';
import { Finding, PolicyRule } from './rule';
import { selectorMatches } from './selectors';

interface PdbSpecJson {
  readonly selector?: LabelSelectorJson;
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
}

/**
 * More than one replica is only high availability if the replicas are spread over nodes and zones
 * and a node drain cannot take them all at once (Polaris `deploymentMissingReplicas`/PDB checks,
 * kube-linter `no-anti-affinity`, `pdb-max-unavailable`, `pdb-min-available`). Only prod: dev and
 * test run on small clusters where spreading may not be possible. What is production is the
 * environment's `production` setting, not its name.
 */
export const prodHa: PolicyRule = {
  id: 'prod-ha',
  description: 'In a production environment (production: true in its settings), a Deployment, StatefulSet, ReplicaSet or Rollout with more than one replica (spec.replicas or HPA minReplicas) '
    + 'has a PodDisruptionBudget that selects its pods and allows a disruption, and topology spread constraints or pod anti-affinity.',
  fix: 'Call addDisruptionBudget() in the Workload and build the pod with Workload.podSpec({ spread: true }).',
  appliesTo: isReplicated,
  check(object, inventory) {
    if (!object.production) return [];
    const template = podTemplateOf(object);
    if (!template) return [];
    const { replicas, source } = minimumReplicas(object, inventory);
    if (replicas <= 1) return [];
    const runs = `runs ${replicas} replicas (${source}) in production`;
    const findings: Finding[] = [];

    const budgets = inventory.inNamespace(object.namespace, 'policy', 'PodDisruptionBudget')
      .filter((pdb) => selectorMatches(pdb.field<PdbSpecJson>('spec')?.selector, template.labels));
    if (budgets.length === 0) {
      findings.push({
        message: `${runs} but no PodDisruptionBudget selects its pods`,
        fix: 'add a PodDisruptionBudget with maxUnavailable 1 selecting the pod labels (Workload.addDisruptionBudget())',
      });
    }
    for (const pdb of budgets) {
      const blocking = blocksDisruption(pdb.field<PdbSpecJson>('spec') ?? {}, replicas);
      if (blocking) {
        findings.push({
          message: `${runs} and PodDisruptionBudget "${pdb.name}" ${blocking}, so no node can be drained`,
          fix: `set maxUnavailable: 1 on PodDisruptionBudget "${pdb.name}"`,
        });
      }
    }

    const spec = template.spec;
    const antiAffinity = spec.affinity?.podAntiAffinity;
    const spread = (spec.topologySpreadConstraints ?? []).length > 0
      || (antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0
      || (antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).length > 0;
    if (!spread) {
      findings.push({
        message: `${runs} but has no topologySpreadConstraints or podAntiAffinity, so all replicas may share one node`,
        fix: 'spread the pods over kubernetes.io/hostname and topology.kubernetes.io/zone (Workload.podSpec({ spread: true }))',
      });
    }
    return findings;
  },
};

/** The fewest pods the workload runs: an HPA's minReplicas overrides `spec.replicas` (default 1). */
function minimumReplicas(object: ManifestObject, inventory: Inventory): { replicas: number; source: string } {
  const hpa = inventory.inNamespace(object.namespace, 'autoscaling', 'HorizontalPodAutoscaler').find((h) => {
    const ref = h.field<{ scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } }>('spec')?.scaleTargetRef;
    return ref?.kind === object.kind && ref.name === object.name && groupOf(ref.apiVersion) === groupOf(object.apiVersion);
  });
  if (hpa) {
    const min = hpa.field<{ minReplicas?: number }>('spec')?.minReplicas ?? 1;
    return { replicas: min, source: `HorizontalPodAutoscaler "${hpa.name}" minReplicas` };
  }
  const replicas = object.field<{ replicas?: number }>('spec')?.replicas ?? 1;
  return { replicas, source: 'spec.replicas' };
}

/** Why a PDB lets no pod go, or undefined when it allows at least one voluntary disruption. */
function blocksDisruption(spec: PdbSpecJson, replicas: number): string | undefined {
  const { maxUnavailable, minAvailable } = spec;
  if (maxUnavailable !== undefined && podCount(maxUnavailable, replicas) === 0) {
    return `has maxUnavailable ${maxUnavailable}`;
  }
  if (minAvailable !== undefined && podCount(minAvailable, replicas) >= replicas) {
    return `has minAvailable ${minAvailable}`;
  }
  return undefined;
}

/** An IntOrString as a pod count: the disruption controller rounds percentages up. */
function podCount(value: number | string, replicas: number): number {
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value);
  return percent ? Math.ceil((Number(percent[1]) * replicas) / 100) : Number(value);
}
