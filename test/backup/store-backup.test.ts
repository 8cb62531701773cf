/**
 * The backup constructs (lib/backup): a store's CronJobs are safe by construction, reach exactly the
 * store and the bucket, read secrets only from Secrets, and their restore Jobs land in `restore/`,
 * which `kubectl apply -f <env>/` does not read; bad backup configuration fails at synth naming the
 * field and the value.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import {
  BACKUP_CONTEXT_KEY, BACKUP_JOB_KINDS, BackupJobKind, BackupRepository, BackupScheduleSettings, BackupSettings, StoreBackup, StoreBackupJob, StoreRestoreJob,
} from '../../lib/backup';
import { StatefulWorkload } from '../../lib/data/stateful-workload';
import { synthesizeApp } from '../../lib/synth-app';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY } from '../../lib/validation';
import { ServiceEndpoint } from '../../lib/workload';
import { BACKUP_SETTINGS } from './backup-fixtures';

type K8sObject = Record<string, any>;

const JOBS: StoreBackupJob[] = [
  { kind: BackupJobKind.FULL, command: ['store-full.sh'] },
  { kind: BackupJobKind.INCREMENTAL, command: ['store-hourly.sh'] },
  { kind: BackupJobKind.PRUNE, command: ['prune.sh'] },
  { kind: BackupJobKind.VERIFY, command: ['store-verify.sh'], scratchSize: '20Gi' },
  { kind: BackupJobKind.RESTORE_TEST, command: ['store-restore-test.sh'], scratchSize: '20Gi' },
];

interface StoreOptions {
  readonly jobs?: StoreBackupJob[];
  readonly restores?: StoreRestoreJob[];
  readonly schedules?: BackupScheduleSettings;
}

/** A store with a client Service on 5000 that backs itself up. */
class Store extends StatefulWorkload {
  public readonly backup?: StoreBackup;
  public readonly endpoint: ServiceEndpoint;

  constructor(scope: Construct, id: string, options: StoreOptions = {}) {
    super(scope, id, { component: 'database', version: '2.1.0', runAsUser: 999 });
    this.addClientService(this.name, [{ name: 'db', port: 5000 }]);
    this.endpoint = { host: this.name, port: 5000, targetPort: 5000, workload: this };
    const repository = BackupRepository.of(this);
    if (!repository) return;
    this.backup = this.addBackup({
      name: `${this.name}-backup`,
      store: this.name,
      repository,
      image: 'registry.example.com/store:2.1.0',
      version: '2.1.0',
      runAsUser: 999,
      scripts: Object.fromEntries(['store-full.sh', 'store-hourly.sh', 'store-verify.sh', 'store-restore-test.sh', 'store-restore.sh'].map((f) => [f, `#!/usr/bin/env bash\necho ${f}\n`])),
      archive: true,
      env: [{ name: 'STORE_HOST', value: this.name }],
      jobs: options.jobs ?? JOBS,
      restores: options.restores ?? [{ name: `${this.name}-restore`, command: ['store-restore.sh', '--target-time', '$(RESTORE_TARGET_TIME)'], description: 'Restores the store.', env: [{ name: 'RESTORE_TARGET_TIME', value: 'latest' }] }],
      connections: [this.endpoint],
      schedules: options.schedules,
    });
  }
}

function app(settings: BackupSettings | null, outdir?: string): { app: App; chart: Chart } {
  const a = outdir ? new App({ outdir }) : Testing.app();
  a.node.setContext(SOLUTION_CONTEXT_KEY, 'sol');
  a.node.setContext(ENVIRONMENT_CONTEXT_KEY, 'env');
  if (settings) a.node.setContext(BACKUP_CONTEXT_KEY, settings);
  return { app: a, chart: new Chart(a, 'data', { namespace: 'ns' }) };
}

function synth(options: StoreOptions = {}, settings: BackupSettings = BACKUP_SETTINGS): K8sObject[] {
  const { chart } = app(settings);
  new Store(chart, 'store', options);
  return Testing.synth(chart);
}

const cronJob = (objects: K8sObject[], kind: BackupJobKind) => objects.find((o) => o.kind === 'CronJob' && o.metadata.name === `store-backup-${kind}`)!;

