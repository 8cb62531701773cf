import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { readShellAssets } from '../assets';
import { secureContainer, SecureContainerProps } from '../container';
import { ResourceRequirements } from '../resources';
import { Validator } from '../validation';
import { ServiceEndpoint, Workload } from '../workload';
import { BACKUP_JOB_KINDS, BackupJobKind, backupCronJobName } from './backup-jobs';
import { BackupRepository } from './backup-repository';
import { BackupScheduleSettings } from './backup-settings';
import { CronScheduleError, describeStart, firstCommonStart, longestGapMinutes, parseCron, startMinutes } from './cron-schedule';
import { RestoreChart } from './restore-chart';
import {
  BACKUP_SCRATCH_DIR, BACKUP_SCRIPTS_DIR, installResticContainer, resticEnv, resticVolumeMounts, resticVolumes,
} from './restic-tools';

/**
 * A store's data volume a backup job reads directly: the job mounts the claim read-only and runs on
 * the node of the pod that has it (a ReadWriteOnce volume is attached to one node at a time, and may
 * be mounted by several pods there).
 */
export interface DataVolumeSource {
  /** The PersistentVolumeClaim, e.g. `data-logistics-mysql-replicas-0`. */
  readonly claimName: string;
  /** The pod that uses the claim (its `statefulset.kubernetes.io/pod-name`): the job runs on its node. */
  readonly podName: string;
  /** Where the job mounts the volume (read-only), e.g. the server's data directory's mount. */
  readonly mountPath: string;
}

/** A container that runs before a job's main container, in another image, with the same environment, mounts and resources. */
export interface JobInitStep {
  /** The init container's name. */
  readonly name: string;
  /** Its image (pinned, official upstream). */
  readonly image: string;
  /** The script (a file of the store's scripts or lib/backup's) and its arguments. */
  readonly command: readonly string[];
}

/** One scheduled job of a store's backup: what runs, and when unless configured otherwise. */
export interface StoreBackupJob {
  /**
   * What the job does: one job per kind, and full, prune, verify and restore-test are required. The
   * kind sets the default schedule, the run deadline and the lock wait ({@link BACKUP_JOB_KINDS}).
   */
  readonly kind: BackupJobKind;
  /** The script (a file of `scripts`) and its arguments. */
  readonly command: readonly string[];
  /**
   * Five-field cron schedule, in the environment's backup time zone.
   * @default - the kind's default (BACKUP_JOB_KINDS)
   */
  readonly schedule?: string;
  /**
   * Size of the job's scratch volume at SCRATCH_DIR: a generic ephemeral volume for restore tests
   * and verifies that unpack a whole backup.
   * @default - a 2Gi emptyDir
   */
  readonly scratchSize?: string;
  /** Extra environment of this job only. @default - none */
  readonly env?: readonly k8s.EnvVar[];
  /**
   * The image of this job's container, where the store's image lacks its tool (e.g. Percona
   * XtraBackup for MySQL); it must have bash.
   * @default - the store's image
   */
  readonly image?: string;
  /** A data volume the job reads directly, on its pod's node. @default - none */
  readonly dataVolume?: DataVolumeSource;
  /** Containers that run before the job's own (after restic's install), e.g. a tool in another image. @default - none */
  readonly initSteps?: readonly JobInitStep[];
}

/** A restore a person starts: written into the environment's `restore/` folder, never applied by `kubectl apply -f <env>/`. */
export interface StoreRestoreJob {
  /** The Job's name. */
  readonly name: string;
  /** The script and its arguments; `$(VAR)` expands to the Job's environment (a target a person sets). */
  readonly command: readonly string[];
  /** What it does and what must happen before and after (an annotation on the Job; the runbook says more). */
  readonly description: string;
  /**
   * Extra environment of the restore container (the restore's parameters); a variable of the same
   * name as one of the store's backup environment replaces it.
   * @default - none
   */
  readonly env?: readonly k8s.EnvVar[];
  /** Volumes the restore writes to (a store's data volume). @default - none */
  readonly volumes?: readonly k8s.Volume[];
  /**
   * Where the restore container mounts `volumes`, beside the backup scripts and the scratch volume.
   * @default - none
   */
  readonly volumeMounts?: readonly k8s.VolumeMount[];
  /** Size of the scratch volume. @default - a 2Gi emptyDir */
  readonly scratchSize?: string;
  /** CPU and memory of the restore container (a restore that runs the engine needs the store's). @default - the backups' */
  readonly resources?: ResourceRequirements;
  /** Containers that run before the restore's own (after restic's install), e.g. a tool in another image. @default - none */
  readonly initSteps?: readonly JobInitStep[];
  /**
   * The file under `restore/` (without `.k8s.yaml`) the Job is written to: one file is one
   * `kubectl create -f`, so restores a person chooses between go to files of their own.
   * @default - the store's name
   */
  readonly file?: string;
}

