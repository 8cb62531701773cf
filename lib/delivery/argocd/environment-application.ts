import { Construct } from 'constructs';
import { Application } from '../../../imports/application-argoproj.io';
import { Validator } from '../../validation';
import {
  checkEnvironment, directorySource, environmentPath, GitOpsEnvironment, gitOpsLabels, ignoreDifferencesOf, IN_CLUSTER_SERVER, syncPolicyOf,
} from './application-spec';
import { ResolvedGitOps } from './gitops-settings';
import { SYNC_WAVE_ANNOTATION } from './sync-waves';

/** Props of {@link EnvironmentApplication}. */
export interface EnvironmentApplicationProps {
  /** The resolved GitOps settings: repository, revision, path prefix, retries and history. */
  readonly gitops: ResolvedGitOps;
  /** The environment deployed, with the kinds it ships and the workloads an HPA scales (not drift). */
  readonly environment: GitOpsEnvironment;
  /** Its wave in the root application: environments earlier in the configuration are synced (and healthy) first. @default 0 */
  readonly wave?: number;
}

/**
 * The Argo CD Application of one environment in the cluster Argo CD runs in: reads
 * `<prefix>/<solution>/<environment>` and deploys it to the environment's namespace, in the
 * solution's AppProject. Without the resources finalizer: deleting the Application (or its leaving
 * the root application) leaves the environment running, so no data is ever deleted through Argo CD
 * (R14); the namespace is removed by hand.
 *
 * Production environments are rolled out across regions by a {@link RegionalRollout} instead; given
 * one here, the Application syncs only by hand.
 */
export class EnvironmentApplication extends Construct {
  /** `<solution>-<environment>`. */
  public readonly name: string;
  /** The Application `<solution>-<environment>` in Argo CD's namespace (its Chart's namespace). */
  public readonly application: Application;

  constructor(scope: Construct, id: string, props: EnvironmentApplicationProps) {
    super(scope, id);
    const { gitops, environment } = props;
    const v = new Validator(`${environment.solution}/${environment.environment}`, 'gitops');
    checkEnvironment(v, environment);
    const wave = v.integer('wave', props.wave ?? 0, -100, 100);
    this.name = `${environment.solution}-${environment.environment}`;
    this.application = new Application(this, 'Resource', {
      metadata: {
        name: this.name,
        labels: gitOpsLabels(environment.solution, environment.environment),
        annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) },
      },
      spec: {
        project: environment.solution,
        source: directorySource(gitops, environmentPath(gitops, environment)),
        destination: { server: IN_CLUSTER_SERVER, namespace: environment.namespace },
        syncPolicy: syncPolicyOf(gitops, environment.production),
        ignoreDifferences: ignoreDifferencesOf(environment.autoscaled),
        revisionHistoryLimit: gitops.revisionHistoryLimit,
      },
    });
  }
}
