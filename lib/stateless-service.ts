import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Autoscaler, AutoscalingOptions } from './autoscaler';
import { secureContainer } from './container';
import { imageName, ImageRef, validateImage } from './images';
import { ResourceRequirements, validateResources } from './resources';
import { APP_METRICS_PATH } from './observability/http-metrics';
import { DeliveryOptions, DeliveryStrategy } from './delivery/delivery-options';
import { ProgressiveRollout, ResolvedDelivery, resolveDelivery } from './delivery/progressive-rollout';
import { POD_TEMPLATE_HASH_POD_LABEL } from './delivery/rollout-analysis';
import { httpProbe } from './probes';
import { NetworkPeer, ServiceEndpoint, Workload } from './workload';

/** How a Service is exposed. */
export enum ServiceExposure {
  /** Inside the cluster only (behind an Ingress). */
  CLUSTER_IP = 'ClusterIP',
  /** A cloud load balancer in front of the Service (seed 000's web and API tiers). */
  LOAD_BALANCER = 'LoadBalancer',
}

/** HTTP health endpoints and their timings. */
export interface HttpProbeSettings {
  /** Path the kubelet sends `GET` to on the `http` port (`/health`); any 2xx or 3xx answer passes. */
  readonly path: string;
  /** Seconds after the container starts before the first probe. */
  readonly initialDelaySeconds: number;
  /** Seconds between probes; each times out after 3 s, and 3 failures in a row fail the probe. */
  readonly periodSeconds: number;
}

/**
 * Settings every stateless tier takes (API, web, model servers): image, resources, replica count or
 * autoscaling, exposure, environment, extra volumes and delivery strategy.
 */
export interface StatelessServiceProps {
  /**
   * Name of the Deployment (or Rollout), its Service, HPA and PDB: a Service name (RFC 1035 label)
   * of at most 52 characters.
   * @default - the construct id
   */
  readonly name?: string;
  /** Image with a semantic-version tag. */
  readonly image: ImageRef;
  /**
   * Pods when not autoscaled; with `autoscaling` the HPA owns the count and this is ignored.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * CPU and memory requests and limits of the container (requests at most the limits), and GPUs for
   * model servers; with `gpu` set the pods also tolerate the `nvidia.com/gpu` NoSchedule taint.
   */
  readonly resources: ResourceRequirements;
  /**
   * Autoscale with an autoscaling/v2 HorizontalPodAutoscaler.
   * @default - a fixed number of replicas
   */
  readonly autoscaling?: AutoscalingOptions;
  /**
   * Type of the service's Service: ClusterIP, reached inside the cluster (through an Ingress), or
   * LoadBalancer, which also admits traffic from anywhere on the container port.
   * @default ServiceExposure.CLUSTER_IP
   */
  readonly exposure?: ServiceExposure;
  /** Environment variables (references to ConfigMaps and Secrets, never secret values). @default - none */
  readonly env?: k8s.EnvVar[];
  /** Whole ConfigMaps as environment. @default - none */
  readonly envFrom?: k8s.EnvFromSource[];
  /** Pod template annotations, e.g. a checksum of the configuration so that a change rolls the pods. @default - none */
  readonly podAnnotations?: Record<string, string>;
  /**
   * Extra volumes and their mounts (configuration files).
   * @default - none
   */
  readonly volumes?: {
    /** The pod volume (a ConfigMap or Secret volume); its name must differ from `writable-<n>`. */
    readonly volume: k8s.Volume;
    /** Absolute directory in the container where the volume is mounted, read-only. */
    readonly mountPath: string;
  }[];
  /**
   * How a new version replaces the old one (R17): a rolling update, or an Argo Rollouts blue-green
   * or canary release that analyses the new version and rolls back on its own.
   * @default - a rolling update (DeliveryStrategy.ROLLING)
   */
  readonly delivery?: DeliveryOptions;
}

/** A directory the process writes to, backed by an emptyDir of at most `sizeLimit`. */
export interface WritablePath {
  /** Absolute directory in the container (`/tmp`, `/var/cache/nginx`) where the emptyDir is mounted. */
  readonly path: string;
  /** e.g. `256Mi`; the kubelet evicts the pod when the directory grows past it. */
  readonly sizeLimit: string;
}

