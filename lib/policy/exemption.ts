import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { locationOf, Validator } from '../validation';
import { ManifestObject } from './manifest';
import { PolicyRule, Violation } from './rule';

/** Annotation that exempts its object from one rule; the value is the reason. */
export const EXEMPTION_ANNOTATION_PREFIX = 'policy.ai-platform.io/exempt-';

/** Rule id of violations about malformed exemption annotations (not a rule: it cannot be exempted). */
export const EXEMPTION_RULE_ID = 'policy-exemption';

/** `policy.ai-platform.io/exempt-prod-ha` */
export function exemptionAnnotation(ruleId: string): string {
  return `${EXEMPTION_ANNOTATION_PREFIX}${ruleId}`;
}

/** Whether the object carries a (well-formed) exemption from the rule. */
export function isExempt(object: ManifestObject, ruleId: string): boolean {
  const reason = object.annotations[exemptionAnnotation(ruleId)];
  return typeof reason === 'string' && reason.trim() !== '';
}

/**
 * Exemption annotations written by hand (in props metadata rather than through
 * `Policies.exempt`) get the same checks: a known rule and a reason.
 */
export function malformedExemptions(object: ManifestObject, rules: readonly PolicyRule[]): Violation[] {
  const violations: Violation[] = [];
  for (const [key, reason] of Object.entries(object.annotations)) {
    if (!key.startsWith(EXEMPTION_ANNOTATION_PREFIX)) continue;
    const ruleId = key.slice(EXEMPTION_ANNOTATION_PREFIX.length);
    const rule = rules.find((r) => r.id === ruleId);
    if (!rule) {
      violations.push(new Violation(EXEMPTION_RULE_ID, object.ref, `annotation ${key} exempts from "${ruleId}", which is not a policy rule`,
        `use one of ${rules.map((r) => r.id).join(', ')}`));
    } else if (typeof reason !== 'string' || reason.trim() === '') {
      violations.push(new Violation(EXEMPTION_RULE_ID, object.ref, `annotation ${key} gives no reason`,
        'write why the object may break the rule as the annotation value (Policies.exempt(construct, ruleId, reason))'));
    } else if (!rule.appliesTo(object)) {
      violations.push(new Violation(EXEMPTION_RULE_ID, object.ref, `annotation ${key} exempts from "${ruleId}", which does not examine ${object.kind} objects`,
        'remove the annotation'));
    }
  }
  return violations;
}

/**
 * Records an exemption of `scope` from one rule as an annotation on each object the rule examines
 * (the object itself, or those under a construct), so that it shows in dist/ with its reason.
 * @returns the annotated objects
 */
export function addExemption(scope: IConstruct, ruleId: string, reason: string, rules: readonly PolicyRule[]): ApiObject[] {
  const v: Validator = new Validator(locationOf(scope), `Policies.exempt(${scope.node.path || 'app'})`);
  const rule = rules.find((r) => r.id === ruleId);
  if (!rule) v.fail('ruleId', `one of the policy rules (${rules.map((r) => r.id).join(', ')})`, ruleId);
  if (typeof reason !== 'string' || reason.trim() === '') v.fail('reason', 'a non-empty explanation of why the rule does not apply', reason);
  const candidates = ApiObject.isApiObject(scope) ? [scope] : scope.node.findAll().filter(ApiObject.isApiObject);
  const targets = candidates.filter((o) => rule.appliesTo(o));
  if (targets.length === 0) {
    const kinds = [...new Set(candidates.map((o) => o.kind))].sort();
    v.fail('scope', `a construct holding an object that rule "${ruleId}" examines`, kinds.length ? `objects of kind ${kinds.join(', ')}` : 'no API objects');
  }
  for (const target of targets) target.metadata.addAnnotation(exemptionAnnotation(ruleId), reason.trim());
  return targets;
}
