import { ConfigError, Validator } from '../validation';
import { applyOverrides, Overrides } from './overrides';

/**
 * A solution's configuration: settings shared by all environments, and what each environment
 * changes. Adding an environment is adding a key to `environments`.
 */
export interface SolutionDefinition<S> {
  /** The solution's name: a DNS label, used in namespaces, labels and dist/<name>/. */
  readonly name: string;
  /** Settings every environment starts from. */
  readonly defaults: S;
  /** Environment name (a DNS label such as `dev`, `test`, `prod`) -> its overrides. */
  readonly environments: Readonly<Record<string, Overrides<S>>>;
}

/** The settings of one environment of one solution. */
export interface ResolvedEnvironment<S> {
  readonly solution: string;
  readonly environment: string;
  readonly settings: S;
}

/** The environments a solution defines, in definition order. */
export function environmentsOf<S>(definition: SolutionDefinition<S>): string[] {
  return Object.keys(definition.environments);
}

/** Settings of `environment`, or a ConfigError naming the solution and the environments it has. */
export function resolveEnvironment<S>(definition: SolutionDefinition<S>, environment: string): ResolvedEnvironment<S> {
  const v = new Validator(definition.name);
  v.dnsLabel('name', definition.name, 40);
  if (!Object.prototype.hasOwnProperty.call(definition.environments, environment)) {
    throw new ConfigError(`${definition.name}: environment must be one of ${environmentsOf(definition).join(', ')} but ${JSON.stringify(environment)} was provided`);
  }
  v.dnsLabel('environment', environment, 20);
  return {
    solution: definition.name,
    environment,
    settings: applyOverrides(definition.defaults, definition.environments[environment]),
  };
}
