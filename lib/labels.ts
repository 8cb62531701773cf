import { Construct } from 'constructs';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY, VERSION_CONTEXT_KEY } from './validation';

/** Label keys of https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/ */
export const LABEL_NAME = 'app.kubernetes.io/name';
/**
 * Label key of the installation: `<solution>-<environment>` (`logistics-prod`), or the solution alone
 * outside an environment; part of every selector.
 */
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
/** Label key of the running version (image tag or release version); never in a selector, so an upgrade keeps them. */
export const LABEL_VERSION = 'app.kubernetes.io/version';
/** Label key of the tier (`api`, `web`, `ai`, `database`, `cache`, ...); not in selectors. */
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
/** Label key of the solution the object belongs to (`logistics`, `real-estate`). */
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/** Label key of the tool that generated the object: always `cdk8s` here. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';

/** What differs between workloads' labels; solution and environment come from the App's context. */
export interface StandardLabelsProps {
  /** `app.kubernetes.io/name`: what runs, unique per workload in a namespace (`api`, `mysql-primary`). */
  readonly name: string;
  /** `app.kubernetes.io/component`: the tier (`api`, `web`, `ai`, `database`, `cache`, `vector-database`). */
  readonly component: string;
  /**
   * `app.kubernetes.io/version`: the version that runs, usually the image tag.
   * @default - the environment's release version (context `ai-platform/version`), else `unversioned`
   */
  readonly version?: string;
}

/**
 * The six recommended labels for one workload. The selector labels leave out `version` and
 * `component`, so that an upgrade never changes a (immutable) selector.
 */
export class StandardLabels {
  /** All six labels, for metadata and pod templates. */
  public readonly labels: Readonly<Record<string, string>>;
  /** `name` and `instance` only: for selectors of Deployments, Services, PDBs and NetworkPolicies. */
  public readonly selectorLabels: Readonly<Record<string, string>>;

  constructor(scope: Construct, props: StandardLabelsProps) {
    const solution: string = scope.node.tryGetContext(SOLUTION_CONTEXT_KEY) ?? 'app';
    const environment: string | undefined = scope.node.tryGetContext(ENVIRONMENT_CONTEXT_KEY);
    const instance = environment ? `${solution}-${environment}` : solution;
    this.selectorLabels = {
      [LABEL_NAME]: props.name,
      [LABEL_INSTANCE]: instance,
    };
    this.labels = {
      ...this.selectorLabels,
      [LABEL_VERSION]: toLabelValue(props.version ?? scope.node.tryGetContext(VERSION_CONTEXT_KEY) ?? 'unversioned'),
      [LABEL_COMPONENT]: props.component,
      [LABEL_PART_OF]: solution,
      [LABEL_MANAGED_BY]: 'cdk8s',
    };
  }
}

/** Label values allow [A-Za-z0-9._-] and at most 63 characters; a `+build` suffix of a semver becomes `_build`. */
function toLabelValue(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
}
