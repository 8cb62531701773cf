import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { readAsset } from '../../assets';
import { BackupRepository, DatabaseBackupSettings, StoreBackup } from '../../backup';
import { AlertRules } from '../../observability/alert-rules';
import { ResourceRequirements, validateResources } from '../../resources';
import { SecretKeyRef } from '../../secret-ref';
import { DEFAULT_MYSQL_REPLICATION_LAG_SECONDS, MySqlAlertOptions, mysqlRuleGroups } from '../../observability/store-rules/mysql';
import { StoreSeries } from '../../observability/store-rules/store-selector';
import { VerticalScalingSettings } from '../../ops/vertical-scaling';
import { Validator } from '../../validation';
import { ServiceEndpoint, Workload } from '../../workload';
import { StorageOptions, validateStorage } from '../storage';
import { CONFIG_FILE, MySqlTuning, renderServerCnf, resolveTuning, SCRIPT_FILES } from './mysql-config';
import { addMySqlBackup } from './mysql-backup';
import { MySqlPrimary } from './mysql-primary';
import { MySqlReplicas } from './mysql-replicas';
import { MySqlAppUser, MySqlServerSettings } from './mysql-server';

/** A MySQL 8.0 primary with read replicas; pure data, so that it can live in typed configuration. */
export interface MySqlProps {
  /**
   * Prefix of every object's name: StatefulSets `<name>-primary` and `<name>-replica`, Services
   * `<name>-primary` (writes) and `<name>-read` (reads), ConfigMaps `<name>-config` and
   * `<name>-scripts`.
   * @default 'mysql'
   */
  readonly name?: string;
  /** Read replicas (at least 1), each a full copy of the primary. */
  readonly replicas: number;
  /** The volume of each pod (the primary's and each replica's). */
  readonly storage: StorageOptions;
  /**
   * CPU and memory of each MySQL container.
   * @default - requests 500m / 1Gi, limits 2 / 2Gi
   */
  readonly resources?: ResourceRequirements;
  /**
   * The official MySQL 8.0 image, pinned to a release.
   * @default 'mysql:8.0.39'
   */
  readonly image?: string;
  /** The application database, created on the primary if it is missing. */
  readonly database: string;
  /**
   * The Secret key holding root's password (every server's; the set-up scripts log in as root).
   * The official entrypoint writes it into SQL and an option file unescaped on first start, so it
   * must not contain `'`, `"` or `\`.
   */
  readonly rootPasswordSecret: SecretKeyRef;
  /**
   * The account replicas replicate as (REPLICATION SLAVE, nothing else).
   * @default 'replicator'
   */
  readonly replicationUser?: string;
  /** The Secret key holding the replication account's password. */
  readonly replicationPasswordSecret: SecretKeyRef;
  /**
   * An account for the application with all privileges on `database`, on the primary and every
   * replica (where read-only stops its writes).
   * @default - no application account; clients log in as they are set up by hand
   */
  readonly appUser?: MySqlAppUser;
  /**
   * Server tuning, rendered into the `server.cnf` of the config ConfigMap.
   * @default - see MySqlTuning
   */
  readonly config?: MySqlTuning;
  /**
   * Thresholds of the store's alerts (PrometheusRule `<name>-rules`).
   * @default - see MySqlAlertOptions
   */
  readonly alerts?: MySqlAlertOptions;
  /**
   * Backup schedules and the full backup's source, where the environment backs up (its `backup`
   * settings). `fullBackupSource: 'volume'` (a physical copy of replica 0's files with Percona
   * XtraBackup, restored file by file) needs `image` at MySQL 8.0.34 or later.
   * @default - full daily at 01:00 through the server (mysqldump), binary logs every 30 minutes (:15 and :45), see BackupScheduleSettings
   */
  readonly backup?: DatabaseBackupSettings;
  /**
   * The official Percona XtraBackup 8.0 image (8.0.35 or later: it backs up MySQL 8.0.34 and every
   * later 8.0.x) of the physical backup's jobs, used with `backup.fullBackupSource: 'volume'`.
   * @default 'percona/percona-xtrabackup:8.0.35-34'
   */
  readonly xtrabackupImage?: string;
  /**
   * Bounds of the VerticalPodAutoscaler's recommendation for each server (R9; recommendation only).
   * @default - the container's requests to twice its limits
   */
  readonly verticalScaling?: VerticalScalingSettings;
}

