import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SYNC_HOOK_ANNOTATIONS } from '../argocd-hooks';
import { readAsset } from '../assets';
import { secureContainer } from '../container';
import { ResourceRequirements } from '../resources';
import { envFromSecret } from '../secret-ref';
import { Workload } from '../workload';
import { LogStore } from './log-store';
import { retentionRequests, RetentionOptions } from './retention';

/** Props of {@link LogRetention}: the retention and index to install, and the Elasticsearch and image of the Job. */
export interface LogRetentionProps extends RetentionOptions {
  /** The Elasticsearch to set up: its URL, setup credentials and CA. */
  readonly store: LogStore;
  /** curl image (a shell and curl). */
  readonly image: string;
  /**
   * Name of the Job, its ConfigMap and ServiceAccount: a Service name of at most 52 characters.
   * @default 'log-retention'
   */
  readonly name?: string;
}

/** The curl image's own user. */
const CURL_USER = 100;
const SETUP_DIR = '/etc/log-retention';
const CA_DIR = '/etc/elasticsearch-ca';
/** How long one run waits for Elasticsearch: a new cluster takes minutes to form. */
export const RETENTION_WAIT_SECONDS = 900;

const RESOURCES: ResourceRequirements = {
  requests: { cpu: '10m', memory: '16Mi' },
  limits: { cpu: '200m', memory: '64Mi' },
};

/**
 * Installs the log retention in Elasticsearch: the ILM policy (rollover daily, delete
 * `retentionDays` after rollover), the index template that makes the shipper's index a data stream
 * under that policy, and the shipper's writer role. A Job PUTs the JSON bodies of a ConfigMap with
 * elasticsearch-setup.sh; PUT is idempotent, so every run leaves the same state.
 */
export class LogRetention extends Workload {
  /** The Job `<name>` (an Argo CD sync hook) that PUTs the requests, waiting up to 900 s for Elasticsearch. */
  public readonly job: k8s.KubeJob;
  /** ConfigMap `<name>`: elasticsearch-setup.sh, the list of requests and their JSON bodies. */
  public readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: LogRetentionProps) {
    const tag = props.image.split(':').pop()!;
    super(scope, id, { name: props.name ?? 'log-retention', component: 'logging', version: tag, runAsUser: CURL_USER });
    const requests = retentionRequests(props);
    const data: Record<string, string> = {
      'elasticsearch-setup.sh': readAsset('lib/logging/elasticsearch-setup.sh'),
      requests: `${requests.map(([path, file]) => `${path} ${file}`).join('\n')}\n`,
    };
    for (const [, file, body] of requests) data[file] = `${JSON.stringify(body, null, 2)}\n`;
    this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
      metadata: { name: this.name, labels: { ...this.labels.labels } },
      data,
    });

    const ca = props.store.setupCaSecret;
    const container = secureContainer({
      name: 'setup',
      image: props.image,
      resources: RESOURCES,
      command: ['sh', `${SETUP_DIR}/elasticsearch-setup.sh`],
      env: [
        { name: 'ES_URL', value: props.store.url },
        { name: 'ES_USERNAME', value: props.store.setupCredentials.username },
        envFromSecret('ES_PASSWORD', props.store.setupCredentials.passwordSecret),
        { name: 'ES_REQUEST_DIR', value: SETUP_DIR },
        ...(ca ? [{ name: 'ES_CA_FILE', value: `${CA_DIR}/ca.crt` }] : []),
        { name: 'ES_WAIT_SECONDS', value: String(RETENTION_WAIT_SECONDS) },
      ],
      volumeMounts: [
        { name: 'setup', mountPath: SETUP_DIR, readOnly: true },
        ...(ca ? [{ name: 'elasticsearch-ca', mountPath: CA_DIR, readOnly: true }] : []),
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: this.name, labels: { ...this.labels.labels }, annotations: { ...SYNC_HOOK_ANNOTATIONS } },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 3600,
        ttlSecondsAfterFinished: 3600,
        template: {
          metadata: this.podMetadata(),
          spec: this.podSpec({
            containers: [container],
            volumes: [
              { name: 'setup', configMap: { name: this.configMap.name, defaultMode: 0o444 } },
              ...(ca ? [{ name: 'elasticsearch-ca', secret: { secretName: ca.name, defaultMode: 0o444, items: [{ key: ca.key, path: 'ca.crt' }] } }] : []),
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            ],
            spread: false,
            restartPolicy: 'OnFailure',
          }),
        },
      },
    });
  }
}
