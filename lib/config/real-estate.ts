import { MilvusStoreSettings } from '../data/milvus';
import { PostgresProps } from '../data/postgres/postgres';
import { RedisProps } from '../data/redis';
import { DeliveryStrategy } from '../delivery/delivery-options';
import { AppTierSettings } from './app-tier-settings';
import { AlertRoutingSettings } from '../observability/alerting/alert-routing-settings';
import { defineSolution, SolutionDefinition } from './solution-definition';

/** Everything one real-estate environment is made of. */
export interface RealEstateSettings extends AppTierSettings {
  /** PostgreSQL 14 (R11), with a hot standby where `standby` is on. */
  readonly postgres: PostgresProps;
  /** Redis 7 (R12): a primary, with read replicas where `replicas` says so. */
  readonly redis: RedisProps;
  /** Milvus 2.3 standalone (R13). */
  readonly milvus: MilvusStoreSettings;
}

/**
 * Real estate (seed 004): API (3 replicas) behind an Ingress, recommendation and valuation
 * models, PostgreSQL 14, Redis 7, Milvus 2.3 standalone.
 */
const REGISTRY = 'registry.example.com/real-estate';
const RELEASE = '1.0.0';

/** Alert routing credentials: one Secret in the environment's namespace (created from the secret manager in prod). */
const alertingSecret = (key: string) => ({ name: 'alerting-secret', key });
/** The team's SMTP relay and WeCom application, shared by the environments that route alerts. */
const ALERT_CHANNELS: Pick<AlertRoutingSettings, 'email' | 'wecom'> = {
  email: {
    smarthost: 'smtp.example.com:587',
    from: 'alertmanager@real-estate.example.com',
    authUsername: 'alertmanager@real-estate.example.com',
    authPasswordSecret: alertingSecret('smtp-password'),
  },
  wecom: { corpId: 'ww0123456789abcdef', agentId: '1000002', apiSecret: alertingSecret('wecom-api-secret') },
};

