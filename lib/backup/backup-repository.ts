import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { AlertRules } from '../observability/alert-rules';
import { ResourceRequirements, validateResources } from '../resources';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY, Validator } from '../validation';
import { NetworkPeer } from '../workload';
import { backupSettingsOf, BackupSettings } from './backup-settings';
import { backupRuleGroups } from './backup-rules';
import { DEFAULT_RESTIC_IMAGE, repositoryUrl } from './restic-tools';

const DEFAULT_RESOURCES: ResourceRequirements = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};
const ENDPOINT = /^https?:\/\/([a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:(\d{1,5}))?\/?$/;
// S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * An environment's backup destination, validated once: one restic repository per store in the
 * environment's bucket, the credentials as Secret references, and the environment's backup alerts
 * (PrometheusRule `backup-rules`). Stores find it with {@link BackupRepository.of}; it exists once
 * per chart, made by the first store that backs up.
 */
export class BackupRepository extends Construct {
  /** The repository of the environment at `scope`, or undefined where backups are not configured. */
  public static of(scope: Construct): BackupRepository | undefined {
    const settings = backupSettingsOf(scope);
    if (!settings) return undefined;
    const chart = Chart.of(scope);
    return (chart.node.tryFindChild(BackupRepository.ID) as BackupRepository | undefined)
      ?? new BackupRepository(chart, BackupRepository.ID, settings);
  }

  private static readonly ID = 'backup';

  /** The environment's backup settings as configured: the Secret references of restic's environment. */
  public readonly settings: BackupSettings;
  /** Folder of the environment's repositories in the bucket. */
  public readonly prefix: string;
  /**
   * IANA time zone every backup CronJob's `timeZone` is set to: the schedules are read in it. A name
   * the tz database lacks is refused.
   */
  public readonly timeZone: string;
  /**
   * Days full backups (and the archives their point-in-time recovery needs) are kept: the jobs'
   * KEEP_FULL_DAYS, older snapshots are forgotten and pruned. An integer 1-3650; 30 unless configured.
   */
  public readonly keepFullDays: number;
  /**
   * Days hourly backups are kept: the jobs' KEEP_INCREMENTAL_DAYS. An integer from 1 to
   * {@link BackupRepository.keepFullDays}; 7 unless configured.
   */
  public readonly keepIncrementalDays: number;
  /**
   * Image the `install-restic` init container copies the static restic binary and CA certificates
   * from; pinned to a release tag (`latest` or a bare major is refused).
   */
  public readonly resticImage: string;
  /**
   * CPU and memory of each backup, verify and restore container (a restore Job may set its own):
   * requests 100m / 256Mi, limits 1 / 1Gi unless configured.
   */
  public readonly resources: ResourceRequirements;
  /** The endpoint's port (443 for https, 80 for http, unless given). */
  public readonly endpointPort: number;
  /** Where the backup pods may connect outside the namespace: the endpoint's CIDRs. */
  public readonly endpointPeers: readonly NetworkPeer[];
  /**
   * The environment's backup alerts, PrometheusRule `backup-rules`: a failed job, verify or restore
   * test, and backups or checks overdue (thresholds from {@link BACKUP_JOB_KINDS}).
   */
  public readonly alertRules: AlertRules;

  constructor(scope: Construct, id: string, settings: BackupSettings) {
    super(scope, id);
    const v: Validator = Validator.of(this, id);
    const repo = settings.repository;
    if (typeof repo !== 'object' || repo === null) v.fail('repository', 'a bucket { endpoint, bucket, endpointCidrs }', repo);
    const endpoint = ENDPOINT.exec(typeof repo.endpoint === 'string' ? repo.endpoint : '');
    if (!endpoint) v.fail('repository.endpoint', 'an S3 endpoint URL such as https://s3.cn-north-1.amazonaws.com.cn (scheme, host, optional port, no path)', repo.endpoint);
    this.endpointPort = endpoint[4] ? v.integer('repository.endpoint port', Number(endpoint[4]), 1, 65535) : repo.endpoint.startsWith('https') ? 443 : 80;
    if (typeof repo.bucket !== 'string' || !BUCKET.test(repo.bucket) || repo.bucket.includes('..')) {
      v.fail('repository.bucket', 'an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)', repo.bucket);
    }
    const defaultPrefix = `${this.node.tryGetContext(SOLUTION_CONTEXT_KEY) ?? 'backups'}/${this.node.tryGetContext(ENVIRONMENT_CONTEXT_KEY) ?? 'default'}`;
    this.prefix = repo.prefix ?? defaultPrefix;
    if (typeof this.prefix !== 'string' || !PREFIX.test(this.prefix) || this.prefix.split('/').some((part) => part === '.' || part === '..')) v.fail('repository.prefix', "a folder path in the bucket (letters, digits, '.', '_', '-' and '/')", repo.prefix);
    if (!Array.isArray(repo.endpointCidrs) || repo.endpointCidrs.length === 0) {
      v.fail('repository.endpointCidrs', 'at least one IPv4 CIDR of the endpoint (the backup pods may reach only these outside the namespace)', repo.endpointCidrs);
    }
    this.endpointPeers = repo.endpointCidrs.map((cidr, i) => NetworkPeer.cidr(v.ipv4Cidr(`repository.endpointCidrs[${i}]`, cidr)));
    v.secretKeyRef('passwordSecret', settings.passwordSecret);
    v.secretKeyRef('accessKeyIdSecret', settings.accessKeyIdSecret);
    v.secretKeyRef('secretAccessKeySecret', settings.secretAccessKeySecret);
    this.timeZone = timeZone(v, settings.timeZone ?? 'Asia/Shanghai');
    this.keepFullDays = v.integer('retention.fullDays', settings.retention?.fullDays ?? 30, 1, 3650);
    this.keepIncrementalDays = v.integer('retention.incrementalDays', settings.retention?.incrementalDays ?? 7, 1, this.keepFullDays);
    this.resticImage = v.pinnedImage('resticImage', settings.resticImage ?? DEFAULT_RESTIC_IMAGE);
    this.resources = settings.resources ?? DEFAULT_RESOURCES;
    validateResources(v, 'resources', this.resources);
    this.settings = settings;

    this.alertRules = new AlertRules(this, 'AlertRules', {
      name: 'backup-rules',
      component: 'backup',
      groups: backupRuleGroups(Chart.of(this).namespace ?? 'default'),
    });
  }

  /** restic's URL of `store`'s repository. */
  public repositoryOf(store: string): string {
    return repositoryUrl(this.settings, this.prefix, store);
  }
}

/** An IANA zone name the CronJob controller knows (Kubernetes reads the same tz database). */
function timeZone(v: Validator, value: string): string {
  try {
    if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)) throw new RangeError(String(value));
    new Intl.DateTimeFormat('en', { timeZone: value });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    v.fail('timeZone', 'an IANA time zone name such as Asia/Shanghai or Etc/UTC', value);
  }
  return value;
}