describe('a store backup', () => {
  const objects = synth();

  test.each(Object.values(BackupJobKind))('the %s CronJob never overlaps itself, starts late only within its deadline, retries, ends, keeps its history', (kind) => {
    const c = cronJob(objects, kind);
    const spec = BACKUP_JOB_KINDS[kind];
    expect(c.spec).toMatchObject({
      schedule: spec.defaultSchedule,
      timeZone: 'Asia/Shanghai',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(c.spec.startingDeadlineSeconds).toBeGreaterThan(0);
    expect(c.spec.startingDeadlineSeconds).toBeLessThanOrEqual(spec.cadenceMinutes * 60);
    expect(c.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: spec.activeDeadlineSeconds });
    expect(spec.activeDeadlineSeconds).toBeLessThanOrEqual(spec.cadenceMinutes * 60);
  });

  test('each job runs the store image as the store user, restricted, with resources, restic copied from the pinned official image', () => {
    for (const kind of Object.values(BackupJobKind)) {
      const pod = cronJob(objects, kind).spec.jobTemplate.spec.template.spec;
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.hostname).toBe(`store-backup-${kind}`);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.initContainers.map((c: K8sObject) => c.image)).toEqual(['restic/restic:0.17.3']);
      for (const c of [...pod.initContainers, ...pod.containers]) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.resources.limits).toBeDefined();
        expect(c.resources.requests).toBeDefined();
      }
      expect(pod.containers[0].image).toBe('registry.example.com/store:2.1.0');
    }
  });

  test('the scripts get the repositories, retention and credentials, credentials only as Secret references', () => {
    const container = cronJob(objects, BackupJobKind.FULL).spec.jobTemplate.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: K8sObject) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      RESTIC: '/backup/bin/restic',
      RESTIC_REPOSITORY: 's3:https://s3.example.com/test-backups/sol/env/store',
      ARCHIVE_REPOSITORY: 's3:https://s3.example.com/test-backups/sol/env/store-archive',
      KEEP_FULL_DAYS: '30',
      KEEP_INCREMENTAL_DAYS: '7',
      BACKUP_HOST: 'store',
      SCRATCH_DIR: '/backup/scratch',
      STORE_HOST: 'store',
      RESTIC_PASSWORD: { secretKeyRef: { name: 'backup-secret', key: 'restic-password' } },
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 'backup-secret', key: 'access-key-id' } },
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: 'backup-secret', key: 'secret-access-key' } },
    });
    expect(container.command).toEqual(['bash', '/backup/scripts/store-full.sh']);
  });

  test('the scripts ConfigMap holds the shared restic library and prune beside the store scripts', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'store-backup-scripts')!;
    expect(Object.keys(cm.data)).toEqual(expect.arrayContaining(['restic.sh', 'prune.sh', 'store-full.sh', 'store-restore.sh']));
    expect(cm.data['restic.sh']).toContain('restic_promote');
  });

  test('verify and restore test unpack into a scratch volume sized like the store; the others into a small emptyDir', () => {
    const scratch = (kind: BackupJobKind) => cronJob(objects, kind).spec.jobTemplate.spec.template.spec.volumes.find((v: K8sObject) => v.name === 'scratch');
    expect(scratch(BackupJobKind.RESTORE_TEST).ephemeral.volumeClaimTemplate.spec.resources.requests.storage).toBe('20Gi');
    expect(scratch(BackupJobKind.FULL).emptyDir.sizeLimit).toBe('2Gi');
  });

  test('the backup pods may reach the store and the bucket (HTTPS to its CIDRs) and nothing else; the store admits them', () => {
    const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'store-backup')!;
    const egress = policy.spec.egress.filter((r: K8sObject) => !r.ports.some((p: K8sObject) => p.port === 53));
    expect(egress).toEqual(expect.arrayContaining([
      { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      expect.objectContaining({ ports: [{ protocol: 'TCP', port: 5000 }] }),
    ]));
    expect(egress).toHaveLength(2);
    expect(policy.spec.ingress ?? []).toEqual([]);
    const store = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'store')!;
    expect(store.spec.ingress).toEqual([expect.objectContaining({
      from: [{ podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/name': 'store-backup' }) } }],
      ports: [{ protocol: 'TCP', port: 5000 }],
    })]);
  });

  test('one environment-level PrometheusRule holds the backup alerts', () => {
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    expect(rules.map((r) => r.metadata.name)).toEqual(['backup-rules']);
    expect(rules[0].spec.groups[0].rules.map((r: K8sObject) => r.alert)).toEqual(['BackupJobFailed', 'BackupVerifyFailed', 'RestoreTestFailed', 'BackupOverdue', 'BackupCheckOverdue']);
  });

  test('no backup objects where the environment has no backup settings', () => {
    const { chart } = app(null);
    const store = new Store(chart, 'store');
    expect(store.backup).toBeUndefined();
    expect(Testing.synth(chart).filter((o) => o.kind === 'CronJob')).toEqual([]);
  });
});