/** Props of {@link StoreBackup}: the store's image, scripts and jobs; the bucket is the environment's. */
export interface StoreBackupProps {
  /** Name of the backup's objects: ServiceAccount, NetworkPolicy, scripts ConfigMap, CronJobs `<name>-<kind>`. */
  readonly name: string;
  /** The store's name: its restic repository is `<prefix>/<store>` (and `<prefix>/<store>-archive`). */
  readonly store: string;
  /**
   * The environment's backup destination ({@link BackupRepository.of}): bucket, credentials, time
   * zone, retention, restic image and the containers' default resources.
   */
  readonly repository: BackupRepository;
  /** The store's own official image (its dump and restore tools, bash); restic is copied in. */
  readonly image: string;
  /** Version label: the image tag. */
  readonly version: string;
  /** The image's user (999 for mysql, postgres, redis). */
  readonly runAsUser: number;
  /** Script file name -> contents: the store's `backup/` folder; lib/backup's (restic.sh, prune.sh) are added. */
  readonly scripts: Readonly<Record<string, string>>;
  /** How the scripts reach the store (hosts, ports, Secret references). */
  readonly env: readonly k8s.EnvVar[];
  /**
   * The store archives binary logs or WAL: the scripts get ARCHIVE_REPOSITORY, a repository of its
   * own so that prune and check of the full backups never block the archiver.
   * @default false
   */
  readonly archive?: boolean;
  /**
   * The scheduled jobs, a CronJob `<name>-<kind>` each. Refused: a missing full, prune, verify or
   * restore-test job, two of one kind, a schedule that misses its kind's cadence, two that start in
   * the same minute, a command whose script is not in `scripts` or lib/backup.
   */
  readonly jobs: readonly StoreBackupJob[];
  /** The restore Jobs a person starts, written to `restore/<store>.k8s.yaml`; may be empty. */
  readonly restores: readonly StoreRestoreJob[];
  /** The store endpoints the jobs connect to (NetworkPolicy egress here, ingress there). */
  readonly connections: readonly ServiceEndpoint[];
  /**
   * Containers that run before the backup container, after restic's install (copying a tool's
   * static binary from its own image into `backup-bin`, for stores whose image has no shell).
   * @default - none
   */
  readonly initContainers?: readonly k8s.Container[];
  /**
   * Where the store's backup options are in the configuration, for errors: `mysql.backup`.
   * @default '<name>'
   */
  readonly configPath?: string;
  /**
   * Schedules from the store's configuration, over the jobs' own.
   * @default - the jobs' schedules
   */
  readonly schedules?: BackupScheduleSettings;
}

/** The configuration key of each kind's schedule. */
const SCHEDULE_KEYS: Readonly<Record<BackupJobKind, keyof BackupScheduleSettings>> = {
  [BackupJobKind.FULL]: 'full',
  [BackupJobKind.INCREMENTAL]: 'incremental',
  [BackupJobKind.PRUNE]: 'prune',
  [BackupJobKind.VERIFY]: 'verify',
  [BackupJobKind.RESTORE_TEST]: 'restoreTest',
};

/** Kinds every store must schedule: a full backup, its prune, verify and restore test. */
const REQUIRED_KINDS = [BackupJobKind.FULL, BackupJobKind.PRUNE, BackupJobKind.VERIFY, BackupJobKind.RESTORE_TEST];
const TMP_SIZE = '2Gi';

