import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { BackupRepository, DatabaseBackupSettings, StoreBackup, walShippingRuleGroups } from '../../backup';
import { addPostgresBackup, ARCHIVE_COMMAND, walArchivingOf } from './postgres-backup';

import { readAsset } from '../../assets';
import { ResourceRequirements, validateResources } from '../../resources';
import { SecretKeyRef } from '../../secret-ref';
import { AlertRules } from '../../observability/alert-rules';
import { DEFAULT_POSTGRES_REPLICATION_LAG_BYTES, PostgresAlertOptions, postgresRuleGroups } from '../../observability/store-rules/postgres';
import { StoreSeries } from '../../observability/store-rules/store-selector';
import { parseQuantity } from '../../quantity';
import { VerticalScalingSettings } from '../../ops/vertical-scaling';
import { Validator } from '../../validation';
import { ServiceEndpoint, Workload } from '../../workload';
import { StorageOptions, validateStorage } from '../storage';
import { pgMemoryBytes, POSTGRES_PORT, PostgresTuning, renderHbaConf, renderIdentConf, renderPostgresqlConf, renderTuningConf, resolveTuning } from './postgres-config';
import { podAddresses, POSTGRES_UID, PostgresServer, replicationSlotNames } from './postgres-server';

/** A PostgreSQL 14 primary with optional streaming hot standbys; pure data, so it can live in typed configuration. */
export interface PostgresProps {
  /**
   * Name of the primary's objects and of its client Service; the standby's are `<name>-standby`
   * and `<name>-read`, the ConfigMaps `<name>-config` and `<name>-scripts`.
   * @default 'postgres'
   */
  readonly name?: string;
  /**
   * The official Debian-based PostgreSQL 14 image, pinned to a release.
   * @default 'postgres:14.15'
   */
  readonly image?: string;
  /** The application database, created on the primary if it is missing. */
  readonly database: string;
  /**
   * The superuser the application logs in as (the image's POSTGRES_USER convention).
   * @default 'app'
   */
  readonly user?: string;
  /** The Secret key holding `user`'s password. Reconciled on every start of the primary. */
  readonly passwordSecret: SecretKeyRef;
  /**
   * The role standbys replicate as (LOGIN REPLICATION, nothing else).
   * @default 'replicator'
   */
  readonly replicationUser?: string;
  /**
   * The Secret key holding the replication role's password.
   * @default - required when `standby` is true; without it the replication role cannot log in
   */
  readonly replicationPasswordSecret?: SecretKeyRef;
  /** The volume of each pod (the primary's and each standby's). */
  readonly storage: StorageOptions;
  /**
   * CPU and memory of each PostgreSQL container (and of its init container).
   * @default - requests 500m / 1Gi, limits 2 / 2Gi
   */
  readonly resources?: ResourceRequirements;
  /**
   * Run streaming hot standbys of the primary, reached through their own read Service, so that a
   * switchover has a target and reads can be moved off the primary.
   * @default false
   */
  readonly standby?: boolean;
  /**
   * Standby pods, each with its own replication slot (1 to 3).
   * @default 1
   */
  readonly standbyReplicas?: number;
  /**
   * CPU and memory of each standby.
   * @default - the primary's `resources`
   */
  readonly standbyResources?: ResourceRequirements;
  /** Thresholds of the store's alerts (PrometheusRule `<name>-rules`). @default - see PostgresAlertOptions */
  readonly alerts?: PostgresAlertOptions;
  /**
   * Server tuning, rendered into `tuning.conf`.
   * @default - sized from the memory limit and the volume (see PostgresTuning)
   */
  readonly config?: PostgresTuning;
  /**
   * Backup schedules and where the base backup reads the data, where the environment backs up (its
   * `backup` settings).
   * @default - base backup daily at 01:00 with pg_basebackup, see DatabaseBackupSettings
   */
  readonly backup?: DatabaseBackupSettings;
  /**
   * Bounds of the VerticalPodAutoscaler's recommendation for each server (R9; recommendation only).
   * @default - the container's requests to twice its limits
   */
  readonly verticalScaling?: VerticalScalingSettings;
}

const DEFAULT_IMAGE = 'postgres:14.15';
const DEFAULT_RESOURCES: ResourceRequirements = {
  requests: { cpu: '500m', memory: '1Gi' },
  limits: { cpu: '2', memory: '2Gi' },
};
// The Debian variants run as uid 999; alpine's postgres user is uid 70 and would not own its data.
const POSTGRES_14_TAG = /^14\.\d+(-(bookworm|bullseye))?$/;
const PG_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const IDENTIFIER_RULE = "a PostgreSQL name (lower-case letters, digits and '_', not starting with a digit, at most 63 characters)";