describe('a job that reads a data volume or needs another image', () => {
  const jobs: StoreBackupJob[] = JOBS.map((j) => (j.kind === BackupJobKind.FULL
    ? {
      ...j,
      image: 'percona/percona-xtrabackup:8.0.35-34',
      dataVolume: { claimName: 'data-store-replicas-0', podName: 'store-replicas-0', mountPath: '/var/lib/store' },
      initSteps: [{ name: 'prepare', image: 'registry.example.com/tool:1.0.0', command: ['store-hourly.sh', '--prepare'] }],
    }
    : j));
  const pod = cronJob(synth({ jobs }), BackupJobKind.FULL).spec.jobTemplate.spec.template.spec;

  test('mounts the claim read-only and runs on the node of the pod that has it (a ReadWriteOnce volume is attached to one node)', () => {
    expect(pod.volumes).toContainEqual({ name: 'source-data', persistentVolumeClaim: { claimName: 'data-store-replicas-0', readOnly: true } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'source-data', mountPath: '/var/lib/store', readOnly: true });
    expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([{
      labelSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'store-replicas-0' } },
      topologyKey: 'kubernetes.io/hostname',
    }]);
  });

  test('runs its own image; an init step runs its script in its image after restic is installed, with the same environment and mounts', () => {
    expect(pod.containers[0].image).toBe('percona/percona-xtrabackup:8.0.35-34');
    expect(pod.initContainers.map((c: K8sObject) => c.name)).toEqual(['install-restic', 'prepare']);
    const [, step] = pod.initContainers;
    expect(step).toMatchObject({ image: 'registry.example.com/tool:1.0.0', command: ['bash', '/backup/scripts/store-hourly.sh', '--prepare'] });
    expect(step.env).toEqual(pod.containers[0].env);
    expect(step.volumeMounts).toEqual(pod.containers[0].volumeMounts);
    expect(step.resources).toEqual(pod.containers[0].resources);
    expect(step.securityContext).toEqual(pod.containers[0].securityContext);
  });

  test('other jobs stay on any node with the store image', () => {
    const other = cronJob(synth({ jobs }), BackupJobKind.VERIFY).spec.jobTemplate.spec.template.spec;
    expect(other.affinity).toBeUndefined();
    expect(other.containers[0].image).toBe('registry.example.com/store:2.1.0');
  });

  test('an init step whose script is not in the backup folders is refused at synth', () => {
    const bad = jobs.map((j) => (j.kind === BackupJobKind.FULL ? { ...j, initSteps: [{ name: 'x', image: 'registry.example.com/tool:1.0.0', command: ['missing.sh'] }] } : j));
    expect(() => synth({ jobs: bad })).toThrow(/jobs\.command must be a script of the backup folders .* but "?missing\.sh"? was provided/);
  });
});

