import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/** Rendered objects of Apps that are synthesizing now (see {@link withRenderCache}). */
const caches = new WeakMap<IConstruct, Map<ApiObject, unknown>>();

/**
 * `object.toJson()`, computed once per synth when its App synthesizes inside
 * {@link withRenderCache}: the policy check and the YAML writer then share one rendering, which is
 * most of synth's work. Outside a synth it renders every time (objects may still change).
 */
export function renderOnce(object: ApiObject): any {
  const cache = caches.get(object.node.root);
  if (!cache) return object.toJson();
  if (!cache.has(object)) cache.set(object, object.toJson());
  return cache.get(object);
}

/** Runs `synth` with a render cache for the App `root`; the cache is dropped when it returns. */
export function withRenderCache<T>(root: IConstruct, synth: () => T): T {
  caches.set(root, new Map());
  try {
    return synth();
  } finally {
    caches.delete(root);
  }
}
