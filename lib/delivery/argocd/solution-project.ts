import { Construct } from 'constructs';
import {
  AppProject, AppProjectSpecClusterResourceWhitelist, AppProjectSpecDestinations, AppProjectSpecNamespaceResourceWhitelist,
} from '../../../imports/appproject-argoproj.io';
import { ConfigError, Validator } from '../../validation';
import { checkEnvironment, GitOpsEnvironment, gitOpsLabels, IN_CLUSTER_SERVER } from './application-spec';
import { missingRolloutProblem, ResolvedGitOps, ResolvedRegionalRollout } from './gitops-settings';
import { isClusterScoped } from './shipped';

/** Props of {@link SolutionProject}. */
export interface SolutionProjectProps {
  /** The resolved GitOps settings: the repository is the project's only source. */
  readonly gitops: ResolvedGitOps;
  /** The solution's name (a DNS label of at most 40 characters), the AppProject's; every environment's must match. */
  readonly solution: string;
  /** Every environment of the solution, with what it ships. */
  readonly environments: readonly GitOpsEnvironment[];
  /** Where production runs: its clusters are the only destinations of production environments. @default - no production environment */
  readonly rollout?: ResolvedRegionalRollout;
}

/**
 * The AppProject of a solution, `<solution>`: what its Applications may deploy, and nothing more.
 * Sources: the configured repository only. Destinations: each environment's namespace on its
 * clusters only (dev and test in Argo CD's own cluster, production on the configured region
 * clusters, by their Argo CD names). Kinds: the namespaced kinds the environments ship
 * (`namespaceResourceWhitelist`) and, cluster-wide, only the objects they ship by name
 * (`clusterResourceWhitelist` with `name`: their Namespaces), so an Application of the project can
 * neither create another namespace nor a ClusterRole.
 */
export class SolutionProject extends Construct {
  /** The AppProject's name: the solution's name. */
  public readonly name: string;
  /** The AppProject `<solution>` in Argo CD's namespace. */
  public readonly project: AppProject;
  /**
   * Its destinations: each non-production namespace in Argo CD's cluster, each production namespace
   * on every region cluster by name.
   */
  public readonly destinations: readonly AppProjectSpecDestinations[];
  /** Its `namespaceResourceWhitelist`: every namespaced kind the environments ship, sorted. */
  public readonly namespacedKinds: readonly AppProjectSpecNamespaceResourceWhitelist[];
  /** Its `clusterResourceWhitelist`: the cluster-scoped objects the environments ship, by name (their Namespaces). */
  public readonly clusterResources: readonly AppProjectSpecClusterResourceWhitelist[];

  constructor(scope: Construct, id: string, props: SolutionProjectProps) {
    super(scope, id);
    const v = new Validator(props.solution, 'gitops');
    v.dnsLabel('solution', props.solution, 40);
    if (props.environments.length === 0) v.fail('environments', 'at least one environment of the solution', props.environments);
    for (const environment of props.environments) {
      const ev = new Validator(`${environment.solution}/${environment.environment}`, 'gitops');
      checkEnvironment(ev, environment);
      if (environment.solution !== props.solution) ev.fail('solution', `the project's solution (${props.solution})`, environment.solution);
      if (environment.production && !props.rollout) throw new ConfigError(missingRolloutProblem(environment.solution, environment.environment));
    }
    this.name = props.solution;

    const destinations = new Map<string, AppProjectSpecDestinations>();
    for (const environment of props.environments) {
      if (environment.production) {
        for (const cluster of props.rollout!.regions.flatMap((r) => r.clusters)) {
          destinations.set(`name ${cluster} ${environment.namespace}`, { name: cluster, namespace: environment.namespace });
        }
      } else {
        destinations.set(`server ${environment.namespace}`, { server: IN_CLUSTER_SERVER, namespace: environment.namespace });
      }
    }
    this.destinations = [...destinations.values()];

    const namespaced = new Map<string, AppProjectSpecNamespaceResourceWhitelist>();
    const cluster = new Map<string, AppProjectSpecClusterResourceWhitelist>();
    for (const environment of props.environments) {
      for (const kind of environment.kinds) {
        if (!isClusterScoped(kind)) namespaced.set(`${kind.group}/${kind.kind}`, { group: kind.group, kind: kind.kind });
      }
      for (const object of environment.clusterObjects) {
        cluster.set(`${object.group}/${object.kind}/${object.name}`, { group: object.group, kind: object.kind, name: object.name });
      }
    }
    const sorted = <T extends { group: string; kind: string; name?: string }>(m: Map<string, T>) =>
      [...m.values()].sort((a, b) => `${a.group}/${a.kind}/${a.name ?? ''}`.localeCompare(`${b.group}/${b.kind}/${b.name ?? ''}`));
    this.namespacedKinds = sorted(namespaced);
    this.clusterResources = sorted(cluster);

    this.project = new AppProject(this, 'Resource', {
      metadata: { name: this.name, labels: gitOpsLabels(props.solution) },
      spec: {
        description: `${props.solution}: its environments' namespaces, and only the kinds they ship`,
        sourceRepos: [props.gitops.repoURL],
        destinations: [...this.destinations],
        clusterResourceWhitelist: [...this.clusterResources],
        namespaceResourceWhitelist: [...this.namespacedKinds],
      },
    });
  }
}
