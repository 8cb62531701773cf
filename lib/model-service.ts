import { Construct } from 'constructs';
import { DEFAULT_MODEL_LATENCY_P95_SECONDS } from './observability/alert-thresholds';
import { StatelessService, StatelessServiceProps } from './stateless-service';

/** Settings of a model server: those of every stateless tier plus the model and its loading window. */
export interface ModelServiceProps extends StatelessServiceProps {
  /** The model this service serves, passed as `MODEL_NAME` (`route-planning`, `valuation`); a DNS label. */
  readonly model: string;
  /**
   * Seconds a new pod may take to load its model before `/health` must answer: a startup probe
   * covers this window and holds back liveness (and readiness) until it passes, so a pod still
   * downloading or loading a model is never restarted for it.
   * @default 1200 with a GPU (weights are copied into GPU memory after the download), 600 otherwise
   */
  readonly startupWindowSeconds?: number;
  /**
   * Size of `/models-cache`, where the server keeps downloaded model files (an emptyDir: the pod
   * is evicted when it grows past this).
   * @default '10Gi'
   */
  readonly cacheSize?: string;
}

/** Port every model server listens on. */
export const MODEL_CONTAINER_PORT = 8080;

/** Seconds between startup probes; the window is covered by `ceil(window / period)` failures. */
const STARTUP_PERIOD_SECONDS = 10;

/**
 * An AI model-serving service (R6) the API calls: its own resources (a GPU when `resources.gpu` is
 * set, with a toleration for GPU nodes), a startup probe that waits out model loading, `/health`
 * and `/ready` probes, and autoscaling. Prometheus scrapes `/metrics` on its HTTP port.
 */
export class ModelService extends StatelessService {
  /** The model served, as set in the container's `MODEL_NAME` (validated as a DNS label). */
  public readonly model: string;
  /** Seconds a pod may take to load its model before liveness checks start. */
  public readonly startupWindowSeconds: number;

  constructor(scope: Construct, id: string, props: ModelServiceProps) {
    const gpu = (props.resources?.gpu ?? 0) > 0;
    const window = props.startupWindowSeconds ?? (gpu ? 1200 : 600);
    super(scope, id, {
      ...props,
      env: [{ name: 'MODEL_NAME', value: props.model }, ...(props.env ?? [])],
    }, {
      component: 'ai',
      containerPort: MODEL_CONTAINER_PORT,
      servicePort: 80,
      // The startup probe gates both, so neither needs a delay of its own.
      liveness: { path: '/health', initialDelaySeconds: 0, periodSeconds: 10 },
      readiness: { path: '/ready', initialDelaySeconds: 0, periodSeconds: 5 },
      startup: { path: '/health', initialDelaySeconds: 0, periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: Math.max(1, Math.ceil(window / STARTUP_PERIOD_SECONDS)) },
      writablePaths: [{ path: '/tmp', sizeLimit: '256Mi' }, { path: '/models-cache', sizeLimit: props.cacheSize ?? '10Gi' }],
      appMetrics: { latencyP95Seconds: DEFAULT_MODEL_LATENCY_P95_SECONDS },
    });
    this.startupWindowSeconds = this.validator.integer('startupWindowSeconds', window, 10, 3600);
    if (props.cacheSize !== undefined) this.validator.storage('cacheSize', props.cacheSize);
    this.model = this.validator.dnsLabel('model', props.model);
  }
}
