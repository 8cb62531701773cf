import { allContainers, containerLabel, isPodOwner, podTemplateOf } from './pod-template';
import { Finding, PolicyRule } from './rule';

/** Tags that move to a new image over time: a re-pull or a new node silently runs other code. */
const MOVING_TAGS = ['latest', 'stable', 'edge', 'nightly', 'main', 'master', 'dev'];

/** The tag of an image reference, or undefined (`registry:5000/team/app` has none: the colon is the port's). */
export function imageTag(image: string): string | undefined {
  const name = image.split('@')[0];
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

/** Whether the reference names a digest (`app@sha256:...`), which pins the image exactly. */
export function hasDigest(image: string): boolean {
  return /@[a-z0-9]+([+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/.test(image);
}

/**
 * An image without a tag is `latest`, and `latest` is whatever was pushed last: the same manifest
 * would deploy different code on every node (kube-linter `latest-tag`, Polaris `tagNotSpecified`; R18).
 */
export const imagePinned: PolicyRule = {
  id: 'image-pinned',
  description: 'Every container image names a release tag (not latest or another moving tag) or a digest.',
  fix: 'Use an image with a release tag such as mysql:8.0.39 or 1.4.2, or a digest (@sha256:...).',
  appliesTo: isPodOwner,
  check(object) {
    const template = podTemplateOf(object);
    if (!template) return [];
    const findings: Finding[] = [];
    for (const ref of allContainers(template.spec)) {
      const image = ref.container.image;
      const part = containerLabel(ref);
      if (!image) {
        findings.push({ part, message: 'has no image' });
        continue;
      }
      if (hasDigest(image)) continue;
      const tag = imageTag(image);
      if (tag === undefined) {
        findings.push({ part, message: `uses image "${image}" without a tag, which means latest` });
      } else if (MOVING_TAGS.includes(tag.toLowerCase())) {
        findings.push({ part, message: `uses image "${image}" whose tag "${tag}" moves to new releases` });
      }
    }
    return findings;
  },
};
