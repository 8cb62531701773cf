import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { readAsset } from '../../assets';
import { secureContainer } from '../../container';
import { ResourceRequirements, validateResources } from '../../resources';
import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { httpProbe } from '../../probes';
import { NetworkPeer, ServiceEndpoint, Workload } from '../../workload';
import { monitoringOf } from '../monitoring-settings';

/** The adapter's image: v2.1.0 is its latest release (2022-04-21); distroless, runs as nobody. */
export const DEFAULT_DINGTALK_IMAGE = 'timonwong/prometheus-webhook-dingtalk:v2.1.0';
/** A shell for the init container that writes the configuration (the adapter's image has none). */
export const DEFAULT_DINGTALK_INIT_IMAGE = 'busybox:1.36.1';
/** The adapter's listen port (its default `--web.listen-address=:8060`). */
export const DINGTALK_PORT = 8060;
/** `nobody` in the distroless image the adapter is built on. */
const NOBODY = 65534;
const TEMPLATE_DIR = '/etc/dingtalk-template';
const CONFIG_DIR = '/run/dingtalk';
const RENDER_SCRIPT = 'dingtalk-render-config.sh';

/** One DingTalk robot the adapter posts to: its target name in `/dingtalk/<name>/send`. */
export interface DingTalkTarget {
  /** The target name (letters, digits, `-`, `_`; starts with a letter). */
  readonly name: string;
  /** Secret key holding the robot's webhook URL (with its access token). */
  readonly urlSecret: SecretKeyRef;
  /**
   * Secret key holding the robot's signing secret (`SEC...`), where the robot is set to sign; passed
   * to the init container as an environment variable and written into the adapter's config.
   * @default - unsigned requests
   */
  readonly signSecret?: SecretKeyRef;
  /**
   * Mention everyone in the group (`mention: all: true` in the target's config).
   * @default false
   */
  readonly mentionAll?: boolean;
}

/** Props of {@link DingTalkWebhook}. */
export interface DingTalkWebhookProps {
  /**
   * Name of the Deployment, Service and ConfigMap: a Service name (starts with a letter; lower-case
   * letters, digits, `-`), at most 52 characters.
   * @default 'dingtalk-webhook'
   */
  readonly name?: string;
  /**
   * The robots the adapter posts to, one per target name (unique; a letter, then letters, digits,
   * `-` and `_`). At least one.
   */
  readonly targets: readonly DingTalkTarget[];
  /**
   * The adapter's image, pinned to a release tag (`latest` or a bare major is refused); its tag is
   * the `app.kubernetes.io/version` label.
   * @default DEFAULT_DINGTALK_IMAGE
   */
  readonly image?: string;
  /**
   * Image of the init container that renders the config from the Secrets; needs a POSIX shell and
   * must be pinned to a release tag.
   * @default DEFAULT_DINGTALK_INIT_IMAGE
   */
  readonly initImage?: string;
  /**
   * Pods of the Deployment, 1 to 10.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * CPU and memory requests and limits of the adapter container.
   * @default requests 50m CPU / 32Mi, limits 200m CPU / 128Mi
   */
  readonly resources?: ResourceRequirements;
}

const DEFAULT_RESOURCES: ResourceRequirements = { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };
const INIT_RESOURCES: ResourceRequirements = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } };
const TARGET_NAME = /^[a-zA-Z][a-zA-Z0-9\-_]*$/;

/**
 * The DingTalk adapter (timonwong/prometheus-webhook-dingtalk): Alertmanager posts its webhook
 * JSON to `/dingtalk/<target>/send` and the adapter sends it to that target's DingTalk group
 * robot. Its config file must hold the robots' URLs (with their tokens) and signing secrets, and
 * cannot read them from anywhere else, so the ConfigMap holds a template with `${VAR}` in their
 * place and an init container writes the file into a memory-backed volume from Secret-backed
 * environment variables. Reached only by the cluster's Alertmanager pods; reaches only DNS and
 * HTTPS (the DingTalk API, oapi.dingtalk.com, has no fixed addresses a CIDR could name).
 */
export class DingTalkWebhook extends Workload {
  /** The ClusterIP Service on port 8060 ({@link DINGTALK_PORT}) that Alertmanager posts to. */
  public readonly endpoint: ServiceEndpoint;
  /** The adapter's Deployment: an init container renders the config, then the adapter runs as `nobody`. */
  public readonly deployment: k8s.KubeDeployment;
  /** The ClusterIP Service in front of the adapter's pods, port `http` (8060). */
  public readonly service: k8s.KubeService;
  /**
   * The ConfigMap holding the config template (`config.yml.in`, `${VAR}` placeholders, no secrets)
   * and the script that renders it; a change to it rolls the pods.
   */
  public readonly configMap: k8s.KubeConfigMap;
  /** Pods. */
  public readonly replicas: number;

