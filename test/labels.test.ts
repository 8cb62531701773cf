/** The six recommended labels and the selector labels derived from them (lib/labels.ts). */
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import {
  LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PART_OF, LABEL_VERSION, StandardLabels,
} from '../lib/labels';
import { ENVIRONMENT_CONTEXT_KEY, SOLUTION_CONTEXT_KEY, VERSION_CONTEXT_KEY } from '../lib/validation';

/** What Kubernetes accepts as a label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A chart inside an App that says which solution, environment and release it is. */
function environmentChart(context: Record<string, string>): Chart {
  const app = Testing.app();
  for (const [key, value] of Object.entries(context)) app.node.setContext(key, value);
  return new Chart(app, 'chart');
}

describe('StandardLabels', () => {
  test('sets exactly the six recommended labels', () => {
    const labels = new StandardLabels(Testing.chart(), { name: 'api', component: 'api', version: '1.2.3' });
    expect(labels.labels).toEqual({
      [LABEL_NAME]: 'api',
      [LABEL_INSTANCE]: 'app',
      [LABEL_VERSION]: '1.2.3',
      [LABEL_COMPONENT]: 'api',
      [LABEL_PART_OF]: 'app',
      [LABEL_MANAGED_BY]: 'cdk8s',
    });
    expect(Object.keys(labels.labels).sort()).toEqual([
      'app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by',
      'app.kubernetes.io/name', 'app.kubernetes.io/part-of', 'app.kubernetes.io/version',
    ]);
  });

  test('selector labels are name and instance only, so a version or tier change never touches a selector', () => {
    const chart = Testing.chart();
    const v1 = new StandardLabels(chart, { name: 'api', component: 'api', version: '1.0.0' });
    const v2 = new StandardLabels(chart, { name: 'api', component: 'backend', version: '2.0.0' });
    expect(v1.selectorLabels).toEqual({ [LABEL_NAME]: 'api', [LABEL_INSTANCE]: 'app' });
    expect(v2.selectorLabels).toEqual(v1.selectorLabels);
    expect(v2.labels).not.toEqual(v1.labels);
  });

  test('selector labels are a subset of the labels', () => {
    const labels = new StandardLabels(Testing.chart(), { name: 'mysql-primary', component: 'database', version: '8.0.39' });
    for (const [key, value] of Object.entries(labels.selectorLabels)) expect(labels.labels[key]).toBe(value);
  });

  test('instance and part-of come from the solution and environment of the App', () => {
    const chart = environmentChart({ [SOLUTION_CONTEXT_KEY]: 'logistics', [ENVIRONMENT_CONTEXT_KEY]: 'prod' });
    const labels = new StandardLabels(new Construct(chart, 'api'), { name: 'api', component: 'api', version: '1.0.0' });
    expect(labels.labels[LABEL_INSTANCE]).toBe('logistics-prod');
    expect(labels.labels[LABEL_PART_OF]).toBe('logistics');
    expect(labels.selectorLabels).toEqual({ [LABEL_NAME]: 'api', [LABEL_INSTANCE]: 'logistics-prod' });
  });

  test('a solution without an environment is its own instance', () => {
    const chart = environmentChart({ [SOLUTION_CONTEXT_KEY]: 'real-estate' });
    const labels = new StandardLabels(chart, { name: 'api', component: 'api', version: '1.0.0' });
    expect(labels.labels[LABEL_INSTANCE]).toBe('real-estate');
  });

  test('the version defaults to the release version of the environment, else "unversioned"', () => {
    const released = environmentChart({ [SOLUTION_CONTEXT_KEY]: 'logistics', [ENVIRONMENT_CONTEXT_KEY]: 'dev', [VERSION_CONTEXT_KEY]: '1.4.2' });
    expect(new StandardLabels(released, { name: 'app-config', component: 'config' }).labels[LABEL_VERSION]).toBe('1.4.2');
    expect(new StandardLabels(Testing.chart(), { name: 'app-config', component: 'config' }).labels[LABEL_VERSION]).toBe('unversioned');
  });

  test('an explicit version wins over the release version', () => {
    const chart = environmentChart({ [VERSION_CONTEXT_KEY]: '1.4.2' });
    expect(new StandardLabels(chart, { name: 'mysql', component: 'database', version: '8.0.39' }).labels[LABEL_VERSION]).toBe('8.0.39');
  });

  test.each([
    ['1.0.0+build.5', '1.0.0_build.5'],
    ['v2.3.4', 'v2.3.4'],
    ['1.0.0-rc.1', '1.0.0-rc.1'],
    ['1.0.0+sha.0a1b2c', '1.0.0_sha.0a1b2c'],
  ])('the version %s becomes the label value %s', (version, expected) => {
    const value = new StandardLabels(Testing.chart(), { name: 'api', component: 'api', version }).labels[LABEL_VERSION];
    expect(value).toBe(expected);
    expect(value).toMatch(LABEL_VALUE);
  });

  test('a version longer than 63 characters is cut to a valid label value', () => {
    // Character 63 is a '-': cutting there would leave a value that ends in '-', which Kubernetes refuses.
    const version = `1.0.0-${'a'.repeat(56)}-${'b'.repeat(20)}`;
    const value = new StandardLabels(Testing.chart(), { name: 'api', component: 'api', version }).labels[LABEL_VERSION];
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(LABEL_VALUE);
    expect(value).toBe(`1.0.0-${'a'.repeat(56)}`);
  });
});
