/**
 * The backup alerts with Prometheus' own tool: `promtool check rules` on the rules, and
 * `promtool test rules` proving each alert fires when a person must act (the latest run failed, no
 * success within the cadence, a WAL shipper restarting) and stays silent otherwise (an old failure
 * followed by a success, a CronJob that runs on time).
 */
import { Chart, Testing } from 'cdk8s';
import { BackupJobKind, BackupRepository, BACKUP_CONTEXT_KEY, overdueSeconds, walShippingRuleGroups } from '../../lib/backup';
import { checkRules, PROMETHEUS_BINARIES, ruleFileOf, RuleUnitTest, testRules } from '../support/prometheus';
import { AlertRules } from '../../lib/observability/alert-rules';
import { describeWithBinaries } from '../support/real-servers';
import { BACKUP_SETTINGS } from './backup-fixtures';

const NS = 'ns';

function rules() {
  const app = Testing.app();
  app.node.setContext(BACKUP_CONTEXT_KEY, BACKUP_SETTINGS);
  const chart = new Chart(app, 'data', { namespace: NS });
  BackupRepository.of(chart);
  new AlertRules(chart, 'wal', { name: 'wal-rules', groups: walShippingRuleGroups(NS) });
  const file = ruleFileOf(Testing.synth(chart).filter((o) => o.kind === 'PrometheusRule'));
  // The expressions are under test here; annotations are checked with the other alert rules.
  return { groups: file.groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations, ...rule }) => rule) })) };
}

const owner = (job: string, cronJob: string) => `kube_job_owner{namespace="${NS}", job_name="${job}", owner_kind="CronJob", owner_name="${cronJob}"}`;
const labels = (job: string, cronJob: string, severity: string) => ({ namespace: NS, job_name: job, owner_name: cronJob, severity });

/** Two runs of `cronJob`: the first fails at once, the second starts at 60m and ends as `second`. */
function twoRuns(cronJob: string, second: 'failed' | 'succeeded'): RuleUnitTest['input_series'] {
  const [a, b] = [`${cronJob}-1`, `${cronJob}-2`];
  return [
    { series: owner(a, cronJob), values: '1x200' },
    { series: owner(b, cronJob), values: '_x60 1x140' },
    { series: `kube_job_status_start_time{namespace="${NS}", job_name="${a}"}`, values: '0x200' },
    { series: `kube_job_status_start_time{namespace="${NS}", job_name="${b}"}`, values: '_x60 3600x140' },
    { series: `kube_job_status_failed{namespace="${NS}", job_name="${a}"}`, values: '1x200' },
    { series: `kube_job_status_failed{namespace="${NS}", job_name="${b}"}`, values: `_x60 ${second === 'failed' ? 1 : 0}x140` },
  ];
}

