import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { isKind, ManifestObject } from './manifest';
import { podTemplateOf, PodTemplate } from './pod-template';

/** A pod template and the object that owns it. */
export interface OwnedPodTemplate {
  /** The pod-owning object: a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod or Rollout. */
  readonly owner: ManifestObject;
  /** The pods' labels, annotations and spec, as the owner renders them. */
  readonly template: PodTemplate;
}

/**
 * Every API object of an App, rendered once. Rules that relate objects (a Service and its pods, an
 * HPA and its target) look them up here, because one environment's objects live in several charts
 * (namespace, data, app) of one App.
 */
export class Inventory {
  /** All objects of the App that `scope` belongs to, in construct order. */
  public static of(scope: IConstruct): Inventory {
    const root = scope.node.root;
    return new Inventory(root.node.findAll().filter(ApiObject.isApiObject).map((o) => ManifestObject.of(o)));
  }

  /**
   * Prefer {@link Inventory.of}, which collects the objects of a whole App.
   * @param objects - Every rendered API object of the App, in construct order.
   */
  constructor(
    /** Every rendered API object of the App, in construct order. */
    public readonly objects: readonly ManifestObject[],
  ) {}

  /** Objects of one API group and kind in a namespace. */
  public inNamespace(namespace: string, group: string, ...kinds: string[]): ManifestObject[] {
    return this.objects.filter((o) => o.namespace === namespace && isKind(o, group, ...kinds));
  }

  /** Objects of one API group and kind in any namespace (ClusterRoleBindings). */
  public ofKind(group: string, ...kinds: string[]): ManifestObject[] {
    return this.objects.filter((o) => isKind(o, group, ...kinds));
  }

  /** The object of that group, kind and name in a namespace. */
  public find(namespace: string, group: string, kind: string, name: string): ManifestObject | undefined {
    return this.inNamespace(namespace, group, kind).find((o) => o.name === name);
  }

  /** Pod templates of every pod-owning object in a namespace. */
  public podTemplates(namespace: string): OwnedPodTemplate[] {
    const owned: OwnedPodTemplate[] = [];
    for (const owner of this.objects) {
      if (owner.namespace !== namespace) continue;
      const template = podTemplateOf(owner);
      if (template) owned.push({ owner, template });
    }
    return owned;
  }
}