/**
 * PostgreSQL 14 (R11): a primary StatefulSet behind the client Service `<name>`, and optionally
 * streaming hot standbys behind `<name>-read`. Volumes survive deletes, scale-downs and Argo CD
 * prunes (R14). Passwords come from Secrets and are never written into manifests or standby disks.
 *
 * Pod security is "restricted" with one deliberate exception to the platform's uid 10001: the
 * pods run as uid/gid 999, the official image's `postgres` user, because PostgreSQL only runs as
 * the owner of its data directory and the image's files belong to that user.
 */
export class Postgres extends Construct {
  /** The primary, read-write. */
  public readonly endpoint: ServiceEndpoint;
  /** The standbys, read-only, when `standby` is on. */
  public readonly readEndpoint?: ServiceEndpoint;
  /** StatefulSet `<name>`: the single read-write server. */
  public readonly primary: PostgresServer;
  /** StatefulSet `<name>-standby` (`standbyReplicas` pods); undefined unless `standby` is true. */
  public readonly standby?: PostgresServer;
  /** Every workload, the primary first. */
  public readonly workloads: readonly Workload[];
  /** The store's alerts. */
  public readonly alertRules: AlertRules;
  /** The store's backups: undefined where the environment has no backup settings. */
  public readonly backup?: StoreBackup;
  /** The application database. */
  public readonly database: string;
  /** The role the application logs in as. */
  public readonly user: string;
  /** Where `user`'s password is. */
  public readonly passwordSecret: SecretKeyRef;

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    // `<name>-standby` must stay within a StatefulSet name whose pods' revision label fits in 63.
    const name = v.dnsLabel('name', props.name ?? 'postgres', 44);
    const image = v.pinnedImage('image', props.image ?? DEFAULT_IMAGE);
    const tag = image.slice(image.lastIndexOf(':') + 1);
    if (!POSTGRES_14_TAG.test(tag)) {
      v.fail('image', 'an official Debian-based postgres 14 image pinned to a release, such as postgres:14.15 (not alpine: its uid is 70, not 999)', image);
    }
    const database = identifier(v, 'database', props.database);
    const user = identifier(v, 'user', props.user ?? 'app');
    const replicationUser = identifier(v, 'replicationUser', props.replicationUser ?? 'replicator');
    if (replicationUser === user) v.fail('replicationUser', `a role other than user (${user})`, replicationUser);
    v.secretKeyRef('passwordSecret', props.passwordSecret);
    validateStorage(v, 'storage', props.storage);
    const resources = props.resources ?? DEFAULT_RESOURCES;
    validateResources(v, 'resources', resources);
    const standbyResources = props.standbyResources ?? resources;
    if (props.standbyResources) validateResources(v, 'standbyResources', props.standbyResources);
    const standby = props.standby ?? false;
    if (typeof standby !== 'boolean') v.fail('standby', 'true or false', standby);
    const standbyReplicas = v.integer('standbyReplicas', props.standbyReplicas ?? 1, 1, 3);
    if (props.replicationPasswordSecret !== undefined) v.secretKeyRef('replicationPasswordSecret', props.replicationPasswordSecret);
    if (standby && !props.replicationPasswordSecret) {
      v.fail('replicationPasswordSecret', 'a reference to an existing Secret ({ name, key }) when standby is true', props.replicationPasswordSecret);
    }
    if (props.replicationPasswordSecret && props.replicationPasswordSecret.name === props.passwordSecret.name
      && props.replicationPasswordSecret.key === props.passwordSecret.key) {
      v.fail('replicationPasswordSecret', 'a different Secret key than passwordSecret (the replication role must not share the superuser\'s password)', props.replicationPasswordSecret);
    }
    const replicationLagBytes = v.integer('alerts.replicationLagBytes', props.alerts?.replicationLagBytes ?? DEFAULT_POSTGRES_REPLICATION_LAG_BYTES, 1);
    const tuning = resolveTuning(v, 'config', props.config, resources.limits.memory, props.storage.size, standby);
    if (standby && pgMemoryBytes(tuning.sharedBuffers) > parseQuantity(standbyResources.limits.memory) / 2) {
      v.fail('standbyResources.limits.memory', `at least twice config.sharedBuffers (${tuning.sharedBuffers}): standbys run the same tuning`, standbyResources.limits.memory);
    }

