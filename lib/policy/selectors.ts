import { LabelSelectorJson, StringMap } from './manifest';

/**
 * Whether a label selector (matchLabels and matchExpressions) selects `labels`. An empty selector
 * selects everything, a missing one nothing: the semantics of NetworkPolicy `podSelector` and
 * policy/v1 PodDisruptionBudget `selector`.
 */
export function selectorMatches(selector: LabelSelectorJson | undefined, labels: StringMap): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(labels, expression.key);
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (!present || !values.includes(labels[expression.key])) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[expression.key])) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        // The API server rejects other operators; selecting nothing is the safe reading.
        return false;
    }
  }
  return true;
}

/** Whether a Service-style selector (a plain map) selects `labels`. */
export function mapSelects(selector: StringMap, labels: StringMap): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** `a=1, b=2` for messages. */
export function showLabels(labels: StringMap): string {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(', ');
}
