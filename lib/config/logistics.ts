import { MilvusStoreSettings } from '../data/milvus';
import { MySqlProps } from '../data/mysql';
import { RedisClusterProps } from '../data/redis';
import { DeliveryStrategy } from '../delivery/delivery-options';
import { ServiceExposure } from '../stateless-service';
import { AppTierSettings, ModelSettings, WebSettings } from './app-tier-settings';
import { AlertRoutingSettings } from '../observability/alerting/alert-routing-settings';
import { defineSolution, SolutionDefinition } from './solution-definition';

/** Everything one logistics environment is made of. */
export interface LogisticsSettings extends AppTierSettings {
  /** Web servers behind a load balancer (R7). */
  readonly web: WebSettings;
  /** MySQL 8.0 primary with read replicas (R10). */
  readonly mysql: MySqlProps;
  /** Redis 7 cluster (R12): 3 masters, replicas per master from config. */
  readonly redis: RedisClusterProps;
  /** Milvus 2.3 (R13): a cluster where `mode` says so, standalone elsewhere. */
  readonly milvus: MilvusStoreSettings;
}

/**
 * Logistics (seed 000): web tier behind a load balancer, API (3 replicas), three AI services,
 * MySQL primary + 2 read replicas, Redis cluster, Milvus cluster.
 */
const REGISTRY = 'registry.example.com/logistics';
const RELEASE = '1.0.0';

/** Alert routing credentials: one Secret in the environment's namespace (created from the secret manager in prod). */
const alertingSecret = (key: string) => ({ name: 'alerting-secret', key });
/** The team's SMTP relay and WeCom application, shared by the environments that route alerts. */
const ALERT_CHANNELS: Pick<AlertRoutingSettings, 'email' | 'wecom'> = {
  email: {
    smarthost: 'smtp.example.com:587',
    from: 'alertmanager@logistics.example.com',
    authUsername: 'alertmanager@logistics.example.com',
    authPasswordSecret: alertingSecret('smtp-password'),
  },
  wecom: { corpId: 'ww0123456789abcdef', agentId: '1000002', apiSecret: alertingSecret('wecom-api-secret') },
};

const CANARY = { strategy: DeliveryStrategy.CANARY };

const model = (name: string): ModelSettings => ({
  image: { repository: `${REGISTRY}/${name}`, tag: RELEASE },
  resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } },
  autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilizationPercent: 70 },
});

