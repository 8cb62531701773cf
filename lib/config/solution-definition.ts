import { ConfigError, Validator } from '../validation';
import { AppTierSettings } from './app-tier-settings';
import { applyOverrides, CheckedOverrides, Overrides } from './overrides';
import { checkSettings, SettingsTypeName } from './settings-checks';

/**
 * A solution's configuration: settings shared by all environments, and what each environment
 * changes. Adding an environment is adding a key to `environments`.
 */
export interface SolutionDefinition<S> {
  /** The solution's name: a DNS label, used in namespaces, labels and dist/<name>/. */
  readonly name: string;
  /**
   * Name of the settings type `S`: the root of the schema generated from it
   * (lib/config/settings.schema.json), which every environment's settings are checked against.
   */
  readonly settingsType: SettingsTypeName;
  /** Settings every environment starts from. */
  readonly defaults: S;
  /** Environment name (a DNS label such as `dev`, `test`, `prod`) -> its overrides. */
  readonly environments: Readonly<Record<string, Overrides<S>>>;
}

/**
 * `definition`, with its environments checked at compile time: an environment that sets a
 * required key to `undefined` (`web: undefined`) does not compile. Curried so that `S` is given
 * and the environments' own types are inferred: `defineSolution<LogisticsSettings>()({ ... })`.
 */
export function defineSolution<S>() {
  return <E extends Readonly<Record<string, Overrides<S>>>>(
    definition: SolutionDefinition<S> & { readonly environments: E & { readonly [N in keyof E]: CheckedOverrides<E[N], S> } },
  ): SolutionDefinition<S> => definition;
}

/** The settings of one environment of one solution, checked. */
export interface ResolvedEnvironment<S> {
  /** The solution's name ({@link SolutionDefinition.name}): a DNS label of at most 40 characters. */
  readonly solution: string;
  /** The environment's name: a key of `environments`, a DNS label of at most 20 characters. */
  readonly environment: string;
  /** `settings.production`: whether production rules apply (secret manager, prod-ha). */
  readonly production: boolean;
  /** The defaults with the environment's overrides applied, checked against the schema and value by value. */
  readonly settings: S;
}

/** The environments a solution defines, in definition order. */
export function environmentsOf<S>(definition: SolutionDefinition<S>): string[] {
  return Object.keys(definition.environments);
}

/**
 * Settings of `environment`, checked against the schema generated from the settings type (no
 * unknown or missing field, the right types) and then value by value.
 * @throws ConfigError naming the solution and the environments it has, for an unknown environment
 * @throws ConfigError with every problem of the environment's settings, one line each
 */
export function resolveEnvironment<S extends AppTierSettings>(definition: SolutionDefinition<S>, environment: string): ResolvedEnvironment<S> {
  const v = new Validator(definition.name);
  v.dnsLabel('name', definition.name, 40);
  if (!Object.prototype.hasOwnProperty.call(definition.environments, environment)) {
    throw new ConfigError(`${definition.name}: environment must be one of ${environmentsOf(definition).join(', ')} but ${JSON.stringify(environment)} was provided`);
  }
  v.dnsLabel('environment', environment, 20);
  const settings = applyOverrides(definition.defaults, definition.environments[environment]);
  const problems = checkSettings(definition.settingsType, settings, definition.name, environment);
  if (problems.length > 0) throw new ConfigError(problems);
  return { solution: definition.name, environment, production: settings.production, settings };
}

/** The namespace an environment is deployed to: `settings.namespace`, else `<solution>-<environment>`. */
export function namespaceOf(resolved: Pick<ResolvedEnvironment<Pick<AppTierSettings, 'namespace'>>, 'solution' | 'environment' | 'settings'>): string {
  return resolved.settings.namespace ?? `${resolved.solution}-${resolved.environment}`;
}

/** The host names an environment's Ingress routes (none without an Ingress). */
export function ingressHostsOf(resolved: Pick<ResolvedEnvironment<Pick<AppTierSettings, 'ingress'>>, 'settings'>): readonly string[] {
  return resolved.settings.ingress?.hosts ?? [];
}