    this.database = database;
    this.user = user;
    this.passwordSecret = props.passwordSecret;

    const configMapName = `${name}-config`;
    const scriptsConfigMapName = `${name}-scripts`;
    // Continuous archiving where the environment backs up: every server's archive_command and shipper.
    const repository = BackupRepository.of(this);
    const walArchiving = repository ? walArchivingOf(repository, name) : undefined;
    const configData: Record<string, string> = {
      'postgresql.conf': renderPostgresqlConf({ archiveCommand: walArchiving ? ARCHIVE_COMMAND : undefined }),
      'tuning.conf': renderTuningConf(tuning),
      'pg_hba.conf': renderHbaConf(replicationUser, user),
      'pg_ident.conf': renderIdentConf(user),
    };
    const scriptsData: Record<string, string> = {
      'primary-init.sh': readAsset('lib/data/postgres/primary-init.sh'),
      'standby-init.sh': readAsset('lib/data/postgres/standby-init.sh'),
      'probe.sh': readAsset('lib/data/postgres/probe.sh'),
    };
    const checksum = createHash('sha256').update(JSON.stringify([configData, scriptsData])).digest('hex');

    const standbyName = `${name}-standby`;
    const common = {
      image,
      version: tag,
      storage: props.storage,
      database,
      user,
      passwordSecret: props.passwordSecret,
      replicationUser,
      replicationPasswordSecret: props.replicationPasswordSecret,
      configMapName,
      scriptsConfigMapName,
      configChecksum: checksum,
      verticalScaling: props.verticalScaling,
      walArchiving,
    };
    this.primary = new PostgresServer(this, 'Primary', {
      ...common,
      name,
      serviceName: name,
      replicas: 1,
      resources,
      role: {
        kind: 'primary',
        replicationSlots: standby ? replicationSlotNames(standbyName, standbyReplicas) : [],
        replicationSlotPrefix: `${standbyName}-`.replace(/-/g, '_'),
        replicationPeers: standby ? podAddresses(standbyName, `${standbyName}-headless`, standbyReplicas, POSTGRES_PORT) : [],
      },
    });
    this.endpoint = this.primary.endpoint;

    if (standby) {
      this.standby = new PostgresServer(this, 'Standby', {
        ...common,
        name: standbyName,
        serviceName: `${name}-read`,
        replicas: standbyReplicas,
        resources: standbyResources,
        role: { kind: 'standby', primary: this.primary.endpoint },
        avoid: this.primary.labels.selectorLabels,
      });
      this.standby.connectTo(this.primary.endpoint);
      // The primary's init asks each standby for its timeline (split-brain fence).
      this.primary.connectTo(this.standby.endpoint);
      this.readEndpoint = this.standby.endpoint;
    }
    this.workloads = this.standby ? [this.primary, this.standby] : [this.primary];
    this.alertRules = this.primary.addAlertRules(postgresRuleGroups({
      series: StoreSeries.of(this),
      primaryJob: this.primary.name,
      standby: this.standby ? { job: this.standby.name, replicas: standbyReplicas } : undefined,
      replicationLagBytes,
    }), { name: `${name}-rules` });
    if (repository) {
      this.backup = addPostgresBackup({
        repository, store: name, image, version: tag, runAsUser: POSTGRES_UID, primary: this.primary,
        source: this.standby ? { host: `${this.standby.name}-0.${this.standby.name}-headless`, server: this.standby } : { host: this.primary.endpoint.host, server: this.primary },
        database, user, passwordSecret: props.passwordSecret, replicationUser, replicationPasswordSecret: props.replicationPasswordSecret,
        storageSize: props.storage.size, resources, backup: props.backup, configPath: id,
      });
      this.primary.addAlertRules(walShippingRuleGroups(Chart.of(this).namespace ?? 'default'), { name: `${name}-wal-rules` });
    }

    const labels = { ...this.primary.labels.labels };
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMapName, labels }, data: configData });
    new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: scriptsConfigMapName, labels }, data: scriptsData });
  }
}

function identifier(v: Validator, field: string, value: string): string {
  if (typeof value !== 'string' || !PG_IDENTIFIER.test(value)) v.fail(field, IDENTIFIER_RULE, value);
  return value;
}