/** What each kind of stateless service fixes for all its instances. */
export interface StatelessServiceDefaults {
  /** `app.kubernetes.io/component` */
  readonly component: string;
  /** Port the process listens on; named `http` in the container, the Service's `targetPort`. */
  readonly containerPort: number;
  /** Port of the Service (1-65535), which forwards to `containerPort`. */
  readonly servicePort: number;
  /** Liveness probe: after 3 failures in a row the kubelet restarts the container. */
  readonly liveness: HttpProbeSettings;
  /** Readiness probe: while it fails the pod receives no traffic from the Service. */
  readonly readiness: HttpProbeSettings;
  /**
   * A startup probe that holds back liveness and readiness until it passes once: for processes
   * that take minutes to start (model loading). It may fail `failureThreshold` times in a row.
   * @default - none
   */
  readonly startup?: HttpProbeSettings & {
    /** Failures in a row allowed before the container is restarted: the startup window is this times `periodSeconds`. */
    readonly failureThreshold: number;
  };
  /** Paths the process writes to; each gets an emptyDir because the root file system is read-only. */
  readonly writablePaths: WritablePath[];
  /**
   * The process serves the app metrics contract (`GET /metrics` on its HTTP port, README "Metrics
   * contract"): Prometheus scrapes every pod, and its error ratio and latency are alerted on.
   * @default - not scraped (a process without a Prometheus endpoint, such as nginx)
   */
  readonly appMetrics?: AppMetricsDefaults;
}

/** What a kind of service that serves the app metrics contract fixes for its alerts. */
export interface AppMetricsDefaults {
  /** p95 latency in seconds above which it alerts, unless `monitoring.thresholds.latencyP95Seconds` says otherwise. */
  readonly latencyP95Seconds: number;
}

/** Name of the container port every stateless service listens on; its Service, probes and PodMonitor name it. */
export const HTTP_PORT_NAME = 'http';

/**
 * A Deployment (or, for a blue-green or canary release, an Argo Rollouts Rollout) behind a Service,
 * with restricted pods, a rolling update that never drops below the desired count, a
 * PodDisruptionBudget when more than one pod runs, and an optional HPA. The API, web tier and model
 * services are this with their own defaults.
 */
export abstract class StatelessService extends Workload {
  /** Where other workloads reach this service. */
  public readonly endpoint: ServiceEndpoint;
  /** The Deployment, for the rolling strategy. */
  public readonly deployment?: k8s.KubeDeployment;
  /** The Rollout and its analysis, for the blue-green and canary strategies. */
  public readonly rollout?: ProgressiveRollout;
  /** The delivery settings with every default filled in and validated (strategy, canary steps, analysis). */
  public readonly delivery: ResolvedDelivery;
  /** The Service named like the workload, selecting its pods on port `servicePort`, of the configured exposure. */
  public readonly service: k8s.KubeService;
  /** The HorizontalPodAutoscaler, when `autoscaling` is set; it targets the Deployment or the Rollout. */
  public readonly autoscaler?: Autoscaler;
  /** Pods at least (the HPA minimum when autoscaled). */
  public readonly minReplicas: number;
  /** Set when the service serves the app metrics contract and is scraped. */
  public readonly appMetrics?: AppMetricsDefaults;

