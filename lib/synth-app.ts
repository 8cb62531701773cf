import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ApiObject, App, Chart, DependencyGraph } from 'cdk8s';
import { RESTORE_FOLDER, RestoreChart } from './backup/restore-chart';
import { manifestYamlDocuments } from './manifest-yaml';
import { PolicyViolationError } from './policy/policy-violation-error';
import { renderOnce, withRenderCache } from './render-cache';

/** What one app's synth wrote. */
export interface SynthResult {
  /** The folder written: `<outdir>/<solution>/<environment>` or `<outdir>/platform/<part>`. */
  readonly outdir: string;
  /** YAML files written. */
  readonly files: number;
  /** Kubernetes objects in them. */
  readonly objects: number;
  /**
   * The rendered objects of the files directly in `outdir`, in file order: what `kubectl apply -f
   * <outdir>` and an Argo CD directory source read (not `restore/`); for a result that combines
   * several apps (Argo CD's), those of each app's folder.
   */
  readonly applied: readonly Record<string, any>[];
}

/**
 * A chart's file: `<NNNN>-<chart>.k8s.yaml` numbered in dependency order, or for a restore chart
 * `restore/<chart>.k8s.yaml`, a folder `kubectl apply -f <outdir>` does not read.
 */
function chartFile(outdir: string, chart: Chart, nextIndex: () => number): string {
  if (RestoreChart.isRestoreChart(chart)) {
    mkdirSync(join(outdir, RESTORE_FOLDER), { recursive: true });
    return join(outdir, RESTORE_FOLDER, `${chart.node.id}.k8s.yaml`);
  }
  return join(outdir, `${String(nextIndex()).padStart(4, '0')}-${chart.node.id}.k8s.yaml`);
}

/**
 * Writes what cdk8s' FILE_PER_CHART output writes (`0000-<chart>.k8s.yaml`, charts in dependency
 * order, objects in construct-dependency order), but validates the App once (cdk8s' own synth
 * runs every validation, the policy engine's included, again for each chart), renders each object
 * once (shared by the policy check and the writer), and writes it with the manifest YAML writer.
 * The environments' apps and the platform's both synthesize through here. `extraFiles` derives
 * further files from the rendered objects (an environment's README.md), written beside them.
 * @throws PolicyViolationError when a policy rule or another validation fails; nothing is written
 */
export function synthesizeApp(app: App, extraFiles?: (objects: readonly Record<string, any>[]) => Readonly<Record<string, string>>): SynthResult {
  return withRenderCache(app, () => {
    const errors = app.node.findAll().flatMap((c) => c.node.validate().map((e) => `[${c.node.path}] ${e}`));
    if (errors.length > 0) throw new PolicyViolationError(errors);
    mkdirSync(app.outdir, { recursive: true });
    let objectCount = 0;
    let index = 0;
    const all: Record<string, any>[] = [];
    const applied: Record<string, any>[] = [];
    for (const chart of app.charts) {
      const objects = new DependencyGraph(chart.node).topology()
        .filter((c): c is ApiObject => ApiObject.isApiObject(c) && Chart.of(c) === chart)
        .map(renderOnce);
      objectCount += objects.length;
      all.push(...objects);
      if (!RestoreChart.isRestoreChart(chart)) applied.push(...objects);
      writeFileSync(chartFile(app.outdir, chart, () => index++), manifestYamlDocuments(objects));
    }
    // Files derived from the whole rendered app (an environment's README), beside the manifests.
    const extra = extraFiles ? extraFiles(all) : {};
    for (const [name, text] of Object.entries(extra)) writeFileSync(join(app.outdir, name), text);
    return { outdir: app.outdir, files: app.charts.length + Object.keys(extra).length, objects: objectCount, applied };
  });
}
