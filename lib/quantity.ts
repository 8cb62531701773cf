/**
 * Kubernetes resource quantities as numbers (CPU in cores, memory and storage in bytes), so that
 * requests can be compared with limits and capacity can be added up.
 */
// Decimal suffixes as powers of ten, applied through the number's exponent so `700m` is exactly 0.7.
const DECIMAL_EXPONENTS: Record<string, number> = { '': 0, 'm': -3, 'k': 3, 'M': 6, 'G': 9, 'T': 12, 'P': 15, 'E': 18 };
const BINARY_FACTORS: Record<string, number> = {
  'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50, 'Ei': 2 ** 60,
};

const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** `500m` -> 0.5, `2Gi` -> 2147483648; NaN for anything that is not a quantity. */
export function parseQuantity(value: string): number {
  const match = QUANTITY.exec(value);
  if (!match) return Number.NaN;
  const suffix = match[2] ?? '';
  if (suffix in BINARY_FACTORS) return Number(match[1]) * BINARY_FACTORS[suffix];
  return Number(`${match[1]}e${DECIMAL_EXPONENTS[suffix]}`);
}