const DEFAULT_IMAGE = 'mysql:8.0.39';
const DEFAULT_RESOURCES: ResourceRequirements = {
  requests: { cpu: '500m', memory: '1Gi' },
  limits: { cpu: '2', memory: '2Gi' },
};
// The official image's 8.0 releases (Oracle Linux, and the older Debian variant); both run as uid 999.
const MYSQL_80_TAG = /^8\.0\.(\d+)(-(oracle|debian))?$/;
// 8.0.32: mysqldump's --single-transaction reads the GTID set consistently with its snapshot; the
// scripts' CHANGE REPLICATION SOURCE, START REPLICA and log_replica_updates are older.
const MIN_PATCH = 32;
// Percona XtraBackup 8.0.35 backs up MySQL 8.0.34 and every later 8.0.x; older servers need the
// XtraBackup of their own release.
const MIN_PHYSICAL_PATCH = 34;
const DEFAULT_XTRABACKUP_IMAGE = 'percona/percona-xtrabackup:8.0.35-34';
const XTRABACKUP_80_TAG = /^8\.0\.(\d+)(-\d+(\.\d+)?)?$/;
const MIN_XTRABACKUP_PATCH = 35;
const FULL_BACKUP_SOURCES = ['server', 'volume'];
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const SYSTEM_SCHEMAS = ['mysql', 'sys', 'information_schema', 'performance_schema'];

/**
 * MySQL 8.0 (R10) in the shape of a primary with read replicas: a `<name>-primary` StatefulSet
 * with one pod behind the write Service, and a `<name>-replica` StatefulSet with `replicas` pods
 * behind the read Service. Replication uses GTIDs with auto-positioning and is set up by the
 * manifests themselves (replication.sh, run by server.sh in each container): a new replica first
 * copies the primary's data, a restarted one resumes. Volumes survive deletes, scale-downs and
 * Argo CD prunes (R14); passwords come from Secrets and are never written into manifests.
 *
 * Pod security is "restricted" with the platform's uid replaced by 999, the official image's
 * `mysql` user, which owns the data; the root file system is read-only.
 */
export class MySql extends Construct {
  /** The primary, read-write (Service `<name>-primary`). */
  public readonly writeEndpoint: ServiceEndpoint;
  /** The replicas, read-only (Service `<name>-read`). */
  public readonly readEndpoint: ServiceEndpoint;
  /** StatefulSet `<name>-primary`: the single read-write server. */
  public readonly primary: MySqlPrimary;
  /** StatefulSet `<name>-replica`: `replicas` read-only servers; the backup jobs read from its first pod. */
  public readonly readReplicas: MySqlReplicas;
  /** Both workloads, the primary first. */
  public readonly workloads: Workload[];
  /** The application database. */
  public readonly database: string;
  /** The application account, if one was asked for. */
  public readonly appUser?: MySqlAppUser;
  /** Where root's password is. */
  public readonly rootPasswordSecret: SecretKeyRef;
  /** The store's backups: undefined where the environment has no backup settings. */
  public readonly backup?: StoreBackup;
  /** The store's alerts (primary down, replication stopped or lagging), from mysqld_exporter beside each server. */
  public readonly alertRules: AlertRules;

