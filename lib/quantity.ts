/**
 * Kubernetes resource quantities as numbers (CPU in cores, memory and storage in bytes), so that
 * requests can be compared with limits and capacity can be added up.
 */
const SUFFIX_FACTORS: Record<string, number> = {
  '': 1,
  'm': 1e-3,
  'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15, 'E': 1e18,
  'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50, 'Ei': 2 ** 60,
};

const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** `500m` -> 0.5, `2Gi` -> 2147483648; NaN for anything that is not a quantity. */
export function parseQuantity(value: string): number {
  const match = QUANTITY.exec(value);
  if (!match) return Number.NaN;
  return Number(match[1]) * SUFFIX_FACTORS[match[2] ?? ''];
}
