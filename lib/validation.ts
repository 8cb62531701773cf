import { Construct } from 'constructs';
import { parseQuantity } from './quantity';

/**
 * The error every bad configuration value raises at synth time. Each problem is one line naming
 * where the value came from (`logistics/prod`), the field (`api.replicas`) and the value itself;
 * `message` is the problems joined by newlines.
 */
export class ConfigError extends Error {
  /** One full line per problem, each starting with `<solution>/<env>:`. */
  public readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const lines = typeof problems === 'string' ? [problems] : [...problems];
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.problems = lines;
  }
}

/**
 * Runs checks that each throw {@link ConfigError} and keeps going after a failure, so that one
 * run reports every bad field instead of the first one.
 */
export class ProblemCollector {
  private readonly found: string[] = [];

  /** Problems found so far, one line each, without duplicates. */
  public get problems(): readonly string[] {
    return [...new Set(this.found)];
  }

  /** Runs `check`; a ConfigError it throws is recorded, anything else is rethrown. */
  public check(check: () => unknown): void {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.found.push(...error.problems);
    }
  }

  /** Records problems found by other means (a schema). */
  public add(...problems: string[]): void {
    this.found.push(...problems);
  }

  /**
   * Ends a run of checks: throws when any check failed, so the caller reports every problem at once.
   * @throws ConfigError with every problem recorded, if there is one
   */
  public throwIfAny(): void {
    if (this.found.length > 0) throw new ConfigError(this.problems);
  }
}

/** Namespaces Kubernetes creates and uses itself: an environment deployed there mixes with the cluster's own objects. */
export const RESERVED_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Whole cores above this are surely millicores written without the `m` (`1000` for `1000m`). */
export const MAX_WHOLE_CPUS = 64;

/** Context keys set on each App so that any construct can say which solution/environment it is in. */
export const SOLUTION_CONTEXT_KEY = 'ai-platform/solution';
/** Context key of the environment's name (`prod`), set by each App; with the solution it makes `<solution>/<env>`. */
export const ENVIRONMENT_CONTEXT_KEY = 'ai-platform/environment';
/** Release version of the environment's application, for labels of objects that belong to no one workload. */
export const VERSION_CONTEXT_KEY = 'ai-platform/version';
/** `true` on the App of an environment whose settings say `production: true`, for rules that apply to production only. */
export const PRODUCTION_CONTEXT_KEY = 'ai-platform/production';

