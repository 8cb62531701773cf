import { ProblemCollector, Validator } from './validation';

/** Image reference: a repository and a pinned tag, kept apart so each is checked on its own. */
export interface ImageRef {
  /** e.g. `registry.example.com/logistics/api` */
  readonly repository: string;
  /** A semantic version, e.g. `1.4.2`. */
  readonly tag: string;
}

/** The reference a container's `image` takes: `<repository>:<tag>` (`registry.example.com/logistics/api:1.4.2`). */
export function imageName(image: ImageRef): string {
  return `${image.repository}:${image.tag}`;
}

/**
 * Checks an application image: a repository and a semantic-version tag (R18).
 * @throws ConfigError naming both fields when both are bad
 */
export function validateImage(v: Validator, field: string, image: ImageRef): void {
  if (!image) v.fail(field, 'an image { repository, tag }', image);
  const problems = new ProblemCollector();
  problems.check(() => v.imageRepository(`${field}.repository`, image.repository));
  problems.check(() => v.semverTag(`${field}.tag`, image.tag));
  problems.throwIfAny();
}
