import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Validator } from './validation';
import { NetworkPeer, ServiceEndpoint } from './workload';

export interface IngressTlsOptions {
  /** Secret of type kubernetes.io/tls holding the certificate (made by cert-manager or by hand, never here). */
  readonly secretName: string;
}

export interface AppIngressProps {
  /** @default - the construct id */
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
  public readonly hosts: string[];
  public readonly ingress: k8s.KubeIngress;

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
    props.backend.workload.allowIngressFrom(
      NetworkPeer.ingressController(props.controllerNamespace ?? 'ingress-nginx'),
      props.backend.targetPort,
    );
  }
}
