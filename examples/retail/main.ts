/**
 * Retail: an API with PostgreSQL and Redis, monitored, backed up and delivered blue-green in
 * production, built only from the public API of the ai-platform-k8s package.
 * `cdk8s synth` writes dist/retail/<environment>/.
 */
import { join } from 'path';
import {
  ApiService, AppConfig, BackupSettings, DeliveryStrategy, EnvironmentAlerts, EnvironmentApp, EnvironmentDashboards,
  Policies, Postgres, Redis, stampSyncWaves, Workload,
} from 'ai-platform-k8s';

const VERSION = '1.4.0';
const secret = (name: string, key: string) => ({ name, key });

const backup: BackupSettings = {
  repository: { endpoint: 'https://s3.example.com', bucket: 'retail-backups', endpointCidrs: ['203.0.113.0/24'] },
  passwordSecret: secret('backup-secret', 'restic-password'),
  accessKeyIdSecret: secret('backup-secret', 'access-key-id'),
  secretAccessKeySecret: secret('backup-secret', 'secret-access-key'),
  timeZone: 'Europe/Berlin',
};

function retail(environment: string, production: boolean, outdir: string): EnvironmentApp {
  const app = new EnvironmentApp({
    solution: 'retail', environment, namespace: `retail-${environment}`, version: VERSION, production, backup,
    outdir: join(outdir, 'retail', environment),
  });
  const postgres = new Postgres(app.dataChart, 'postgres', {
    database: 'retail',
    passwordSecret: secret('postgres-secret', 'password'),
    replicationPasswordSecret: secret('postgres-secret', 'replication-password'),
    storage: { size: production ? '100Gi' : '10Gi' },
    standby: production,
  });
  const redis = new Redis(app.dataChart, 'redis', {
    replicas: production ? 1 : 0,
    storage: { size: '5Gi' },
    resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
    passwordSecret: secret('redis-secret', 'password'),
  });

  const config = new AppConfig(app.appChart, 'config', {
    settings: {
      APP_ENV: environment,
      DB_HOST: postgres.endpoint.host, DB_PORT: String(postgres.endpoint.port), DB_NAME: 'retail',
      REDIS_HOST: redis.endpoint.host, REDIS_PORT: String(redis.endpoint.port),
    },
    properties: { 'cart.ttl_minutes': 30, 'catalog.page_size': 50 },
    featureFlags: { recommendations: !production },
  });
  const api = new ApiService(app.appChart, 'api', {
    image: { repository: 'registry.example.com/retail/api', tag: VERSION },
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    ...(production ? { autoscaling: { minReplicas: 3, maxReplicas: 10 } } : { replicas: 1 }),
    config,
    secretEnv: { DB_PASSWORD: secret('postgres-secret', 'password'), REDIS_PASSWORD: secret('redis-secret', 'password') },
    delivery: { strategy: production ? DeliveryStrategy.BLUE_GREEN : DeliveryStrategy.ROLLING },
  });
  api.connectTo(postgres.endpoint);
  api.connectTo(redis.endpoint);

  // One PrometheusRule for the environment: every scraped workload keeps a target, the API's HTTP metrics.
  const alerts = new EnvironmentAlerts(app.appChart, 'alerts', {
    scrapedJobs: app.node.findAll().filter((c): c is Workload => c instanceof Workload && c.metricsEndpoints.length > 0).map((w) => w.name),
    httpServices: api.appMetrics ? [{ job: api.name, defaultLatencyP95Seconds: api.appMetrics.latencyP95Seconds }] : [],
    apiJob: api.name,
  });
  new EnvironmentDashboards(app.appChart, 'dashboards', { alerts });

  Policies.enforce(app);
  stampSyncWaves(app);
  return app;
}

const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
for (const [environment, production] of [['dev', false], ['prod', true]] as const) {
  const result = retail(environment, production, outdir).synth();
  process.stderr.write(`wrote ${result.outdir}: ${result.files} files, ${result.objects} objects\n`);
}