export const logistics: SolutionDefinition<LogisticsSettings> = defineSolution<LogisticsSettings>()({
  name: 'logistics',
  settingsType: 'LogisticsSettings',
  defaults: {
    production: false,
    application: {
      displayName: 'Intelligent Logistics Platform',
      version: RELEASE,
      properties: {
        'route.optimizer': 'or-tools',
        'route.max_stops': 50,
        'risk.alert_threshold': 0.8,
        'forecast.horizon_days': 14,
      },
      featureFlags: { route_optimization: true, risk_alerts: true, demand_forecast: true },
      release: { grayPercentage: 0 },
    },
    api: {
      image: { repository: `${REGISTRY}/api`, tag: RELEASE },
      // R5, seed 000: requests 500m / 512Mi, limits 2 CPU / 2Gi.
      resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
      autoscaling: { minReplicas: 3, maxReplicas: 10, targetCpuUtilizationPercent: 70 },
      // Seed 000 exposes the API through a LoadBalancer Service on port 8000.
      exposure: ServiceExposure.LOAD_BALANCER,
      servicePort: 8000,
      secretEnv: {
        DB_PASSWORD: { name: 'logistics-secret', key: 'db_password' },
        API_KEY: { name: 'logistics-secret', key: 'api_key' },
        REDIS_PASSWORD: { name: 'redis-secret', key: 'password' },
      },
    },
    web: {
      image: { repository: `${REGISTRY}/web`, tag: RELEASE },
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilizationPercent: 70 },
    },
    models: {
      'route-planning': model('route-planning'),
      'demand-forecast': model('demand-forecast'),
      'risk-prediction': model('risk-prediction'),
    },
    ingress: { hosts: ['logistics.example.com'], tls: { secretName: 'logistics-tls' } },
    // R10, seed 000: a primary and two read replicas, 100Gi each, root password from mysql-secret.
    mysql: {
      replicas: 2,
      database: 'logistics',
      storage: { size: '100Gi' },
      resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
      rootPasswordSecret: { name: 'mysql-secret', key: 'root-password' },
      replicationPasswordSecret: { name: 'mysql-secret', key: 'replication-password' },
      // The API logs in as `logistics` with the seed's logistics-secret/db_password.
      appUser: { name: 'logistics', passwordSecret: { name: 'logistics-secret', key: 'db_password' } },
      // R9: the VerticalPodAutoscaler recommends within these bounds (seed 000 capacity planning).
      verticalScaling: { minAllowed: { cpu: '1', memory: '4Gi' }, maxAllowed: { cpu: '8', memory: '32Gi' } },
    },
    // R12, seed 000: a 3-master Redis cluster with 50Gi volumes; the API's REDIS_PASSWORD is the same key.
    redis: {
      masters: 3,
      replicasPerMaster: 1,
      storage: { size: '50Gi' },
      resources: { requests: { cpu: '500m', memory: '4Gi' }, limits: { cpu: '2', memory: '4Gi' } },
      passwordSecret: { name: 'redis-secret', key: 'password' },
    },
    milvus: {
      mode: 'cluster',
      etcdReplicas: 3,
      objectStorage: {
        minio: {
          accessKeySecret: { name: 'milvus-secret', key: 'minio-access-key' },
          secretKeySecret: { name: 'milvus-secret', key: 'minio-secret-key' },
          // Four drives: one erasure set that survives the loss of a pod.
          replicas: 4,
          storage: { size: '100Gi' },
        },
      },
      messageQueue: { kafka: { replicas: 3, storage: { size: '50Gi' } } },
      proxy: { replicas: 2 },
      queryNode: { replicas: 2 },
      dataNode: { replicas: 2 },
      indexNode: { replicas: 1 },
    },
    // R26-R30: every store backs up with restic to its environment's own bucket (set per
    // environment below), encrypted with the password in backup-secret.
    backup: {
      repository: { endpoint: 'https://s3.example.com', bucket: 'logistics-dev-backups', endpointCidrs: ['203.0.113.0/24'] },
      passwordSecret: { name: 'backup-secret', key: 'restic-password' },
      accessKeyIdSecret: { name: 'backup-secret', key: 'access-key-id' },
      secretAccessKeySecret: { name: 'backup-secret', key: 'secret-access-key' },
      timeZone: 'Asia/Shanghai',
    },
  },
  environments: {
    dev: {
      // Dev alerts reach the development team by e-mail, whatever their severity.
      monitoring: {
        alerting: {
          email: ALERT_CHANNELS.email,
          onCall: { emails: ['logistics-dev@logistics.example.com'] },
          techLead: { emails: ['logistics-dev@logistics.example.com'] },
          management: { emails: ['logistics-dev@logistics.example.com'] },
        },
      },
      application: { featureFlags: { route_optimization: true, risk_alerts: true, demand_forecast: true, experimental_eta_model: true } },
      api: {
        replicas: 1,
        autoscaling: undefined,
        exposure: ServiceExposure.CLUSTER_IP,
        resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
      web: { replicas: 1, autoscaling: undefined, resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } } },
      models: {
        'route-planning': { replicas: 1, autoscaling: undefined, resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } } },
        'demand-forecast': { replicas: 1, autoscaling: undefined, resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } } },
        'risk-prediction': { replicas: 1, autoscaling: undefined, resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } } },
      },
      ingress: { hosts: ['logistics.dev.example.com'], tls: undefined },
      redis: {
        replicasPerMaster: 0,
        storage: { size: '5Gi' },
        resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      },
      mysql: {
        replicas: 1,
        storage: { size: '10Gi' },
        resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
      },
      // Standalone in dev: one Milvus pod, one etcd member, one MinIO drive, no message queue.
      milvus: {
        mode: 'standalone',
        etcdReplicas: 1,
        storage: { size: '10Gi' },
        objectStorage: { minio: { replicas: 1, storage: { size: '10Gi' } } },
        messageQueue: undefined,
        proxy: undefined,
        queryNode: undefined,
        dataNode: undefined,
        indexNode: undefined,
      },
    },
    test: {
      backup: { repository: { bucket: 'logistics-test-backups' } },
      application: { release: { grayPercentage: 10, abTests: { eta_model_v2: 50 } } },
      // Test alerts reach the team by e-mail only, and the on-call's DingTalk group too.
      monitoring: {
        alerting: {
          email: ALERT_CHANNELS.email,
          onCall: { emails: ['oncall@logistics.example.com'], dingtalk: { urlSecret: alertingSecret('dingtalk-on-call-url') } },
          techLead: { emails: ['tech-lead@logistics.example.com'] },
          management: { emails: ['logistics-team@logistics.example.com'] },
        },
      },
      api: { autoscaling: { minReplicas: 2, maxReplicas: 4 }, exposure: ServiceExposure.CLUSTER_IP },
      web: { autoscaling: { minReplicas: 2, maxReplicas: 3 } },
      ingress: { hosts: ['logistics.test.example.com'], tls: { secretName: 'logistics-test-tls' } },
      mysql: { replicas: 1, storage: { size: '20Gi' } },
      redis: { storage: { size: '10Gi' }, resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } },
      // The smallest cluster, so that test exercises the same topology as prod.
      milvus: {
        etcdReplicas: 1,
        objectStorage: { minio: { replicas: 1, storage: { size: '20Gi' } } },
        messageQueue: { kafka: { replicas: 1, storage: { size: '10Gi' } } },
        proxy: { replicas: 1 },
        queryNode: { replicas: 1 },
        dataNode: { replicas: 1 },
      },
    },
    prod: {
      backup: { repository: { bucket: 'logistics-prod-backups' } },
      production: true,
      // R30: point in time < 30 min at 100 GiB needs a physical full restored file by file (README, recovery objectives).
      mysql: { backup: { fullBackupSource: 'volume' } },
      application: { release: { grayPercentage: 10 } },
      secretManager: { storeName: 'vault-backend' },
      // R23, seed 004 11.4: each escalation level by e-mail, SMS, WeCom and DingTalk (management: e-mail and WeCom).
      monitoring: {
        alerting: {
          ...ALERT_CHANNELS,
          onCall: {
            emails: ['oncall@logistics.example.com'],
            smsWebhookUrl: 'https://sms-gateway.example.com/alertmanager/logistics-on-call',
            wecomToParty: '2',
            dingtalk: { urlSecret: alertingSecret('dingtalk-on-call-url'), signSecret: alertingSecret('dingtalk-on-call-sign'), mentionAll: true },
          },
          techLead: {
            emails: ['tech-lead@logistics.example.com'],
            smsWebhookUrl: 'https://sms-gateway.example.com/alertmanager/logistics-tech-lead',
            wecomToParty: '3',
            dingtalk: { urlSecret: alertingSecret('dingtalk-tech-lead-url'), signSecret: alertingSecret('dingtalk-tech-lead-sign') },
          },
          management: { emails: ['management@logistics.example.com'], wecomToParty: '4' },
        },
      },
      // R17, seed 004 11.3: the API goes out blue-green, the web tier and the AI services as
      // canaries (10% -> 50% -> 100%), each rolled back on its own above 5% errors.
      api: { delivery: { strategy: DeliveryStrategy.BLUE_GREEN } },
      web: { delivery: { strategy: DeliveryStrategy.CANARY } },
      models: {
        // The route planner runs its solver on GPUs in production.
        'route-planning': { resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' }, gpu: 1 }, delivery: CANARY },
        'demand-forecast': { delivery: CANARY },
        'risk-prediction': { delivery: CANARY },
      },
    },
  },
});
