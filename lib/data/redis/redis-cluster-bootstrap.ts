import { k8s } from 'cdk8s-plus-27';
import { SYNC_HOOK_ANNOTATIONS } from '../../argocd-hooks';
import { Construct } from 'constructs';
import { secureContainer } from '../../container';
import { ResourceRequirements } from '../../resources';
import { envFromSecret } from '../../secret-ref';
import { Workload } from '../../workload';
import { REDIS_CLUSTER_NODE_TIMEOUT_MS, REDIS_CONFIG_DIR, REDIS_PORT, REDIS_USER, RedisSettings } from './redis-settings';
import { RedisServers } from './redis-servers';

/** The bootstrap Job of one {@link RedisCluster}. */
export interface RedisClusterBootstrapProps {
  /** The cluster's checked settings: the Job uses its image and password (`REDISCLI_AUTH`). */
  readonly settings: RedisSettings;
  /** Name of the Job, its ServiceAccount and NetworkPolicy. */
  readonly name: string;
  /** The cluster's members. */
  readonly members: RedisServers;
  /** Pods of the members' StatefulSet. */
  readonly memberCount: number;
  /** Replicas each master gets (`REDIS_CLUSTER_REPLICAS`, `redis-cli --cluster create --cluster-replicas`). */
  readonly replicasPerMaster: number;
  /** The ConfigMap holding cluster-bootstrap.sh (read when the Job runs). */
  readonly configMapName: string;
}

/** How long the script waits for the cluster state and topology, per attempt. */
export const BOOTSTRAP_TIMEOUT_SECONDS = 300;
/**
 * How long the script waits for every member to answer before it repairs a formed cluster with the
 * members it has (a first formation still needs all of them).
 */
export const BOOTSTRAP_MEMBER_WAIT_SECONDS = 120;
/**
 * How long an unreachable master is left to the cluster's own failover before the script promotes
 * its replica (CLUSTER FAILOVER TAKEOVER): four node timeouts, so that the cluster, which needs
 * one to suspect a master and a moment more to agree and elect, always goes first.
 */
export const BOOTSTRAP_FAILOVER_WAIT_SECONDS = (4 * REDIS_CLUSTER_NODE_TIMEOUT_MS) / 1000;

const BOOTSTRAP_RESOURCES: ResourceRequirements = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '128Mi' },
};

/**
 * A Job running cluster-bootstrap.sh against the members: forms the cluster on the first
 * deployment, adds replaced members later, repairs a cluster whose master is lost (promotes its
 * replica, or gives a cache's lost slots to the member that came back empty, or refuses naming the
 * command), and changes nothing on a healthy cluster.
 *
 * With plain `kubectl apply` the finished Job is removed after an hour (`ttlSecondsAfterFinished`),
 * and the next apply runs it again; a Job whose spec changed within that hour must be deleted first
 * (`kubectl delete job <name>`), since a Job's pod template cannot be changed.
 */
export class RedisClusterBootstrap extends Workload {
  /**
   * The Job `<name>`, an Argo CD Sync hook (re-created on every sync): up to 6 retries within 30 minutes,
   * removed an hour after it finishes.
   */
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: RedisClusterBootstrapProps) {
    const { settings, members } = props;
    super(scope, id, { name: props.name, component: 'cache', version: settings.version, runAsUser: REDIS_USER });

    const memberAddresses = Array.from({ length: props.memberCount },
      (_, i) => `${members.name}-${i}.${members.headlessServiceName}:${REDIS_PORT}`);
    const container = secureContainer({
      name: 'bootstrap',
      image: settings.image,
      resources: BOOTSTRAP_RESOURCES,
      command: ['bash', `${REDIS_CONFIG_DIR}/cluster-bootstrap.sh`],
      env: [
        envFromSecret('REDISCLI_AUTH', settings.passwordSecret),
        { name: 'REDIS_CLUSTER_NODES', value: memberAddresses.join(' ') },
        { name: 'REDIS_CLUSTER_REPLICAS', value: String(props.replicasPerMaster) },
        { name: 'REDIS_CLUSTER_TIMEOUT_SECONDS', value: String(BOOTSTRAP_TIMEOUT_SECONDS) },
        { name: 'REDIS_CLUSTER_MEMBER_WAIT_SECONDS', value: String(BOOTSTRAP_MEMBER_WAIT_SECONDS) },
        { name: 'REDIS_CLUSTER_FAILOVER_WAIT_SECONDS', value: String(BOOTSTRAP_FAILOVER_WAIT_SECONDS) },
      ],
      volumeMounts: [
        { name: 'config', mountPath: REDIS_CONFIG_DIR, readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: this.name, labels: { ...this.labels.labels }, annotations: { ...SYNC_HOOK_ANNOTATIONS } },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 1800,
        ttlSecondsAfterFinished: 3600,
        template: {
          // No configuration checksum here: the pod template of a Job is immutable, and the script is read at run time.
          metadata: this.podMetadata(),
          spec: this.podSpec({
            containers: [container],
            volumes: [
              {
                name: 'config',
                configMap: { name: props.configMapName, defaultMode: 0o444, items: [{ key: 'cluster-bootstrap.sh', path: 'cluster-bootstrap.sh' }] },
              },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            ],
            spread: false,
            restartPolicy: 'OnFailure',
          }),
        },
      },
    });

    this.connectTo(members.endpoint);
  }
}