  constructor(scope: Construct, id: string, props: MySqlProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    // `<name>-replica` must stay within a StatefulSet name whose pods' revision label fits in 63.
    const name = v.dnsLabel('name', props.name ?? 'mysql', 44);
    const replicas = v.integer('replicas', props.replicas, 1);
    validateStorage(v, 'storage', props.storage);
    const resources = props.resources ?? DEFAULT_RESOURCES;
    validateResources(v, 'resources', resources);
    const image = v.pinnedImage('image', props.image ?? DEFAULT_IMAGE);
    const tag = image.slice(image.lastIndexOf(':') + 1);
    const release = MYSQL_80_TAG.exec(tag);
    if (!release || Number(release[1]) < MIN_PATCH) {
      v.fail('image', `an official mysql 8.0 image pinned to release 8.0.${MIN_PATCH} or later, such as mysql:8.0.39`, image);
    }
    const fullBackupSource = props.backup?.fullBackupSource ?? 'server';
    if (!FULL_BACKUP_SOURCES.includes(fullBackupSource)) v.fail('backup.fullBackupSource', `one of ${FULL_BACKUP_SOURCES.join(', ')}`, fullBackupSource);
    if (fullBackupSource === 'volume' && release && Number(release[1]) < MIN_PHYSICAL_PATCH) {
      v.fail('backup.fullBackupSource', `'server' with image ${image}: 'volume' (Percona XtraBackup 8.0.35) needs MySQL 8.0.${MIN_PHYSICAL_PATCH} or later`, fullBackupSource);
    }
    const xtrabackupImage = v.pinnedImage('xtrabackupImage', props.xtrabackupImage ?? DEFAULT_XTRABACKUP_IMAGE);
    const xtrabackupRelease = XTRABACKUP_80_TAG.exec(xtrabackupImage.slice(xtrabackupImage.lastIndexOf(':') + 1));
    if (!xtrabackupRelease || Number(xtrabackupRelease[1]) < MIN_XTRABACKUP_PATCH) {
      v.fail('xtrabackupImage', `a Percona XtraBackup 8.0 image pinned to 8.0.${MIN_XTRABACKUP_PATCH} or later, such as ${DEFAULT_XTRABACKUP_IMAGE}`, xtrabackupImage);
    }
    const database = databaseName(v, props.database);
    v.secretKeyRef('rootPasswordSecret', props.rootPasswordSecret);
    v.secretKeyRef('replicationPasswordSecret', props.replicationPasswordSecret);
    distinctSecret(v, 'replicationPasswordSecret', props.replicationPasswordSecret, props.rootPasswordSecret);
    const replicationUser = accountName(v, 'replicationUser', props.replicationUser ?? 'replicator');
    if (props.appUser !== undefined) {
      if (typeof props.appUser !== 'object' || props.appUser === null) v.fail('appUser', 'an account { name, passwordSecret }', props.appUser);
      accountName(v, 'appUser.name', props.appUser.name);
      if (props.appUser.name === replicationUser) v.fail('appUser.name', `an account other than replicationUser (${replicationUser})`, props.appUser.name);
      v.secretKeyRef('appUser.passwordSecret', props.appUser.passwordSecret);
      distinctSecret(v, 'appUser.passwordSecret', props.appUser.passwordSecret, props.rootPasswordSecret);
      if (sameKey(props.appUser.passwordSecret, props.replicationPasswordSecret)) {
        v.fail('appUser.passwordSecret', 'a different Secret key than replicationPasswordSecret', props.appUser.passwordSecret);
      }
    }
    const tuning = resolveTuning(v, 'config', props.config, resources.limits.memory);
    const replicationLagSeconds = v.integer('alerts.replicationLagSeconds', props.alerts?.replicationLagSeconds ?? DEFAULT_MYSQL_REPLICATION_LAG_SECONDS, 1, 86400);

    this.database = database;
    this.appUser = props.appUser;
    this.rootPasswordSecret = props.rootPasswordSecret;

    const configMapName = `${name}-config`;
    const scriptsConfigMapName = `${name}-scripts`;
    const configData: Record<string, string> = { [CONFIG_FILE]: renderServerCnf(tuning) };
    const scriptsData: Record<string, string> = {};
    for (const file of SCRIPT_FILES) scriptsData[file] = readAsset(`lib/data/mysql/${file}`);
    const checksum = createHash('sha256').update(JSON.stringify([configData, scriptsData])).digest('hex');

    const settings: MySqlServerSettings = {
      baseName: name,
      image,
      version: tag,
      resources,
      storage: props.storage,
      database,
      rootPasswordSecret: props.rootPasswordSecret,
      replicationUser,
      replicationPasswordSecret: props.replicationPasswordSecret,
      appUser: props.appUser,
      configMapName,
      scriptsConfigMapName,
      configChecksum: checksum,
      verticalScaling: props.verticalScaling,
    };
    this.primary = new MySqlPrimary(this, 'Primary', settings);
    this.writeEndpoint = this.primary.endpoint;
    this.readReplicas = new MySqlReplicas(this, 'Replicas', settings, { replicas, source: this.writeEndpoint });
    this.readEndpoint = this.readReplicas.endpoint;
    this.workloads = [this.primary, this.readReplicas];
    const repository = BackupRepository.of(this);
    if (repository) this.backup = addMySqlBackup({
      repository, settings, primary: this.primary, replicas: this.readReplicas, backup: props.backup, xtrabackupImage, configPath: id,
    });
    this.alertRules = this.primary.addAlertRules(mysqlRuleGroups({
      series: StoreSeries.of(this),
      primaryJob: this.primary.name,
      replicaJob: this.readReplicas.name,
      replicationLagSeconds,
    }), { name: `${name}-rules` });

    const labels = { ...this.primary.labels.labels };
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMapName, labels }, data: configData });
    new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: scriptsConfigMapName, labels }, data: scriptsData });
  }
}

function databaseName(v: Validator, value: string): string {
  if (typeof value !== 'string' || !DATABASE_NAME.test(value) || SYSTEM_SCHEMAS.includes(value.toLowerCase())) {
    v.fail('database', "a MySQL database name (letters, digits and '_', not starting with a digit, at most 64 characters, not a system schema)", value);
  }
  return value;
}

function accountName(v: Validator, field: string, value: string): string {
  if (typeof value !== 'string' || !ACCOUNT_NAME.test(value) || value.toLowerCase() === 'root') {
    v.fail(field, "a MySQL account name other than root (letters, digits and '_', not starting with a digit, at most 32 characters)", value);
  }
  return value;
}

function sameKey(a: SecretKeyRef, b: SecretKeyRef): boolean {
  return a.name === b.name && a.key === b.key;
}

/** An account must not share root's password. */
function distinctSecret(v: Validator, field: string, ref: SecretKeyRef, root: SecretKeyRef): void {
  if (sameKey(ref, root)) v.fail(field, "a different Secret key than rootPasswordSecret (an account must not share root's password)", ref);
}
