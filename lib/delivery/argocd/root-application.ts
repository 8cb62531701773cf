import { Construct } from 'constructs';
import { Application } from '../../../imports/application-argoproj.io';
import { AppProject } from '../../../imports/appproject-argoproj.io';
import { Validator } from '../../validation';
import { directorySource, gitOpsLabels, IN_CLUSTER_SERVER } from './application-spec';
import { ResolvedGitOps } from './gitops-settings';

/** `argocd/<solution>`: the folder of the output (and of the repository, below the path prefix) holding a solution's Applications. */
export function applicationsFolder(solution: string): string {
  return `argocd/${solution}`;
}

/** Props of {@link RootApplication}. */
export interface RootApplicationProps {
  /** The resolved GitOps settings: repository, revision, path prefix, Argo CD's namespace, retries and history. */
  readonly gitops: ResolvedGitOps;
  /** The solution's name, a DNS label of at most 40 characters. */
  readonly solution: string;
}

/**
 * The app of apps of a solution, `<solution>-root`: an Application reading
 * `<prefix>/argocd/<solution>/`, where the solution's environment Applications and production
 * ApplicationSet are, so that a change to them is a commit like any other. Synced automatically
 * (pruning an environment that left the configuration, reverting hand edits such as turning on
 * automated sync in production). Its own AppProject, `<solution>-root`, lets it create nothing but
 * Applications and ApplicationSets in Argo CD's namespace: what the solution may deploy is decided
 * by the solution's AppProject, which only `kubectl apply -f dist/argocd/` changes.
 *
 * The children carry sync waves (configuration order, production last) and the
 * `argoproj.io/Application` health check of {@link ArgoCdCustomizations} makes each wave wait until
 * the previous environment is Healthy (argo-cd #4577).
 */
export class RootApplication extends Construct {
  /** `<solution>-root`: the name of both the Application and its AppProject. */
  public readonly name: string;
  /** AppProject `<solution>-root`: may deploy only Applications and ApplicationSets, into Argo CD's namespace. */
  public readonly project: AppProject;
  /** Application `<solution>-root`, syncing `<prefix>/argocd/<solution>/` automatically (prune, self-heal). */
  public readonly application: Application;

  constructor(scope: Construct, id: string, props: RootApplicationProps) {
    super(scope, id);
    const { gitops, solution } = props;
    const v = new Validator(solution, 'gitops');
    v.dnsLabel('solution', solution, 40);
    this.name = `${solution}-root`;
    const labels = gitOpsLabels(solution);
    this.project = new AppProject(this, 'Project', {
      metadata: { name: this.name, labels },
      spec: {
        description: `${solution}: the app of apps, which manages only the solution's Applications and ApplicationSets`,
        sourceRepos: [gitops.repoURL],
        destinations: [{ server: IN_CLUSTER_SERVER, namespace: gitops.namespace }],
        namespaceResourceWhitelist: [
          { group: 'argoproj.io', kind: 'Application' },
          { group: 'argoproj.io', kind: 'ApplicationSet' },
        ],
      },
    });
    this.application = new Application(this, 'Application', {
      metadata: { name: this.name, labels },
      spec: {
        project: this.name,
        source: directorySource(gitops, `${gitops.pathPrefix}/${applicationsFolder(solution)}`),
        destination: { server: IN_CLUSTER_SERVER, namespace: gitops.namespace },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: ['ServerSideApply=true', 'PruneLast=true'],
          retry: {
            limit: gitops.retry.limit,
            backoff: { duration: `${gitops.retry.backoffSeconds}s`, factor: gitops.retry.factor, maxDuration: `${gitops.retry.maxBackoffSeconds}s` },
          },
        },
        revisionHistoryLimit: gitops.revisionHistoryLimit,
      },
    });
  }
}
