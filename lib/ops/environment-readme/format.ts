/** Number formatting of the README's tables: at most three decimals, no trailing zeros. */
export function decimal(value: number): string {
  const rounded = Math.round(value * 1000) / 1000;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

const GI = 2 ** 30;
const MI = 2 ** 20;

/** CPU cores: `0.25`, `2`. */
export const cores = (value: number): string => decimal(value);

/** Memory in GiB: `0.5`, `16`. */
export const gib = (bytes: number): string => decimal(bytes / GI);

/** A size as Kubernetes writes it where it is whole: `100Gi`, `512Mi`, else GiB with decimals. */
export function formatBytes(bytes: number): string {
  if (bytes % GI === 0) return `${bytes / GI}Gi`;
  if (bytes % MI === 0) return `${bytes / MI}Mi`;
  return `${decimal(bytes / GI)}Gi`;
}