  constructor(scope: Construct, id: string, props: DingTalkWebhookProps) {
    const image = props.image ?? DEFAULT_DINGTALK_IMAGE;
    super(scope, id, { name: props.name ?? 'dingtalk-webhook', component: 'alerting', version: image.split(':').pop()!, runAsUser: NOBODY });
    const v = this.validator;
    v.pinnedImage('image', image);
    const initImage = v.pinnedImage('initImage', props.initImage ?? DEFAULT_DINGTALK_INIT_IMAGE);
    this.replicas = v.integer('replicas', props.replicas ?? 1, 1, 10);
    const resources = props.resources ?? DEFAULT_RESOURCES;
    validateResources(v, 'resources', resources);
    if (props.targets.length === 0) v.fail('targets', 'at least one DingTalk robot', props.targets);
    props.targets.forEach((t, i) => {
      if (!TARGET_NAME.test(t.name)) v.fail(`targets[${i}].name`, 'a target name (a letter, then letters, digits, - and _)', t.name);
      if (props.targets.findIndex((o) => o.name === t.name) !== i) v.fail(`targets[${i}].name`, 'a name used once', t.name);
      v.secretKeyRef(`targets[${i}].urlSecret`, t.urlSecret);
      if (t.signSecret) v.secretKeyRef(`targets[${i}].signSecret`, t.signSecret);
    });

    const env: k8s.EnvVar[] = props.targets.flatMap((t) => [
      envFromSecret(urlVariable(t.name), t.urlSecret),
      ...(t.signSecret ? [envFromSecret(signVariable(t.name), t.signSecret)] : []),
    ]);
    const files = { 'config.yml.in': configTemplate(props.targets), [RENDER_SCRIPT]: readAsset(`lib/observability/alerting/${RENDER_SCRIPT}`) };
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', { metadata: { name: this.name, labels: { ...this.labels.labels } }, data: files });
    const checksum = createHash('sha256').update(JSON.stringify(files)).digest('hex');

    const render = secureContainer({
      name: 'render-config',
      image: initImage,
      resources: INIT_RESOURCES,
      command: ['sh', `${TEMPLATE_DIR}/${RENDER_SCRIPT}`, `${TEMPLATE_DIR}/config.yml.in`, `${CONFIG_DIR}/config.yml`],
      env,
      volumeMounts: [{ name: 'template', mountPath: TEMPLATE_DIR, readOnly: true }, { name: 'config', mountPath: CONFIG_DIR }],
    });
    const adapter = secureContainer({
      name: 'dingtalk-webhook',
      image,
      resources,
      args: [`--web.listen-address=:${DINGTALK_PORT}`, `--config.file=${CONFIG_DIR}/config.yml`],
      ports: [{ name: 'http', containerPort: DINGTALK_PORT }],
      livenessProbe: httpProbe('/-/healthy', 'http', { periodSeconds: 10 }),
      readinessProbe: httpProbe('/-/ready', 'http', { periodSeconds: 5 }),
      volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
    });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      spec: {
        replicas: this.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: { ...this.labels.selectorLabels } },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) },
        },
        template: {
          // A changed template or script rolls the pods. A rotated token does not: restart them (README).
          metadata: this.podMetadata({ 'checksum/config': checksum }),
          spec: this.podSpec({
            initContainers: [render],
            containers: [adapter],
            volumes: [
              { name: 'template', configMap: { name: this.configMap.name, defaultMode: 0o444 } },
              // Memory-backed: the rendered file holds the tokens and must never reach a node's disk.
              { name: 'config', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
            ],
            spread: this.replicas > 1,
          }),
        },
      },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      spec: {
        type: 'ClusterIP',
        selector: { ...this.labels.selectorLabels },
        ports: [{ name: 'http', port: DINGTALK_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
    this.endpoint = { host: this.name, port: DINGTALK_PORT, targetPort: DINGTALK_PORT, workload: this };

    this.allowIngressFrom(NetworkPeer.alertmanager(monitoringOf(this).namespace), DINGTALK_PORT);
    // The least exception this adapter allows: HTTPS anywhere, because oapi.dingtalk.com sits
    // behind a CDN whose addresses change; nothing but 443 (and DNS) leaves the pod.
    this.allowEgressTo(NetworkPeer.anywhere(), 443);
    if (this.replicas > 1) this.addDisruptionBudget(1);
  }

  /** The URL Alertmanager posts `target`'s alerts to: `http://<service>.<namespace>.svc:8060/dingtalk/<target>/send`. */
  public sendUrl(namespace: string, target: string): string {
    return `http://${this.name}.${namespace}.svc:${DINGTALK_PORT}/dingtalk/${target}/send`;
  }
}


/** The environment variable holding a target's robot URL: `DINGTALK_LEVEL_1_ON_CALL_URL`. */
export function urlVariable(target: string): string {
  return `DINGTALK_${target.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
}

/** The environment variable holding a target's signing secret. */
export function signVariable(target: string): string {
  return `DINGTALK_${target.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_SECRET`;
}

/** The adapter's config file with `${VAR}` where the Secret values go (dingtalk-render-config.sh fills them in). */
export function configTemplate(targets: readonly DingTalkTarget[]): string {
  const lines = [
    '# Written at pod start by dingtalk-render-config.sh: each placeholder becomes the Secret value of its variable.',
    'timeout: 5s',
    'targets:',
  ];
  for (const t of targets) {
    lines.push(`  ${t.name}:`, `    url: \${${urlVariable(t.name)}}`);
    if (t.signSecret) lines.push(`    secret: \${${signVariable(t.name)}}`);
    if (t.mentionAll) lines.push('    mention:', '      all: true');
  }
  return `${lines.join('\n')}\n`;
}