describeWithBinaries('backup alert rules (promtool)', { promtool: PROMETHEUS_BINARIES.promtool }, 'prometheus', () => {
  test('promtool check rules accepts them', () => {
    const result = checkRules(rules());
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  test('a failed backup alerts until a later run of the same CronJob succeeds', () => {
    const cronJob = 'mysql-backup-full';
    const result = testRules(rules(), [
      {
        interval: '1m',
        input_series: twoRuns(cronJob, 'succeeded'),
        alert_rule_test: [
          { eval_time: '3m', alertname: 'BackupJobFailed', exp_alerts: [] },
          { eval_time: '10m', alertname: 'BackupJobFailed', exp_alerts: [{ exp_labels: labels(`${cronJob}-1`, cronJob, 'P2') }] },
          { eval_time: '70m', alertname: 'BackupJobFailed', exp_alerts: [] },
        ],
      },
      {
        interval: '1m',
        input_series: twoRuns(cronJob, 'failed'),
        alert_rule_test: [{ eval_time: '70m', alertname: 'BackupJobFailed', exp_alerts: [{ exp_labels: labels(`${cronJob}-2`, cronJob, 'P2') }] }],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
  });

  test('verify and restore-test failures have their own alerts, and do not raise BackupJobFailed', () => {
    const result = testRules(rules(), [
      {
        interval: '1m',
        input_series: [...twoRuns('mysql-backup-verify', 'failed'), ...twoRuns('redis-backup-restore-test', 'failed')],
        alert_rule_test: [
          { eval_time: '70m', alertname: 'BackupVerifyFailed', exp_alerts: [{ exp_labels: labels('mysql-backup-verify-2', 'mysql-backup-verify', 'P1') }] },
          { eval_time: '70m', alertname: 'RestoreTestFailed', exp_alerts: [{ exp_labels: labels('redis-backup-restore-test-2', 'redis-backup-restore-test', 'P1') }] },
          { eval_time: '70m', alertname: 'BackupJobFailed', exp_alerts: [] },
        ],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
  });

  test('an hourly archive without a success for longer than its cadence and run time is overdue, a punctual one is not', () => {
    const limitMinutes = overdueSeconds(BackupJobKind.INCREMENTAL) / 60;
    const cron = (name: string) => `{namespace="${NS}", cronjob="${name}"}`;
    // Series at 1m steps: the late CronJob last succeeded at t=0 and never again; the punctual one
    // succeeds every hour (its last-success value moves to each hour's start).
    const punctual = Array.from({ length: 5 }, (_, hour) => `${hour * 3600}x59`).join(' ');
    const result = testRules(rules(), [{
      interval: '1m',
      input_series: [
        { series: `kube_cronjob_status_last_successful_time${cron('mysql-backup-incremental')}`, values: '0x300' },
        { series: `kube_cronjob_status_last_successful_time${cron('redis-backup-incremental')}`, values: punctual },
      ],
      alert_rule_test: [
        { eval_time: `${limitMinutes - 5}m`, alertname: 'BackupOverdue', exp_alerts: [] },
        { eval_time: `${limitMinutes + 15}m`, alertname: 'BackupOverdue', exp_alerts: [{ exp_labels: { namespace: NS, cronjob: 'mysql-backup-incremental', severity: 'P1' } }] },
      ],
    }]);
    expect(result.output).toContain('SUCCESS');
  });

  test('a full backup that never succeeded is overdue once its CronJob is older than the limit', () => {
    const limitMinutes = overdueSeconds(BackupJobKind.FULL) / 60;
    const result = testRules(rules(), [{
      interval: '10m',
      input_series: [{ series: `kube_cronjob_created{namespace="${NS}", cronjob="mysql-backup-full"}`, values: `0x${Math.ceil(limitMinutes / 10) + 10}` }],
      alert_rule_test: [
        { eval_time: `${limitMinutes - 20}m`, alertname: 'BackupOverdue', exp_alerts: [] },
        { eval_time: `${limitMinutes + 30}m`, alertname: 'BackupOverdue', exp_alerts: [{ exp_labels: { namespace: NS, cronjob: 'mysql-backup-full', severity: 'P1' } }] },
      ],
    }], '10m');
    expect(result.output).toContain('SUCCESS');
  });

  test('archive_command refusing WAL (the shipper failing) alerts after 15 minutes of failures; a failure that stopped does not', () => {
    const failures = (pod: string) => `pg_stat_archiver_failed_count{namespace="${NS}", pod="${pod}", job="postgres"}`;
    const result = testRules(rules(), [{
      interval: '1m',
      input_series: [
        // PostgreSQL retries a refused segment about once a minute.
        { series: failures('postgres-0'), values: '0x30 1+1x90' },
        { series: failures('postgres-standby-0'), values: '0x10 1+1x5 6x100' },
      ],
      alert_rule_test: [
        { eval_time: '40m', alertname: 'WalShippingFailing', exp_alerts: [] },
        { eval_time: '70m', alertname: 'WalShippingFailing', exp_alerts: [{ exp_labels: { namespace: NS, pod: 'postgres-0', job: 'postgres', severity: 'P1' } }] },
      ],
    }]);
    expect(result.output).toContain('SUCCESS');
  });
});