/** `logistics/prod` for a construct inside that environment's App, or the chart id elsewhere (tests). */
export function locationOf(scope: Construct): string {
  const solution = scope.node.tryGetContext(SOLUTION_CONTEXT_KEY);
  const environment = scope.node.tryGetContext(ENVIRONMENT_CONTEXT_KEY);
  if (solution && environment) return `${solution}/${environment}`;
  const chart = scope.node.scopes.find((s) => s.node.scope !== undefined && s.node.scope.node.scope === undefined);
  return chart ? chart.node.id : scope.node.path || 'app';
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const WILDCARD_HOST = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const CPU = /^([1-9]\d*m|\d+(\.\d{1,3})?)$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const MEMORY_UNIT = /(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$/;
/** Less memory than this is surely a mistake: no container starts in it. */
const MIN_MEMORY_BYTES = 2 ** 20;
/** Four numeric labels: an IPv4 address, which an Ingress rule's host must not be. */
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const STORAGE = /^[1-9]\d*(Mi|Gi|Ti|Pi)$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Checks values and throws {@link ConfigError} with a message of the form
 * `<where>: <field> must be <expectation> but <value> was provided`.
 *
 * Constructs create one with the construct's id as prefix, so fields read as config paths:
 * `logistics/prod: mysql.replicas must be an integer >= 1 but 0 was provided`.
 */
export class Validator {
  /** A validator for fields of `scope`, reported as `<solution>/<env>: <prefix>.<field>`. */
  public static of(scope: Construct, prefix: string = scope.node.id): Validator {
    return new Validator(locationOf(scope), prefix);
  }

  /**
   * Prefer {@link Validator.of}, which derives `where` from the construct tree.
   * @param where - What starts each message: the `<solution>/<env>` the value came from
   *   (`logistics/prod`), or a chart id.
   * @param prefix - Config path prepended to every field name (`api.resources`); empty for top-level fields.
   */
  constructor(
    /** What starts each message: the `<solution>/<env>` the value came from (`logistics/prod`), or a chart id. */
    public readonly where: string,
    /** Config path prepended to every field name (`api.resources`); empty for top-level fields. */
    public readonly prefix: string = '',
  ) {}

  /** A validator for a nested group of fields (`api.resources`). */
  public nested(name: string): Validator {
    return new Validator(this.where, this.field(name));
  }

  /** The full field path for messages: `<prefix>.<name>`, or `name` alone without a prefix. */
  public field(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /**
   * Throws the problem as a ConfigError: `<where>: <prefix>.<field> must be <expectation> but <value> was provided`,
   * the value JSON-encoded. For checks no other method covers.
   * @throws ConfigError always
   */
  public fail(field: string, expectation: string, value: unknown): never {
    throw new ConfigError(`${this.where}: ${this.field(field)} must be ${expectation} but ${show(value)} was provided`);
  }

  /**
   * A whole number from `min` to `max` inclusive (no upper bound when `max` is left out).
   * @returns `value`, unchanged
   */
  public integer(field: string, value: number, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
      this.fail(field, `an integer ${range}`, value);
    }
    return value;
  }

  /**
   * A number (fractions allowed, NaN refused) from `min` to `max` inclusive.
   * @returns `value`, unchanged
   */
  public number(field: string, value: number, min: number, max: number): number {
    if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
      this.fail(field, `a number between ${min} and ${max}`, value);
    }
    return value;
  }

  /** A string with at least one non-blank character; returns `value` unchanged. */
  public nonEmpty(field: string, value: string): string {
    if (typeof value !== 'string' || value.trim() === '') this.fail(field, 'a non-empty string', value);
    return value;
  }

  /** One of the `allowed` strings, compared exactly (case matters); returns `value`. */
  public oneOf<T extends string>(field: string, value: T, allowed: readonly T[]): T {
    if (!allowed.includes(value)) this.fail(field, `one of ${allowed.join(', ')}`, value);
    return value;
  }

  /** An RFC 1123 label: a Kubernetes object name, namespace or port name. */
  public dnsLabel(field: string, value: string, maxLength = 63): string {
    if (typeof value !== 'string' || value.length > maxLength || !DNS_LABEL.test(value)) {
      this.fail(field, `a DNS label (lower-case letters, digits and '-', at most ${maxLength} characters)`, value);
    }
    return value;
  }

  /**
   * An RFC 1035 label: what Kubernetes requires of Service names (starts with a letter). Workload
   * names are checked with it because each one names a Service.
   */
  public serviceName(field: string, value: string, maxLength = 63): string {
    if (typeof value !== 'string' || value.length > maxLength || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value)) {
      this.fail(field, `a Service name (starts with a lower-case letter; letters, digits and '-', at most ${maxLength} characters)`, value);
    }
    return value;
  }

  /** An RFC 1123 subdomain: a ConfigMap, Secret or StorageClass name. */
  public dnsSubdomain(field: string, value: string): string {
    if (typeof value !== 'string' || value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
      this.fail(field, 'a DNS subdomain name (lower-case letters, digits, \'-\' and \'.\', at most 253 characters)', value);
    }
    return value;
  }

  /** A host name an Ingress can route: a fully qualified DNS name, optionally a leading `*.` wildcard. */
  public hostname(field: string, value: string): string {
    const ok = typeof value === 'string' && value.length <= 253 && value.includes('.')
      && (DNS_SUBDOMAIN.test(value) || WILDCARD_HOST.test(value));
    if (!ok) this.fail(field, 'a fully qualified DNS host name such as api.example.com', value);
    // Kubernetes refuses an IP as an Ingress rule's host; it also looks like a DNS name to the pattern above.
    if (IPV4.test(value)) this.fail(field, 'a DNS host name, not an IP address (an Ingress routes host names)', value);
    return value;
  }

  /** An IPv4 address: four octets of at most 255. */
  public ipv4Address(field: string, value: string): string {
    if (!isIpv4Address(value)) this.fail(field, 'an IPv4 address such as 169.254.20.10', value);
    return value;
  }

  /** An IPv4 CIDR (`169.254.20.10/32`): an IPv4 address and a prefix length of at most 32. */
  public ipv4Cidr(field: string, value: string): string {
    const [address, prefix, ...rest] = typeof value === 'string' ? value.split('/') : [];
    if (!isIpv4Address(address) || !/^\d{1,2}$/.test(prefix ?? '') || Number(prefix) > 32 || rest.length > 0) {
      this.fail(field, 'an IPv4 CIDR such as 169.254.20.10/32', value);
    }
    return value;
  }

  /** A namespace name: a DNS label that is none of the namespaces Kubernetes keeps for itself. */
  public namespace(field: string, value: string): string {
    this.dnsLabel(field, value);
    if (RESERVED_NAMESPACES.includes(value)) {
      this.fail(field, `a namespace of its own (not ${RESERVED_NAMESPACES.join(', ')}, which Kubernetes uses)`, value);
    }
    return value;
  }

  /**
   * A CPU quantity above 0: millicores (`500m`) or cores with at most three decimals (`2`, `0.5`),
   * at most {@link MAX_WHOLE_CPUS} cores (`1000` is refused with a hint that `1000m` was meant).
   */
  public cpu(field: string, value: string): string {
    if (typeof value !== 'string' || !CPU.test(value) || parseQuantity(value) <= 0) {
      this.fail(field, 'a CPU quantity such as 500m or 2', value);
    }
    if (parseQuantity(value) > MAX_WHOLE_CPUS) {
      const hint = /^\d+$/.test(value) ? ` (did you mean ${value}m?)` : '';
      this.fail(field, `a CPU quantity of at most ${MAX_WHOLE_CPUS} cores${hint}`, value);
    }
    return value;
  }

  /**
   * A memory quantity with a unit (`512Mi`, `2Gi`, `1G`) of at least 1Mi; a bare number is refused
   * because Kubernetes reads it as bytes.
   */
  public memory(field: string, value: string): string {
    if (typeof value !== 'string' || !MEMORY.test(value) || parseQuantity(value) <= 0) {
      this.fail(field, 'a memory quantity such as 512Mi or 2Gi', value);
    }
    // Without a unit a quantity is bytes: `512` means 512 bytes, never what was meant.
    if (!MEMORY_UNIT.test(value)) this.fail(field, `a memory quantity with a unit such as ${value}Mi (without one it is ${value} bytes)`, value);
    if (parseQuantity(value) < MIN_MEMORY_BYTES) this.fail(field, 'a memory quantity of at least 1Mi', value);
    return value;
  }

  /** A volume size in binary units (`100Gi`): `100GB` or `100G` are refused because they are not what people mean. */
  public storage(field: string, value: string): string {
    if (typeof value !== 'string' || !STORAGE.test(value)) {
      this.fail(field, 'a storage size in binary units such as 10Gi or 1Ti', value);
    }
    return value;
  }

  /** `requests <= limits` for one resource. */
  public notAbove(field: string, request: string, limitField: string, limit: string): void {
    if (parseQuantity(request) > parseQuantity(limit)) {
      this.fail(field, `at most ${this.field(limitField)} (${limit})`, request);
    }
  }

  /** An image tag that pins a release: MAJOR.MINOR.PATCH with optional `v`, pre-release and build. */
  public semverTag(field: string, value: string): string {
    if (typeof value !== 'string' || !SEMVER.test(value)) {
      this.fail(field, 'a semantic version MAJOR.MINOR.PATCH such as 1.4.2 (never latest)', value);
    }
    return value;
  }

  /**
   * An image repository without tag or digest: lower-case path components, optionally a registry host
   * with port first (`registry.example.com:5000/team/app`).
   */
  public imageRepository(field: string, value: string): string {
    if (typeof value !== 'string' || !IMAGE_REPOSITORY.test(value)) {
      this.fail(field, 'an image repository such as registry.example.com/team/app (no tag)', value);
    }
    return value;
  }

  /** A full third-party image reference pinned to a release tag (`mysql:8.0.39`): no missing tag, no `latest`. */
  public pinnedImage(field: string, value: string): string {
    const match = typeof value === 'string' ? /^([^@\s]+?):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(value) : null;
    // A release tag names at least MAJOR.MINOR (8.0.39, v2.3.21, RELEASE.2023-03-20T...): `8` or `stable` move.
    if (!match || !/\d+[.-]\d+/.test(match[2]) || !IMAGE_REPOSITORY.test(match[1])) {
      this.fail(field, 'an image pinned to a release tag such as mysql:8.0.39 (never latest or a bare major)', value);
    }
    return value;
  }

  /** An environment variable name: a letter or `_`, then letters, digits and `_` (`DB_PASSWORD`). */
  public envVarName(field: string, value: string): string {
    if (typeof value !== 'string' || !ENV_VAR_NAME.test(value)) this.fail(field, 'an environment variable name', value);
    return value;
  }

  /** A reference to a key of an existing Secret. */
  public secretKeyRef(field: string, ref: { readonly name: string; readonly key: string } | undefined): void {
    if (!ref) this.fail(field, 'a reference to an existing Secret ({ name, key })', ref);
    this.dnsSubdomain(`${field}.name`, ref.name);
    if (typeof ref.key !== 'string' || !SECRET_KEY.test(ref.key) || ref.key.length > 253) {
      this.fail(`${field}.key`, 'a Secret key (letters, digits, \'-\', \'_\' and \'.\')', ref.key);
    }
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value);
}

function isIpv4Address(value: unknown): boolean {
  const match = typeof value === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value) : null;
  return match !== null && match.slice(1).every((octet) => Number(octet) <= 255);
}