/**
 * A store's backups (R26-R30) as Kubernetes objects: a CronJob per job kind running the store's
 * scripts in the store's own image with restic beside them, safe by construction (no overlapping
 * runs, a start deadline, retries, a run deadline, kept history, the environment's time zone,
 * schedules that meet their cadence and never start together), a NetworkPolicy that lets the jobs
 * reach exactly the store and the bucket, and the restore Jobs in the environment's `restore/`
 * folder. Made by the store through {@link StatefulWorkload.addBackup}.
 */
export class StoreBackup extends Workload {
  /** restic URL of the store's repository, `s3:<endpoint>/<bucket>/<prefix>/<store>`: the jobs' RESTIC_REPOSITORY. */
  public readonly repositoryUrl: string;
  /**
   * restic URL of the store's archive repository (`<store>-archive`): the jobs' ARCHIVE_REPOSITORY.
   * Undefined unless `archive` is set.
   */
  public readonly archiveRepositoryUrl?: string;
  /** The CronJob of each job kind the store runs, named `<name>-<kind>`. */
  public readonly cronJobs: Partial<Record<BackupJobKind, k8s.KubeCronJob>> = {};
  /** The restore Jobs, one per `restores` entry, in {@link StoreBackup.restoreChart} or the chart of their `file` (not applied with the environment). */
  public readonly restoreJobs: k8s.KubeJob[] = [];
  /** ConfigMap `<name>-scripts`: lib/backup's scripts and the store's, mounted at {@link BACKUP_SCRIPTS_DIR}. */
  public readonly scriptsConfigMap: k8s.KubeConfigMap;
  /** The chart written to `restore/<store>.k8s.yaml`. */
  public readonly restoreChart: RestoreChart;
  private readonly props: StoreBackupProps;
  /** Every script of the ConfigMap: the shared ones and the store's. */
  private readonly scripts: Readonly<Record<string, string>>;
  private readonly configValidator: Validator;