  constructor(scope: Construct, id: string, props: StatelessServiceProps, defaults: StatelessServiceDefaults) {
    super(scope, id, { name: props.name, component: defaults.component, version: props.image?.tag ?? 'unknown' });
    const v = this.validator;
    validateImage(v, 'image', props.image);
    validateResources(v, 'resources', props.resources);
    const replicas = v.integer('replicas', props.replicas ?? 2, 1, 100);
    v.integer('servicePort', defaults.servicePort, 1, 65535);
    const exposure = v.oneOf('exposure', props.exposure ?? ServiceExposure.CLUSTER_IP, Object.values(ServiceExposure));
    this.delivery = resolveDelivery(v, 'delivery', props.delivery);
    const progressive = this.delivery.strategy !== DeliveryStrategy.ROLLING;

    if (props.autoscaling) {
      this.autoscaler = new Autoscaler(this, 'Autoscaler', {
        name: this.name,
        labels: this.labels.labels,
        target: progressive
          ? { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: this.name }
          : { apiVersion: 'apps/v1', kind: 'Deployment', name: this.name },
        ...props.autoscaling,
      });
    }
    this.minReplicas = this.autoscaler?.minReplicas ?? replicas;

    const writable = defaults.writablePaths.map((w, i) => ({ name: `writable-${i}`, ...w }));
    const extraVolumes = props.volumes ?? [];
    const container = secureContainer({
      name: this.name,
      image: imageName(props.image),
      resources: props.resources,
      ports: [{ name: HTTP_PORT_NAME, containerPort: defaults.containerPort }],
      env: props.env,
      envFrom: props.envFrom,
      livenessProbe: httpProbe(defaults.liveness.path, HTTP_PORT_NAME, { initialDelaySeconds: defaults.liveness.initialDelaySeconds, periodSeconds: defaults.liveness.periodSeconds }),
      readinessProbe: httpProbe(defaults.readiness.path, HTTP_PORT_NAME, { initialDelaySeconds: defaults.readiness.initialDelaySeconds, periodSeconds: defaults.readiness.periodSeconds }),
      startupProbe: defaults.startup && httpProbe(defaults.startup.path, HTTP_PORT_NAME, {
        initialDelaySeconds: defaults.startup.initialDelaySeconds,
        periodSeconds: defaults.startup.periodSeconds,
        failureThreshold: defaults.startup.failureThreshold,
      }),
      volumeMounts: [
        ...writable.map((w) => ({ name: w.name, mountPath: w.path })),
        ...extraVolumes.map((e) => ({ name: e.volume.name, mountPath: e.mountPath, readOnly: true })),
      ],
    });
    const gpuTolerations: k8s.Toleration[] | undefined = props.resources.gpu
      ? [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]
      : undefined;

    const template: k8s.PodTemplateSpec = {
      metadata: this.podMetadata(props.podAnnotations),
      spec: {
        ...this.podSpec({
          containers: [container],
          volumes: [
            ...writable.map((w) => ({ name: w.name, emptyDir: { sizeLimit: k8s.Quantity.fromString(w.sizeLimit) } })),
            ...extraVolumes.map((e) => e.volume),
          ],
          spread: this.minReplicas > 1,
        }),
        tolerations: gpuTolerations,
      },
    };
    // With an HPA the replica count is the HPA's: leaving it out stops every apply from resetting it.
    const fixedReplicas = this.autoscaler ? undefined : replicas;

    const addService = (id: string, name: string, type: ServiceExposure) => new k8s.KubeService(this, id, {
      metadata: { name, labels: { ...this.labels.labels } },
      spec: {
        type,
        selector: { ...this.labels.selectorLabels },
        ports: [{ name: HTTP_PORT_NAME, port: defaults.servicePort, targetPort: k8s.IntOrString.fromString(HTTP_PORT_NAME), protocol: 'TCP' }],
      },
    });
    this.service = addService('Service', this.name, exposure);

    if (progressive) {
      this.rollout = new ProgressiveRollout(this, 'Rollout', {
        name: this.name,
        namespace: Chart.of(this).namespace ?? 'default',
        labels: this.labels,
        delivery: this.delivery,
        replicas: fixedReplicas,
        template,
        addService: (name) => addService(`Service-${name}`, name, ServiceExposure.CLUSTER_IP),
        http: defaults.appMetrics && { maxLatencyP95Seconds: defaults.appMetrics.latencyP95Seconds },
      });
    } else {
      this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: { name: this.name, labels: { ...this.labels.labels } },
        spec: {
          replicas: fixedReplicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: { ...this.labels.selectorLabels } },
          strategy: {
            type: 'RollingUpdate',
            rollingUpdate: { maxSurge: k8s.IntOrString.fromString('25%'), maxUnavailable: k8s.IntOrString.fromNumber(0) },
          },
          template,
        },
      });
    }

    this.endpoint = { host: this.name, port: defaults.servicePort, targetPort: defaults.containerPort, workload: this };
    if (exposure === ServiceExposure.LOAD_BALANCER) this.allowIngressFrom(NetworkPeer.anywhere(), defaults.containerPort);

    if (this.minReplicas > 1) this.addDisruptionBudget(1);

    if (defaults.appMetrics) {
      this.appMetrics = defaults.appMetrics;
      // The pod-template hash as a label of every series: rollout analyses judge the new version's pods only.
      this.addMetricsEndpoint({ portName: HTTP_PORT_NAME, port: defaults.containerPort, path: APP_METRICS_PATH, podTargetLabels: [POD_TEMPLATE_HASH_POD_LABEL] });
    }
  }
}
