import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { evaluateChart } from './engine';
import { addExemption } from './exemption';
import { Inventory } from './inventory';
import { PolicyRule, Violation } from './rule';
import { POLICY_RULES, renderRulesTable } from './rules';

/** Charts and Apps already enforced, so that enforcing twice adds no second validation. */
const enforcedCharts = new WeakSet<Chart>();
const guardedApps = new WeakSet<IConstruct>();

/**
 * The platform's policies, checked on the synthesized objects of every chart when the App
 * synthesizes: `Policies.enforce(app)` before `app.synth()`. All violations of all charts are
 * reported together in the one error `App.synth()` throws. A deliberate exception is declared with
 * `Policies.exempt(construct, 'rule-id', 'reason')` and shows in dist/ as an annotation.
 */
export class Policies {
  /** Every rule, in report order. */
  public static readonly rules: readonly PolicyRule[] = POLICY_RULES;

  /**
   * Adds the policy check to every chart in `scope` (an App, or a Chart in tests) as a cdk8s
   * validation, which `App.synth()`, `Testing.synth()` and `Chart.toJson()` run. Calling it again is
   * harmless. Given an App, a chart created after the call is reported as unchecked at synth.
   */
  public static enforce(scope: IConstruct): void {
    const charts = chartsIn(scope);
    if (charts.length === 0) {
      throw new Error(`Policies.enforce(${scope.node.path || 'app'}) needs an App or a Chart, but it holds no Chart`);
    }
    for (const chart of charts) {
      if (enforcedCharts.has(chart)) continue;
      enforcedCharts.add(chart);
      // The whole App is the inventory, so rules relating objects see the other charts too.
      chart.node.addValidation({ validate: () => chartErrors(chart, Inventory.of(chart.node.root)) });
    }
    const isApp = scope.node.scope === undefined;
    if (isApp && !guardedApps.has(scope)) {
      guardedApps.add(scope);
      scope.node.addValidation({
        validate: () => {
          return chartsIn(scope).filter((c) => !enforcedCharts.has(c)).map((c) =>
            `Chart "${c.node.path}" was created after Policies.enforce(app), so its objects were not checked: call Policies.enforce(app) after building every chart`);
        },
      });
    }
  }

  /**
   * Exempts an object (or every object under a construct that the rule examines) from one rule,
   * recorded as the annotation `policy.ai-platform.io/exempt-<ruleId>: <reason>`.
   * @param scope an ApiObject, or a construct such as a Workload
   * @param ruleId one of {@link Policies.rules}
   * @param reason why the rule does not apply; required
   * @returns the annotated objects
   */
  public static exempt(scope: IConstruct, ruleId: string, reason: string): ApiObject[] {
    return addExemption(scope, ruleId, reason, POLICY_RULES);
  }

  /** The violations of every chart in `scope`, without synthesizing (for tests and tools). */
  public static check(scope: IConstruct): Violation[] {
    const inventory = Inventory.of(scope);
    return chartsIn(scope).flatMap((chart) => evaluateChart(chart, inventory, POLICY_RULES));
  }

  /** The rule with that id, or undefined. */
  public static rule(id: string): PolicyRule | undefined {
    return POLICY_RULES.find((r) => r.id === id);
  }

  /** The rules as the Markdown table of the README. */
  public static markdownTable(): string {
    return renderRulesTable(POLICY_RULES);
  }
}

function chartsIn(scope: IConstruct): Chart[] {
  return scope.node.findAll().filter((c): c is Chart => Chart.isChart(c));
}

/** What the chart's validation reports: a summary line, then one line per violation. */
function chartErrors(chart: Chart, inventory: Inventory): string[] {
  const violations = evaluateChart(chart, inventory, POLICY_RULES);
  if (violations.length === 0) return [];
  const count = `${violations.length} policy violation${violations.length === 1 ? '' : 's'}`;
  return [
    `${count} in chart "${chart.node.id}": fix each, or exempt the object with Policies.exempt(construct, '<rule-id>', '<reason>')`,
    ...violations.map((v) => v.toString()),
  ];
}