  constructor(scope: Construct, id: string, props: StoreBackupProps) {
    super(scope, id, { name: props.name, component: 'backup', version: props.version, runAsUser: props.runAsUser });
    this.props = props;
    this.scripts = { ...readShellAssets('lib/backup'), ...props.scripts };
    const v = Validator.of(this, props.configPath ?? this.name);
    this.configValidator = v;
    const repository = props.repository;
    this.repositoryUrl = repository.repositoryOf(props.store);
    this.archiveRepositoryUrl = props.archive ? repository.repositoryOf(`${props.store}-archive`) : undefined;

    const configured = props.schedules ?? {};
    for (const key of Object.keys(configured)) {
      const kind = (Object.keys(SCHEDULE_KEYS) as BackupJobKind[]).find((k) => SCHEDULE_KEYS[k] === key);
      if (!kind || !props.jobs.some((j) => j.kind === kind)) {
        v.fail(`schedules.${key}`, `one of the schedules this store runs (${props.jobs.map((j) => SCHEDULE_KEYS[j.kind]).join(', ')})`, configured[key as keyof BackupScheduleSettings]);
      }
    }
    const jobs = props.jobs.map((j) => ({ ...j, schedule: configured[SCHEDULE_KEYS[j.kind]] ?? j.schedule ?? BACKUP_JOB_KINDS[j.kind].defaultSchedule }));
    const kinds = jobs.map((j) => j.kind);
    for (const kind of REQUIRED_KINDS) {
      if (!kinds.includes(kind)) v.fail('jobs', `a ${kind} job (every store backs up, prunes, verifies and restore-tests)`, kinds);
    }
    if (new Set(kinds).size !== kinds.length) v.fail('jobs', 'one job per kind', kinds);
    validateSchedules(v, jobs);

    for (const endpoint of props.connections) this.connectTo(endpoint);
    for (const peer of repository.endpointPeers) this.allowEgressTo(peer, repository.endpointPort);

    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: `${this.name}-scripts`, labels: { ...this.labels.labels } },
      data: this.scripts,
    });

    for (const job of jobs) this.cronJobs[job.kind] = this.addCronJob(job);

    this.restoreChart = new RestoreChart(this, props.store, Chart.of(this).namespace);
    const charts = new Map<string, RestoreChart>([[props.store, this.restoreChart]]);
    for (const restore of props.restores) {
      const file = restore.file ?? props.store;
      if (!charts.has(file)) charts.set(file, new RestoreChart(this, file, Chart.of(this).namespace));
      this.restoreJobs.push(this.addRestoreJob(restore, charts.get(file)!));
    }
  }

  private addCronJob(job: StoreBackupJob): k8s.KubeCronJob {
    const spec = BACKUP_JOB_KINDS[job.kind];
    const name = backupCronJobName(this.name, job.kind);
    const podSpec = this.jobPodSpec({
      command: job.command,
      env: [...(job.env ?? []), { name: 'LOCK_WAIT_SECONDS', value: String(spec.lockWaitSeconds) }],
      scratchSize: job.scratchSize,
      image: job.image,
      initSteps: job.initSteps,
      volumes: job.dataVolume ? [{ name: 'source-data', persistentVolumeClaim: { claimName: job.dataVolume.claimName, readOnly: true } }] : undefined,
      volumeMounts: job.dataVolume ? [{ name: 'source-data', mountPath: job.dataVolume.mountPath, readOnly: true }] : undefined,
      onNodeOf: job.dataVolume?.podName,
    });
    return new k8s.KubeCronJob(this, `CronJob-${job.kind}`, {
      metadata: { name, labels: { ...this.labels.labels } },
      spec: {
        schedule: job.schedule ?? spec.defaultSchedule,
        timeZone: this.props.repository.timeZone,
        concurrencyPolicy: 'Forbid',
        // A start missed by more than this (controller down, cluster upgrade) is skipped, and the
        // overdue alert tells; an hourly archive never starts late into the next hour's slot.
        startingDeadlineSeconds: Math.min(3600, spec.cadenceMinutes * 30),
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: { ...this.labels.labels } },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: spec.activeDeadlineSeconds,
            template: {
              metadata: this.podMetadata(),
              // A fixed hostname: restic then sees a killed run's lock as its own host's dead
              // process and `restic unlock` at the next start removes it at once.
              spec: { ...podSpec, hostname: name },
            },
          },
        },
      },
    });
  }

  private addRestoreJob(restore: StoreRestoreJob, chart: RestoreChart): k8s.KubeJob {
    const podSpec = this.jobPodSpec({
      command: restore.command,
      env: [...(restore.env ?? []), { name: 'LOCK_WAIT_SECONDS', value: '1800' }],
      scratchSize: restore.scratchSize,
      resources: restore.resources,
      volumes: restore.volumes,
      volumeMounts: restore.volumeMounts,
      initSteps: restore.initSteps,
    });
    return new k8s.KubeJob(chart, restore.name, {
      metadata: {
        name: restore.name,
        labels: { ...this.labels.labels },
        annotations: { 'ai-platform/restore': restore.description },
      },
      spec: {
        // A restore that failed midway is re-run by a person who has read why, not retried.
        backoffLimit: 0,
        activeDeadlineSeconds: 12 * 3600,
        ttlSecondsAfterFinished: 7 * 24 * 3600,
        template: { metadata: this.podMetadata(), spec: { ...podSpec, hostname: restore.name } },
      },
    });
  }

  private jobPodSpec(options: {
    command: readonly string[];
    env: readonly k8s.EnvVar[];
    scratchSize?: string;
    volumes?: readonly k8s.Volume[];
    volumeMounts?: readonly k8s.VolumeMount[];
    resources?: ResourceRequirements;
    image?: string;
    initSteps?: readonly JobInitStep[];
    /** Run on the node of this pod (`statefulset.kubernetes.io/pod-name`). */
    onNodeOf?: string;
  }): k8s.PodSpec {
    const repository = this.props.repository;
    const scriptCommand = (command: readonly string[]): string[] => {
      const [script, ...args] = command;
      if (!(script in this.scripts)) this.configValidator.fail('jobs.command', `a script of the backup folders (${Object.keys(this.scripts).join(', ')})`, script);
      return ['bash', `${BACKUP_SCRIPTS_DIR}/${script}`, ...args];
    };
    const containerProps: SecureContainerProps = {
      name: 'backup',
      image: options.image ?? this.props.image,
      resources: options.resources ?? repository.resources,
      command: scriptCommand(options.command),
      // A job's own variables override the store's (a restore writes to the primary, backups read a replica).
      env: overriding([
        ...resticEnv(repository.settings, this.props.store),
        { name: 'RESTIC_REPOSITORY', value: this.repositoryUrl },
        ...(this.archiveRepositoryUrl ? [{ name: 'ARCHIVE_REPOSITORY', value: this.archiveRepositoryUrl }] : []),
        { name: 'KEEP_FULL_DAYS', value: String(repository.keepFullDays) },
        { name: 'KEEP_INCREMENTAL_DAYS', value: String(repository.keepIncrementalDays) },
        { name: 'SCRATCH_DIR', value: BACKUP_SCRATCH_DIR },
        // Temporary files (decoded binary logs, fetched WAL) go to the scratch volume, sized per job.
        { name: 'TMPDIR', value: BACKUP_SCRATCH_DIR },
        { name: 'HOME', value: '/tmp' },
        ...this.props.env,
        ...options.env,
      ]),
      volumeMounts: [
        { name: 'scripts', mountPath: BACKUP_SCRIPTS_DIR, readOnly: true },
        ...resticVolumeMounts(),
        { name: 'scratch', mountPath: BACKUP_SCRATCH_DIR },
        { name: 'tmp', mountPath: '/tmp' },
        ...(options.volumeMounts ?? []),
      ],
    };
    const container = secureContainer(containerProps);
    const scratch: k8s.Volume = options.scratchSize
      ? {
        name: 'scratch',
        ephemeral: {
          volumeClaimTemplate: {
            metadata: { labels: { ...this.labels.selectorLabels } },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString(this.configValidator.storage('scratchSize', options.scratchSize)) } } },
          },
        },
      }
      : { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(TMP_SIZE) } };
    const steps = (options.initSteps ?? []).map((step) => secureContainer({
      ...containerProps,
      name: step.name,
      image: step.image,
      command: scriptCommand(step.command),
    }));
    const spec = this.podSpec({
      initContainers: [installResticContainer(repository.resticImage), ...(this.props.initContainers ?? []), ...steps],
      containers: [container],
      volumes: [
        { name: 'scripts', configMap: { name: `${this.name}-scripts`, defaultMode: 0o555 } },
        ...resticVolumes(),
        scratch,
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(TMP_SIZE) } },
        ...(options.volumes ?? []),
      ],
      spread: false,
      restartPolicy: 'Never',
    });
    if (!options.onNodeOf) return spec;
    return {
      ...spec,
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{
            labelSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': options.onNodeOf } },
            topologyKey: 'kubernetes.io/hostname',
          }],
        },
      },
    };
  }
}

