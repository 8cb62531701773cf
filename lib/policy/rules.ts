import { hpaTargetExists } from './hpa-target-exists';
import { imagePinned } from './image-pinned';
import { networkPolicyPresent } from './network-policy-present';
import { noHostAccess } from './no-host-access';
import { podSecurityRestricted, readOnlyRootFs } from './pod-security';
import { probesSet } from './probes-set';
import { prodHa } from './prod-ha';
import { resourcesSet } from './resources-set';
import { PolicyRule } from './rule';
import { saTokenNotMounted } from './sa-token-not-mounted';
import { noCredentialLiterals, noSecretData } from './secrets';
import { serviceSelectsPods } from './service-selects-pods';

/** Every rule, in the order violations and the README table list them. */
export const POLICY_RULES: readonly PolicyRule[] = [
  resourcesSet,
  probesSet,
  imagePinned,
  podSecurityRestricted,
  readOnlyRootFs,
  noHostAccess,
  prodHa,
  serviceSelectsPods,
  hpaTargetExists,
  noSecretData,
  noCredentialLiterals,
  saTokenNotMounted,
  networkPolicyPresent,
];

/** The rules as a Markdown table (id, what it checks, fix), for the README. */
export function renderRulesTable(rules: readonly PolicyRule[] = POLICY_RULES): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
  return [
    '| Rule | What it checks | Fix |',
    '| --- | --- | --- |',
    ...rules.map((r) => `| \`${r.id}\` | ${cell(r.description)} | ${cell(r.fix)} |`),
  ].join('\n') + '\n';
}
