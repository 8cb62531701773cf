import { Construct } from 'constructs';
import { ServiceExposure, StatelessService, StatelessServiceProps } from './stateless-service';
import { ServiceEndpoint } from './workload';

/** Settings of the web tier: those of every stateless tier plus the API it proxies to and its exposure. */
export interface WebTierProps extends StatelessServiceProps {
  /** The API the web servers proxy `/api` to; passed to the container as `API_UPSTREAM`. */
  readonly api: ServiceEndpoint;
  /**
   * Exposure of the web Service: seed 000 puts a load balancer in front of the web servers.
   * @default ServiceExposure.LOAD_BALANCER
   */
  readonly exposure?: ServiceExposure;
}

/** Port the web container (an unprivileged nginx serving the front end) listens on. */
export const WEB_CONTAINER_PORT = 8080;

/**
 * The web tier (R7): web servers behind a LoadBalancer Service, proxying API calls to the API.
 * Probes ask nginx's `/healthz`, which answers without the API so that a slow API does not take
 * the front end out of rotation.
 *
 * Not scraped: nginx has no Prometheus endpoint (its stub_status is not the exposition format),
 * so the web tier has no HTTP error or latency alerts of its own. What it serves is static files
 * and `/api`, whose errors and latency the API's metrics carry; its pods are watched through
 * kube-state-metrics and cAdvisor (no ready replicas, crash loops, CPU and memory).
 */
export class WebTier extends StatelessService {
  constructor(scope: Construct, id: string, props: WebTierProps) {
    super(scope, id, {
      ...props,
      exposure: props.exposure ?? ServiceExposure.LOAD_BALANCER,
      env: [{ name: 'API_UPSTREAM', value: `http://${props.api.host}:${props.api.port}` }, ...(props.env ?? [])],
    }, {
      component: 'web',
      containerPort: WEB_CONTAINER_PORT,
      servicePort: 80,
      liveness: { path: '/healthz', initialDelaySeconds: 10, periodSeconds: 10 },
      readiness: { path: '/healthz', initialDelaySeconds: 5, periodSeconds: 5 },
      writablePaths: [
        { path: '/tmp', sizeLimit: '64Mi' },
        { path: '/var/cache/nginx', sizeLimit: '256Mi' },
        { path: '/var/run', sizeLimit: '1Mi' },
      ],
    });
    this.connectTo(props.api);
  }
}
