/** The autoscaling/v2 HorizontalPodAutoscaler of stateless tiers (R9, lib/autoscaler.ts). */
import { Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { Autoscaler, AutoscalingOptions } from '../lib/autoscaler';

type K8sObject = Record<string, any>;

const LABELS = { 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/instance': 'app' };

function build(options: Partial<AutoscalingOptions> = {}) {
  const chart = Testing.chart();
  // Inside a construct named `api`, as StatelessService places it, so errors read `api.autoscaling.<field>`.
  const autoscaler = new Autoscaler(new Construct(chart, 'api'), 'Autoscaler', {
    name: 'api',
    labels: LABELS,
    target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
    minReplicas: 3,
    maxReplicas: 10,
    ...options,
  });
  const objects = Testing.synth(chart);
  expect(objects).toHaveLength(1);
  return { autoscaler, hpa: objects[0] as K8sObject };
}

const cpu = (percent: number) => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: percent } } });
const memory = (percent: number) => ({ type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: percent } } });

describe('Autoscaler', () => {
  test('is an autoscaling/v2 HorizontalPodAutoscaler with the given name and labels', () => {
    const { hpa } = build();
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.kind).toBe('HorizontalPodAutoscaler');
    expect(hpa.metadata).toEqual({ name: 'api', labels: LABELS });
  });

  test('scales the target between min and max', () => {
    const { autoscaler, hpa } = build({ minReplicas: 2, maxReplicas: 6 });
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(6);
    expect(autoscaler.minReplicas).toBe(2);
    expect(autoscaler.maxReplicas).toBe(6);
  });

  test('min may equal max (a fixed size the HPA owns)', () => {
    expect(build({ minReplicas: 3, maxReplicas: 3 }).hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 3 });
  });

  test('keeps CPU at 70% of requests by default, CPU only', () => {
    expect(build().hpa.spec.metrics).toEqual([cpu(70)]);
  });

  test('keeps CPU at the given target', () => {
    expect(build({ targetCpuUtilizationPercent: 50 }).hpa.spec.metrics).toEqual([cpu(50)]);
  });

  test('adds a memory metric only when a memory target is set', () => {
    expect(build({ targetMemoryUtilizationPercent: 80 }).hpa.spec.metrics).toEqual([cpu(70), memory(80)]);
    expect(build({ targetMemoryUtilizationPercent: undefined }).hpa.spec.metrics).toEqual([cpu(70)]);
  });

  test('scales up at once (double or 4 pods a minute, whichever is more) and down slowly (5 min, half a minute)', () => {
    expect(build().hpa.spec.behavior).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Percent', value: 100, periodSeconds: 60 },
          { type: 'Pods', value: 4, periodSeconds: 60 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Min',
        policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
      },
    });
  });

  test('scales other kinds of targets (a Rollout) by reference', () => {
    const chart = Testing.chart();
    new Autoscaler(chart, 'Autoscaler', {
      name: 'api', labels: LABELS, minReplicas: 2, maxReplicas: 4,
      target: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'api' },
    });
    expect(Testing.synth(chart)[0].spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'api' });
  });

  test.each<[string, Partial<AutoscalingOptions>, RegExp]>([
    ['min 0', { minReplicas: 0 }, /^test: api\.autoscaling\.minReplicas must be an integer between 1 and 1000 but 0 was provided$/],
    ['min 1.5', { minReplicas: 1.5 }, /^test: api\.autoscaling\.minReplicas must be an integer between 1 and 1000 but 1\.5 was provided$/],
    ['max 0', { minReplicas: 1, maxReplicas: 0 }, /^test: api\.autoscaling\.maxReplicas must be an integer between 1 and 1000 but 0 was provided$/],
    ['max 1001', { maxReplicas: 1001 }, /^test: api\.autoscaling\.maxReplicas must be an integer between 1 and 1000 but 1001 was provided$/],
    ['max < min', { minReplicas: 5, maxReplicas: 3 }, /^test: api\.autoscaling\.maxReplicas must be at least minReplicas \(5\) but 3 was provided$/],
    ['CPU target 0', { targetCpuUtilizationPercent: 0 },
      /^test: api\.autoscaling\.targetCpuUtilizationPercent must be an integer between 1 and 100 but 0 was provided$/],
    ['CPU target 101', { targetCpuUtilizationPercent: 101 },
      /^test: api\.autoscaling\.targetCpuUtilizationPercent must be an integer between 1 and 100 but 101 was provided$/],
    ['memory target 0', { targetMemoryUtilizationPercent: 0 },
      /^test: api\.autoscaling\.targetMemoryUtilizationPercent must be an integer between 1 and 100 but 0 was provided$/],
    ['memory target 101', { targetMemoryUtilizationPercent: 101 },
      /^test: api\.autoscaling\.targetMemoryUtilizationPercent must be an integer between 1 and 100 but 101 was provided$/],
  ])('refuses %s', (_what, options, message) => {
    expect(() => build(options)).toThrow(message);
  });
});
