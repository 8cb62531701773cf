import { k8s } from 'cdk8s-plus-27';
import { StatelessService } from './stateless-service';
import { Construct } from 'constructs';
import { StandardLabels } from './labels';
import { Validator } from './validation';
import { NetworkPeer, ServiceEndpoint } from './workload';

/** TLS termination of an {@link AppIngress}: one certificate for all its hosts. */
export interface IngressTlsOptions {
  /** Secret of type kubernetes.io/tls holding the certificate (made by cert-manager or by hand, never here). */
  readonly secretName: string;
  /**
   * Let the ingress controller reach cert-manager's ACME HTTP-01 solver pods (label
   * `acme.cert-manager.io/http01-solver: "true"`, port 8089), which the namespace's default deny
   * would block, so that the certificate can be issued and renewed.
   * @default true
   */
  readonly acmeHttp01?: boolean;
}

/** Label cert-manager puts on the pods that answer ACME HTTP-01 challenges. */
export const ACME_HTTP01_SOLVER_LABEL = 'acme.cert-manager.io/http01-solver';
/** Port cert-manager's HTTP-01 solver pods listen on. */
export const ACME_HTTP01_SOLVER_PORT = 8089;

/** Settings of an {@link AppIngress}: its hosts, the Service behind them, TLS and the ingress controller. */
export interface AppIngressProps {
  /**
   * Name of the Ingress; a DNS label. Also the name a canary Rollout of the backend uses to split
   * traffic through this Ingress.
   * @default - the construct id
   */
  readonly name?: string;
  /** Host names routed to the backend, one rule each (R8). */
  readonly hosts: string[];
  /** The Service that receives the traffic. */
  readonly backend: ServiceEndpoint;
  /**
   * Terminate TLS for every host with this certificate.
   * @default - plain HTTP
   */
  readonly tls?: IngressTlsOptions;
  /**
   * IngressClass of the controller.
   * @default 'nginx'
   */
  readonly ingressClassName?: string;
  /**
   * Namespace of the ingress controller, allowed through the backend's NetworkPolicy.
   * @default 'ingress-nginx'
   */
  readonly controllerNamespace?: string;
}

/** An Ingress routing each host's `/` to one Service, with optional TLS (R8). */
export class AppIngress extends Construct {
  /** The validated host names, one Ingress rule each (fully qualified, no duplicates, no IP addresses). */
  public readonly hosts: string[];
  /** The emitted networking.k8s.io/v1 Ingress, routing each host's `/` (Prefix) to the backend Service. */
  public readonly ingress: k8s.KubeIngress;
  /** Admits the ingress controller to cert-manager's HTTP-01 solver pods (with TLS, unless `tls.acmeHttp01` is false). */
  public readonly acmeSolverPolicy?: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: AppIngressProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    const name = v.dnsLabel('name', props.name ?? id);
    if (!Array.isArray(props.hosts) || props.hosts.length === 0) v.fail('hosts', 'a list of at least one host name', props.hosts);
    props.hosts.forEach((host, i) => v.hostname(`hosts[${i}]`, host));
    const duplicate = props.hosts.find((h, i) => props.hosts.indexOf(h) !== i);
    if (duplicate) v.fail('hosts', 'a list without duplicates', duplicate);
    if (props.tls) v.dnsSubdomain('tls.secretName', props.tls.secretName);
    const ingressClassName = v.dnsSubdomain('ingressClassName', props.ingressClassName ?? 'nginx');
    this.hosts = [...props.hosts];

    const backend: k8s.IngressBackend = {
      service: { name: props.backend.host, port: { number: props.backend.port } },
    };
    this.ingress = new k8s.KubeIngress(this, 'Resource', {
      metadata: { name, labels: { ...props.backend.workload.labels.labels } },
      spec: {
        ingressClassName,
        tls: props.tls ? [{ hosts: [...props.hosts], secretName: props.tls.secretName }] : undefined,
        rules: props.hosts.map((host) => ({
          host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend }] },
        })),
      },
    });
    const controller = NetworkPeer.ingressController(props.controllerNamespace ?? 'ingress-nginx');
    props.backend.workload.allowIngressFrom(controller, props.backend.targetPort);
    // A canary release of the backend splits traffic through this Ingress (ingress-nginx).
    if (props.backend.workload instanceof StatelessService) props.backend.workload.rollout?.routeTrafficThrough(name);

    if (props.tls && (props.tls.acmeHttp01 ?? true)) {
      // cert-manager creates the solver pods in this namespace for the duration of a challenge;
      // they only answer the controller, so they get ingress and no egress (the default deny stays).
      const policyName = `${name}-acme-http01-solver`;
      this.acmeSolverPolicy = new k8s.KubeNetworkPolicy(this, 'AcmeHttp01Solver', {
        metadata: { name: policyName, labels: { ...new StandardLabels(this, { name: policyName, component: 'ingress' }).labels } },
        spec: {
          podSelector: { matchLabels: { [ACME_HTTP01_SOLVER_LABEL]: 'true' } },
          policyTypes: ['Ingress'],
          ingress: [{
            from: [controller.peer],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(ACME_HTTP01_SOLVER_PORT) }],
          }],
        },
      });
    }
  }
}