describe('restore Jobs', () => {
  test('are written to restore/<store>.k8s.yaml, which `kubectl apply -f <env>/` does not read, and never retry by themselves', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'restore-chart-'));
    try {
      const { app: a, chart } = app(BACKUP_SETTINGS, outdir);
      new Store(chart, 'store');
      synthesizeApp(a);
      expect(readdirSync(outdir).sort()).toEqual(['0000-data.k8s.yaml', 'restore']);
      expect(readdirSync(join(outdir, 'restore'))).toEqual(['store.k8s.yaml']);
      const main = parseAllDocuments(readFileSync(join(outdir, '0000-data.k8s.yaml'), 'utf8')).map((d) => d.toJS());
      expect(main.filter((o) => o.kind === 'Job')).toEqual([]);
      const [job] = parseAllDocuments(readFileSync(join(outdir, 'restore', 'store.k8s.yaml'), 'utf8')).map((d) => d.toJS());
      expect(job).toMatchObject({ kind: 'Job', metadata: { name: 'store-restore', namespace: 'ns' }, spec: { backoffLimit: 0 } });
      const container = job.spec.template.spec.containers[0];
      expect(container.command).toEqual(['bash', '/backup/scripts/store-restore.sh', '--target-time', '$(RESTORE_TARGET_TIME)']);
      expect(container.env).toContainEqual({ name: 'RESTORE_TARGET_TIME', value: 'latest' });
      // The restore pods carry the backup's labels: the same NetworkPolicy lets them reach the store and the bucket.
      expect(job.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('store-backup');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    expect(existsSync(outdir)).toBe(false);
  });

  test('restores a person chooses between are written to files of their own: one `kubectl create -f` is one restore', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'restore-chart-'));
    try {
      const { app: a, chart } = app(BACKUP_SETTINGS, outdir);
      new Store(chart, 'store', {
        restores: [
          { name: 'store-restore', command: ['store-restore.sh'], description: 'Physical.' },
          { name: 'store-restore-from-dump', command: ['store-restore.sh', '--dump'], description: 'From a dump.', file: 'store-from-dump' },
        ],
      });
      synthesizeApp(a);
      expect(readdirSync(join(outdir, 'restore')).sort()).toEqual(['store-from-dump.k8s.yaml', 'store.k8s.yaml']);
      const jobsOf = (file: string) => parseAllDocuments(readFileSync(join(outdir, 'restore', file), 'utf8')).map((d) => d.toJS().metadata.name);
      expect(jobsOf('store.k8s.yaml')).toEqual(['store-restore']);
      expect(jobsOf('store-from-dump.k8s.yaml')).toEqual(['store-restore-from-dump']);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('backup configuration errors name the field and the value', () => {
  const withRepository = (repository: Partial<BackupSettings['repository']>): BackupSettings => ({ ...BACKUP_SETTINGS, repository: { ...BACKUP_SETTINGS.repository, ...repository } });

  test.each([
    [{ schedules: { full: '0 1 * *' } }, /store-backup\.schedules\.full must be a five-field cron schedule \(five fields .* 4 were given\) but "0 1 \* \*" was provided/],
    [{ schedules: { full: '0 25 * * *' } }, /store-backup\.schedules\.full must be a five-field cron schedule \(the hour field "25" is outside 0-23\)/],
    [{ schedules: { full: '0 1 * * 0' } }, /store-backup\.schedules\.full must be a schedule that runs at least daily \(its longest gap is 168h\) but "0 1 \* \* 0" was provided/],
    [{ schedules: { incremental: '0 */2 * * *' } }, /store-backup\.schedules\.incremental must be a schedule that runs at least hourly \(its longest gap is 2h\)/],
    [{ schedules: { full: '15 1 * * *' } }, /store-backup\.schedules\.incremental must be a schedule that never starts with full \(15 1 \* \* \*\); both start at 2027-01-04 01:15 but "15 \* \* \* \*" was provided/],
    [{ jobs: JOBS.filter((j) => j.kind !== BackupJobKind.INCREMENTAL), schedules: { incremental: '15 * * * *' } }, /store-backup\.schedules\.incremental must be one of the schedules this store runs \(full, prune, verify, restoreTest\)/],
    [{ jobs: JOBS.filter((j) => j.kind !== BackupJobKind.RESTORE_TEST) }, /store-backup\.jobs must be a restore-test job/],
    [{ jobs: [...JOBS.slice(0, 4), { kind: BackupJobKind.RESTORE_TEST, command: ['missing.sh'] }] }, /jobs\.command must be a script of the backup folders \(.*\) but "missing\.sh" was provided/],
  ])('store options %j', (options, message) => {
    expect(() => synth(options as StoreOptions)).toThrow(message);
  });

  test.each([
    [withRepository({ endpoint: 's3.example.com' }), /backup\.repository\.endpoint must be an S3 endpoint URL .* but "s3\.example\.com" was provided/],
    [withRepository({ bucket: 'Bad_Bucket' }), /backup\.repository\.bucket must be an S3 bucket name .* but "Bad_Bucket" was provided/],
    [withRepository({ endpointCidrs: [] }), /backup\.repository\.endpointCidrs must be at least one IPv4 CIDR/],
    [withRepository({ endpointCidrs: ['203.0.113.0/33'] }), /backup\.repository\.endpointCidrs\[0\] must be/],
    [withRepository({ prefix: '../x' }), /backup\.repository\.prefix must be a folder path/],
    [{ ...BACKUP_SETTINGS, timeZone: 'Mars/Olympus' }, /backup\.timeZone must be an IANA time zone name .* but "Mars\/Olympus" was provided/],
    [{ ...BACKUP_SETTINGS, retention: { fullDays: 7, incrementalDays: 14 } }, /backup\.retention\.incrementalDays must be an integer between 1 and 7 but 14 was provided/],
    [{ ...BACKUP_SETTINGS, resticImage: 'restic/restic:latest' }, /backup\.resticImage must be an image pinned to a release tag/],
    [{ ...BACKUP_SETTINGS, passwordSecret: undefined } as unknown as BackupSettings, /backup\.passwordSecret must be a reference to an existing Secret/],
  ])('settings %#', (settings, message) => {
    expect(() => synth({}, settings)).toThrow(message);
  });

  test('the endpoint port follows the URL', () => {
    const objects = synth({}, withRepository({ endpoint: 'http://minio.backup.svc:9000' }));
    const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'store-backup')!;
    expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 9000 }] });
  });
});
