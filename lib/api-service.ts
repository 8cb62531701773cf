import { Construct } from 'constructs';
import { AppConfig } from './app-config';
import { envFromSecret, SecretKeyRef } from './secret-ref';
import { DEFAULT_API_LATENCY_P95_SECONDS } from './observability/alert-thresholds';
import { StatelessService, StatelessServiceProps } from './stateless-service';

/**
 * Settings of the application API: those of every stateless tier (image, resources, replicas,
 * autoscaling, delivery) plus its configuration and Secret-backed credentials.
 */
export interface ApiServiceProps extends StatelessServiceProps {
  /** The application's configuration: settings as environment, `app.properties` at `/etc/app`. */
  readonly config: AppConfig;
  /**
   * Credentials as environment variables, each from a key of a Secret that exists in the cluster
   * (`DB_PASSWORD` -> `{ name: 'logistics-secret', key: 'db_password' }`).
   * @default - none
   */
  readonly secretEnv?: Record<string, SecretKeyRef>;
  /**
   * Port of the Service (the container always listens on 8000).
   * @default 80
   */
  readonly servicePort?: number;
}

/** Port the API container listens on (R5). */
export const API_CONTAINER_PORT = 8000;

/**
 * The application API (R5): a Deployment listening on 8000 with `/health` (30 s delay, every 10 s)
 * and `/ready` (10 s, every 5 s) probes, settings from the application ConfigMap and credentials
 * from referenced Secrets, behind a Service. Prometheus scrapes `/metrics` on the same port.
 */
export class ApiService extends StatelessService {
  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    const secretEnv = props.secretEnv ?? {};
    super(scope, id, {
      ...props,
      env: [
        ...(props.env ?? []),
        // An undefined reference is skipped here and reported by the checks below.
        ...Object.keys(secretEnv).sort().filter((name) => secretEnv[name]).map((name) => envFromSecret(name, secretEnv[name])),
      ],
      envFrom: [...props.config.envFrom(), ...(props.envFrom ?? [])],
      podAnnotations: { 'checksum/config': props.config.checksum, ...props.podAnnotations },
      volumes: [{ volume: props.config.propertiesVolume(), mountPath: '/etc/app' }, ...(props.volumes ?? [])],
    }, {
      component: 'api',
      containerPort: API_CONTAINER_PORT,
      servicePort: props.servicePort ?? 80,
      liveness: { path: '/health', initialDelaySeconds: 30, periodSeconds: 10 },
      readiness: { path: '/ready', initialDelaySeconds: 10, periodSeconds: 5 },
      writablePaths: [{ path: '/tmp', sizeLimit: '256Mi' }],
      appMetrics: { latencyP95Seconds: DEFAULT_API_LATENCY_P95_SECONDS },
    });
    for (const [name, ref] of Object.entries(secretEnv)) {
      this.validator.envVarName(`secretEnv.${name}`, name);
      this.validator.secretKeyRef(`secretEnv.${name}`, ref);
    }
  }
}