export const realEstate: SolutionDefinition<RealEstateSettings> = defineSolution<RealEstateSettings>()({
  name: 'real-estate',
  settingsType: 'RealEstateSettings',
  defaults: {
    production: false,
    application: {
      displayName: 'Intelligent Real Estate Platform',
      version: RELEASE,
      // R15, seed 004 app.properties.
      properties: {
        'recommendation.model': 'hybrid',
        'recommendation.top_k': 10,
        'evaluation.model': 'xgboost',
        'evaluation.confidence_threshold': 0.8,
      },
      featureFlags: { recommendation: true, valuation: true, compliance_review: true },
      release: { grayPercentage: 0 },
    },
    api: {
      image: { repository: `${REGISTRY}/api`, tag: RELEASE },
      // R5, seed 004: requests 500m / 1Gi, limits 2 CPU / 2Gi.
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
      autoscaling: { minReplicas: 3, maxReplicas: 10, targetCpuUtilizationPercent: 70 },
      servicePort: 80,
      secretEnv: {
        DATABASE_URL: { name: 'real-estate-secrets', key: 'database-url' },
        REDIS_URL: { name: 'real-estate-secrets', key: 'redis-url' },
        API_KEY: { name: 'real-estate-secrets', key: 'api-key' },
      },
    },
    models: {
      recommendation: {
        image: { repository: `${REGISTRY}/recommendation`, tag: RELEASE },
        resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } },
        autoscaling: { minReplicas: 2, maxReplicas: 6 },
      },
      valuation: {
        image: { repository: `${REGISTRY}/valuation`, tag: RELEASE },
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
        autoscaling: { minReplicas: 2, maxReplicas: 6 },
      },
    },
    // R4: the API behind an Ingress, api.real-estate.example.com in prod.
    ingress: { hosts: ['api.real-estate.example.com'], tls: { secretName: 'real-estate-api-tls' } },
    postgres: {
      database: 'real_estate_ai',
      passwordSecret: { name: 'postgres-secret', key: 'password' },
      replicationPasswordSecret: { name: 'postgres-secret', key: 'replication-password' },
      storage: { size: '100Gi' },
      resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
      standby: false,
      // R9: the VerticalPodAutoscaler recommends within these bounds (seed 000 capacity planning).
      verticalScaling: { minAllowed: { cpu: '1', memory: '4Gi' }, maxAllowed: { cpu: '8', memory: '32Gi' } },
    },
    redis: {
      replicas: 0,
      storage: { size: '20Gi' },
      resources: { requests: { cpu: '250m', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } },
      passwordSecret: { name: 'redis-secret', key: 'password' },
    },
    milvus: {
      mode: 'standalone',
      storage: { size: '50Gi' },
      resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
      objectStorage: {
        minio: {
          accessKeySecret: { name: 'milvus-secret', key: 'minio-access-key' },
          secretKeySecret: { name: 'milvus-secret', key: 'minio-secret-key' },
          storage: { size: '100Gi' },
        },
      },
    },
    // R26-R30: every store backs up with restic to its environment's own bucket (set per
    // environment below), encrypted with the password in backup-secret.
    backup: {
      repository: { endpoint: 'https://s3.example.com', bucket: 'real-estate-dev-backups', endpointCidrs: ['203.0.113.0/24'] },
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
          onCall: { emails: ['real-estate-dev@real-estate.example.com'] },
          techLead: { emails: ['real-estate-dev@real-estate.example.com'] },
          management: { emails: ['real-estate-dev@real-estate.example.com'] },
        },
      },
      application: { featureFlags: { recommendation: true, valuation: true, compliance_review: true, image_appraisal: true } },
      api: {
        replicas: 1,
        autoscaling: undefined,
        resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
      models: {
        recommendation: { replicas: 1, autoscaling: undefined, resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } } },
        valuation: { replicas: 1, autoscaling: undefined, resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } } },
      },
      ingress: { hosts: ['api.dev.real-estate.example.com'], tls: undefined },
      redis: { storage: { size: '5Gi' }, resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } } },
      postgres: {
        storage: { size: '10Gi' },
        resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
      milvus: {
        storage: { size: '10Gi' },
        resources: { requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
        objectStorage: { minio: { storage: { size: '10Gi' } } },
      },
    },
    test: {
      backup: { repository: { bucket: 'real-estate-test-backups' } },
      application: { release: { grayPercentage: 10, abTests: { hybrid_vs_collaborative: 50 } } },
      // Test alerts reach the team by e-mail only, and the on-call's DingTalk group too.
      monitoring: {
        alerting: {
          email: ALERT_CHANNELS.email,
          onCall: { emails: ['oncall@real-estate.example.com'], dingtalk: { urlSecret: alertingSecret('dingtalk-on-call-url') } },
          techLead: { emails: ['tech-lead@real-estate.example.com'] },
          management: { emails: ['real-estate-team@real-estate.example.com'] },
        },
      },
      api: { autoscaling: { minReplicas: 2, maxReplicas: 4 } },
      ingress: { hosts: ['api.test.real-estate.example.com'], tls: { secretName: 'real-estate-api-test-tls' } },
      postgres: { storage: { size: '20Gi' } },
      milvus: { storage: { size: '20Gi' }, objectStorage: { minio: { storage: { size: '20Gi' } } } },
    },
    prod: {
      backup: { repository: { bucket: 'real-estate-prod-backups' } },
      production: true,
      application: { release: { grayPercentage: 10 } },
      // Seed 004's fault plan switches over to a standby: prod runs one, with its own read Service.
      // R30: a base restored file by file leaves the most margin on point in time < 30 min at 200 GiB (README, recovery objectives).
      postgres: { standby: true, storage: { size: '200Gi' }, backup: { fullBackupSource: 'volume' } },
      // A replica keeps the cache warm through a primary restart and takes reads.
      redis: { replicas: 1 },
      // R17, seed 004 11.3: the API goes out blue-green, the AI services as canaries
      // (10% -> 50% -> 100%), each rolled back on its own above 5% errors.
      api: { delivery: { strategy: DeliveryStrategy.BLUE_GREEN } },
      models: { recommendation: { delivery: { strategy: DeliveryStrategy.CANARY } }, valuation: { delivery: { strategy: DeliveryStrategy.CANARY } } },
      secretManager: { storeName: 'vault-backend' },
      // R23, seed 004 11.4: each escalation level by e-mail, SMS, WeCom and DingTalk (management: e-mail and WeCom).
      monitoring: {
        alerting: {
          ...ALERT_CHANNELS,
          onCall: {
            emails: ['oncall@real-estate.example.com'],
            smsWebhookUrl: 'https://sms-gateway.example.com/alertmanager/real-estate-on-call',
            wecomToParty: '12',
            dingtalk: { urlSecret: alertingSecret('dingtalk-on-call-url'), signSecret: alertingSecret('dingtalk-on-call-sign'), mentionAll: true },
          },
          techLead: {
            emails: ['tech-lead@real-estate.example.com'],
            smsWebhookUrl: 'https://sms-gateway.example.com/alertmanager/real-estate-tech-lead',
            wecomToParty: '13',
            dingtalk: { urlSecret: alertingSecret('dingtalk-tech-lead-url'), signSecret: alertingSecret('dingtalk-tech-lead-sign') },
          },
          management: { emails: ['management@real-estate.example.com'], wecomToParty: '14' },
        },
      },
    },
  },
});
