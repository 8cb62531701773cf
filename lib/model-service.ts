import { Construct } from 'constructs';
import { StatelessService, StatelessServiceProps } from './stateless-service';

export interface ModelServiceProps extends StatelessServiceProps {
  /** The model this service serves, passed as `MODEL_NAME` (`route-planning`, `valuation`). */
  readonly model: string;
  /**
   * Seconds the model may take to load before liveness checks start.
   * @default 60
   */
  readonly startupSeconds?: number;
  /**
   * Size of `/models-cache`, where the server keeps downloaded model files (an emptyDir: the pod
   * is evicted when it grows past this).
   * @default '10Gi'
   */
  readonly cacheSize?: string;
}

/** Port every model server listens on. */
export const MODEL_CONTAINER_PORT = 8080;

/**
 * An AI model-serving service (R6) the API calls: its own resources (a GPU when `resources.gpu` is
 * set, with a toleration for GPU nodes), `/health` and `/ready` probes that allow for model
 * loading, and autoscaling.
 */
export class ModelService extends StatelessService {
  public readonly model: string;

  constructor(scope: Construct, id: string, props: ModelServiceProps) {
    const startup = props.startupSeconds ?? 60;
    super(scope, id, {
      ...props,
      env: [{ name: 'MODEL_NAME', value: props.model }, ...(props.env ?? [])],
    }, {
      component: 'ai',
      containerPort: MODEL_CONTAINER_PORT,
      servicePort: 80,
      liveness: { path: '/health', initialDelaySeconds: startup, periodSeconds: 10 },
      readiness: { path: '/ready', initialDelaySeconds: 10, periodSeconds: 5 },
      writablePaths: [{ path: '/tmp', sizeLimit: '256Mi' }, { path: '/models-cache', sizeLimit: props.cacheSize ?? '10Gi' }],
    });
    this.validator.integer('startupSeconds', startup, 0, 3600);
    if (props.cacheSize !== undefined) this.validator.storage('cacheSize', props.cacheSize);
    this.model = this.validator.dnsLabel('model', props.model);
  }
}