/**
 * Each schedule parses, runs as often as its kind must (a daily full backup cannot be weekly), and
 * no two jobs of the store start in the same minute.
 */
function validateSchedules(v: Validator, jobs: readonly StoreBackupJob[]): void {
  const starts: { kind: BackupJobKind; schedule: string; minutes: number[] }[] = [];
  for (const job of jobs) {
    const spec = BACKUP_JOB_KINDS[job.kind];
    const schedule = job.schedule ?? spec.defaultSchedule;
    const field = `schedules.${SCHEDULE_KEYS[job.kind]}`;
    let minutes: number[];
    try {
      minutes = startMinutes(parseCron(schedule));
    } catch (e) {
      if (!(e instanceof CronScheduleError)) throw e;
      v.fail(field, `a five-field cron schedule (${e.message})`, schedule);
    }
    const gap = longestGapMinutes(minutes);
    if (gap > spec.cadenceMinutes) {
      v.fail(field, `a schedule that runs ${spec.cadence} (its longest gap is ${Number.isFinite(gap) ? `${Math.round(gap / 60)}h` : 'forever'})`, schedule);
    }
    for (const other of starts) {
      const common = firstCommonStart(other.minutes, minutes);
      if (common !== undefined) {
        v.fail(field, `a schedule that never starts with ${other.kind} (${other.schedule}); both start at ${describeStart(common)}`, schedule);
      }
    }
    starts.push({ kind: job.kind, schedule, minutes });
  }
}

/** Environment variables with later entries of a name replacing earlier ones, in first-seen order. */
function overriding(env: readonly k8s.EnvVar[]): k8s.EnvVar[] {
  const byName = new Map<string, k8s.EnvVar>();
  for (const e of env) byName.set(e.name, e);
  return [...byName.values()];
}
