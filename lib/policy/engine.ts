import { Chart } from 'cdk8s';
import { isExempt, malformedExemptions } from './exemption';
import { Inventory } from './inventory';
import { lowerFirst, PolicyRule, Violation } from './rule';

/**
 * Every violation of the objects of one chart (the closest chart of each object, as cdk8s writes
 * them), in construct order and then rule order. `inventory` is the whole App, so rules that
 * relate objects see the other charts too.
 */
export function evaluateChart(chart: Chart, inventory: Inventory, rules: readonly PolicyRule[]): Violation[] {
  const violations: Violation[] = [];
  for (const object of inventory.objects) {
    if (Chart.of(object.apiObject) !== chart) continue;
    violations.push(...malformedExemptions(object, rules));
    for (const rule of rules) {
      if (!rule.appliesTo(object) || isExempt(object, rule.id)) continue;
      for (const finding of rule.check(object, inventory)) {
        violations.push(new Violation(rule.id, object.ref, finding.message, finding.fix ?? lowerFirst(rule.fix), finding.part));
      }
    }
  }
  return violations;
}
