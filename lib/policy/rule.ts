import { Inventory } from './inventory';
import { ManifestObject, TypeMeta } from './manifest';

/** One thing a rule found wrong with one object. */
export interface Finding {
  /**
   * The part of the object at fault: `container "api"`, `initContainer "init"`, `volume "data"`.
   * @default - the object as a whole
   */
  readonly part?: string;
  /** What is wrong, without the object's name: `has no memory limit`. */
  readonly message: string;
  /**
   * How to fix this finding.
   * @default - the rule's general fix
   */
  readonly fix?: string;
}

/** A check of the synthesized manifests, identified by `id` in messages, exemptions and the README. */
export interface PolicyRule {
  /** kebab-case id: `resources-set`. */
  readonly id: string;
  /** What the rule checks, one sentence (README table). */
  readonly description: string;
  /** How to comply, one sentence (README table, and messages of findings without their own fix). */
  readonly fix: string;
  /** Whether objects of this type are examined (and so can be exempted). */
  appliesTo(type: TypeMeta): boolean;
  /** Findings for one object; `inventory` holds every object of the App for rules that relate objects. */
  check(object: ManifestObject, inventory: Inventory): readonly Finding[];
}

/** A finding tied to its rule and object: one line of the synth error. */
export class Violation {
  constructor(
    /** The rule id (or `policy-exemption` for a malformed exemption). */
    public readonly ruleId: string,
    /** `Deployment logistics-prod/api` */
    public readonly objectRef: string,
    /** What is wrong, without the object's name (the finding's message): `has no memory limit`. */
    public readonly message: string,
    /** How to fix it: the finding's own fix, else the rule's general one (first letter lower-cased). */
    public readonly fix: string,
    /** The part of the object at fault (`container "api"`); undefined when the whole object is. */
    public readonly part?: string,
  ) {}

  /** `Deployment logistics-prod/api container "api": [resources-set] has no memory limit. Fix: set ...` */
  public toString(): string {
    const where = this.part ? `${this.objectRef} ${this.part}` : this.objectRef;
    return `${where}: [${this.ruleId}] ${trimDot(this.message)}. Fix: ${trimDot(this.fix)}.`;
  }
}

function trimDot(text: string): string {
  return text.replace(/\.+\s*$/, '');
}

/** `a, b and c` (or `a, b or c`). */
export function listOf(items: readonly string[], conjunction: 'and' | 'or' = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** A rule's fix (a sentence) inside a message. */
export function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
