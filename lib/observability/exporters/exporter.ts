import { k8s } from 'cdk8s-plus-27';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { httpProbe } from '../../probes';
import { Workload } from '../../workload';

/**
 * Name of the container port every metrics endpoint of a store is scraped on: the exporters'
 * sidecars, Milvus (9091) and etcd (2381) all call theirs this, so a PodMonitor, a probe and a
 * NetworkPolicy can only ever name the same port.
 */
export const METRICS_PORT_NAME = 'metrics';

/** Resources of an exporter sidecar: a small Go process holding one connection to its server. */
export const DEFAULT_EXPORTER_RESOURCES: ResourceRequirements = {
  requests: { cpu: '20m', memory: '32Mi' },
  limits: { cpu: '200m', memory: '128Mi' },
};

/** An exporter container with the port it serves metrics on. */
export interface MetricsSidecar {
  /** The sidecar container to add to the store's pod spec (probes on `/`, restricted security context). */
  readonly container: k8s.Container;
  /** Container port named {@link METRICS_PORT_NAME}. */
  readonly port: number;
  /** Path Prometheus scrapes. */
  readonly path: string;
}

/** What {@link exporterContainer} builds an exporter sidecar from. */
export interface ExporterContainerProps {
  /** Container name. */
  readonly name: string;
  /** Pinned image. */
  readonly image: string;
  /** Port the exporter listens on, named {@link METRICS_PORT_NAME}. */
  readonly port: number;
  /**
   * Arguments of the exporter container (its `args`: flags such as `--web.listen-address`).
   * @default - the image's arguments
   */
  readonly args?: string[];
  /** Settings and Secret references (never values). @default - none */
  readonly env?: k8s.EnvVar[];
  /**
   * CPU and memory requests and limits of the sidecar container.
   * @default DEFAULT_EXPORTER_RESOURCES
   */
  readonly resources?: ResourceRequirements;
  /**
   * HTTP path the exporter serves metrics on: the path of the PodMonitor endpoint that scrapes it.
   * @default '/metrics'
   */
  readonly metricsPath?: string;
}

/**
 * An exporter sidecar: restricted security, resources, and liveness and readiness probes on the
 * exporter's landing page `/`, which answers without asking the server. Probing `/metrics` would
 * restart the exporter while its server is down, exactly when its `*_up == 0` must be scraped.
 */
export function exporterContainer(props: ExporterContainerProps): MetricsSidecar {
  const container = secureContainer({
    name: props.name,
    image: props.image,
    resources: props.resources ?? DEFAULT_EXPORTER_RESOURCES,
    args: props.args,
    env: props.env,
    ports: [{ name: METRICS_PORT_NAME, containerPort: props.port }],
    livenessProbe: httpProbe('/', METRICS_PORT_NAME, { initialDelaySeconds: 5, periodSeconds: 20, failureThreshold: 3 }),
    readinessProbe: httpProbe('/', METRICS_PORT_NAME, { initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 3 }),
  });
  return { container, port: props.port, path: props.metricsPath ?? '/metrics' };
}

/**
 * Has Prometheus scrape `sidecar` on every pod of `workload` (a PodMonitor on the `metrics` port,
 * and ingress from Prometheus on that port only).
 */
export function scrapeSidecar(workload: Workload, sidecar: MetricsSidecar): void {
  workload.addMetricsEndpoint({ portName: METRICS_PORT_NAME, port: sidecar.port, path: sidecar.path });
}
