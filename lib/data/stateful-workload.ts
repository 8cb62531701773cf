import { k8s } from 'cdk8s-plus-27';
import { StoreBackup, StoreBackupProps } from '../backup/store-backup';
import { StoreVerticalScaling, VerticalScalingSettings } from '../ops/vertical-scaling';
import { ResourceRequirements } from '../resources';
import { Workload } from '../workload';
import { KEEP_ON_PRUNE_ANNOTATIONS, RETAIN_CLAIMS, StorageOptions, volumeClaimTemplate } from './storage';

/** A Service port of a store: `port` on the Service, forwarded to the container port of the same name over TCP. */
export interface StorePort {
  /** Name of the container port, and of the Service port. */
  readonly name: string;
  /** Port number on the Service; the container port of the same name must exist on the pods. */
  readonly port: number;
}

/** Options of {@link StatefulWorkload.addHeadlessService}. */
export interface HeadlessServiceOptions {
  /**
   * Give pods their DNS names before they are ready: for members that must find each other to
   * become ready (a quorum, a cluster, a replica's set-up).
   * @default false
   */
  readonly publishNotReadyAddresses?: boolean;
}

/** What a store decides about its StatefulSet; {@link StatefulWorkload.addStatefulSet} adds the rest (R14). */
export interface StatefulSetOptions {
  /** The governing Service, which gives each pod its DNS name `<pod>.<serviceName>`. */
  readonly serviceName: string;
  /** Pods, each with its own claim `data-<name>-<i>`; scaling down keeps the claims of removed pods. */
  readonly replicas: number;
  /**
   * How the StatefulSet starts and stops its pods: one at a time, each ready before the next
   * (`OrderedReady`), or all at once (`Parallel`, where pods do not depend on each other).
   * @default - not set: Kubernetes' `OrderedReady`
   */
  readonly podManagementPolicy?: 'OrderedReady' | 'Parallel';
  /**
   * ControllerRevisions (old pod templates) the StatefulSet keeps for rollback.
   * @default - not set: Kubernetes keeps 10
   */
  readonly revisionHistoryLimit?: number;
  /** Each pod's persistent volume, the claim template `data` (mount it as volume `data`). */
  readonly storage: StorageOptions;
  /** Pod template annotations (config checksums that roll the pods). @default - none */
  readonly podAnnotations?: Record<string, string>;
  /** The pod spec, from {@link Workload.podSpec} (plus affinity where a store needs it). */
  readonly podSpec: k8s.PodSpec;
  /**
   * Bounds of the vertical scaling recommendation for the pod's first (main) container.
   * @default - its requests to twice its limits
   */
  readonly verticalScaling?: VerticalScalingSettings;
}

/**
 * Base of the data stores' workloads: a StatefulSet whose pods each own a volume, with a headless
 * Service for stable pod names and a client Service in front. The StatefulSet is made in one place,
 * {@link StatefulWorkload.addStatefulSet}, which owns R14 (data survives) for every store; per-store operational
 * pieces that follow a store's StatefulSet and volumes (backup CronJobs, monitors) attach there.
 *
 * The helpers create one object each, so a store keeps deciding the order of its objects.
 */
export abstract class StatefulWorkload extends Workload {
  /** A headless Service named `name` over these pods, with `ports`. */
  protected addHeadlessService(name: string, ports: readonly StorePort[], options: HeadlessServiceOptions = {}): k8s.KubeService {
    return new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name, labels: { ...this.labels.labels } },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: options.publishNotReadyAddresses,
        selector: { ...this.labels.selectorLabels },
        ports: servicePorts(ports),
      },
    });
  }

  /** The ClusterIP Service clients use, named `name`, with `ports`. */
  protected addClientService(name: string, ports: readonly StorePort[]): k8s.KubeService {
    return new k8s.KubeService(this, 'Service', {
      metadata: { name, labels: { ...this.labels.labels } },
      spec: {
        type: 'ClusterIP',
        selector: { ...this.labels.selectorLabels },
        ports: servicePorts(ports),
      },
    });
  }

  /**
   * Backs this store up (R26-R30): CronJobs running the store's backup scripts, restore Jobs in the
   * environment's `restore/` folder, and the NetworkPolicy that lets them reach the store and the
   * bucket. The backup's objects belong to the store's construct, beside its StatefulSet.
   */
  public addBackup(props: StoreBackupProps): StoreBackup {
    return new StoreBackup(this, 'Backup', props);
  }

  /**
   * The store's StatefulSet, named after the workload, rolling updates. R14, data survives: its
   * claims are retained when it is deleted or scaled down, and Argo CD never prunes or deletes it
   * or its claims (see {@link RETAIN_CLAIMS} and {@link KEEP_ON_PRUNE_ANNOTATIONS}).
   */
  protected addStatefulSet(options: StatefulSetOptions): k8s.KubeStatefulSet {
    this.addVerticalScaling(options);
    return new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: this.name, labels: { ...this.labels.labels }, annotations: { ...KEEP_ON_PRUNE_ANNOTATIONS } },
      spec: {
        serviceName: options.serviceName,
        replicas: options.replicas,
        podManagementPolicy: options.podManagementPolicy,
        updateStrategy: { type: 'RollingUpdate' },
        revisionHistoryLimit: options.revisionHistoryLimit,
        persistentVolumeClaimRetentionPolicy: RETAIN_CLAIMS,
        selector: { matchLabels: { ...this.labels.selectorLabels } },
        template: { metadata: this.podMetadata(options.podAnnotations), spec: options.podSpec },
        // Claim templates are immutable once the StatefulSet exists: their labels are the selector
        // labels only, leaving out the version, which changes on upgrades.
        volumeClaimTemplates: [volumeClaimTemplate('data', this.labels.selectorLabels, options.storage)],
      },
    });
  }

  /**
   * R9, vertical part: every store StatefulSet gets a VerticalPodAutoscaler in recommendation mode
   * for its main container, so the operator sees what to resize (never an eviction).
   */
  private addVerticalScaling(options: StatefulSetOptions): void {
    const main = options.podSpec.containers[0];
    const resources = main && mainContainerResources(main);
    // The policy engine refuses a container without resources; nothing to bound then.
    if (!resources) return;
    new StoreVerticalScaling(this, 'VerticalScaling', {
      name: this.name, labels: this.labels, containerName: main.name, resources, settings: options.verticalScaling,
    });
  }
}

/** A container's requests and limits as quantity strings, or undefined when one is missing. */
function mainContainerResources(container: k8s.Container): ResourceRequirements | undefined {
  const r = container.resources;
  const q = (quantity: k8s.Quantity | undefined) => (quantity === undefined ? undefined : String(quantity.value));
  const [rc, rm, lc, lm] = [q(r?.requests?.cpu), q(r?.requests?.memory), q(r?.limits?.cpu), q(r?.limits?.memory)];
  if (!rc || !rm || !lc || !lm) return undefined;
  return { requests: { cpu: rc, memory: rm }, limits: { cpu: lc, memory: lm } };
}

function servicePorts(ports: readonly StorePort[]): k8s.ServicePort[] {
  return ports.map(({ name, port }) => ({ name, port, targetPort: k8s.IntOrString.fromString(name), protocol: 'TCP' }));
}

/**
 * Prefer other nodes, then other zones, than the pods with `labels`: a replica or standby keeps
 * away from its primary, so that one node or zone failure does not take both.
 */
export function avoidAffinity(labels: Readonly<Record<string, string>>): k8s.Affinity {
  const labelSelector = { matchLabels: { ...labels } };
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector } },
        { weight: 50, podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector } },
      ],
    },
  };
}
