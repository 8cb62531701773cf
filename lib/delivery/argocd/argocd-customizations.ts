import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/** The `argocd-cm` key of a health check of `argoproj.io/Application` (`resource.customizations.health.<group>_<kind>`). */
export const APPLICATION_HEALTH_KEY = 'resource.customizations.health.argoproj.io_Application';

/**
 * The health check of an `Application` that Argo CD removed in 1.8 (argo-cd #3781) and documents
 * for app-of-apps with sync waves (docs/operator-manual/health.md, "Argocd App"): the child's own
 * health, `Progressing` until it has one. Without it every child Application is Healthy as soon as
 * it exists, and the root's waves do not wait (argo-cd #4577, #6411).
 */
export const APPLICATION_HEALTH_LUA = `hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
`;

/** The `argocd-cmd-params-cm` key enabling Progressive Syncs (RollingSync) in the ApplicationSet controller. */
export const PROGRESSIVE_SYNCS_KEY = 'applicationsetcontroller.enable.progressive.syncs';

/** Props of {@link ArgoCdCustomizations}. */
export interface ArgoCdCustomizationsProps {
  /** Argo CD's namespace. */
  readonly namespace: string;
}

/**
 * One key each of two ConfigMaps Argo CD's installation owns: the Application health check in
 * `argocd-cm`, and Progressive Syncs in `argocd-cmd-params-cm`. Each ConfigMap here holds only its
 * key, for `kubectl apply --server-side`: the apply then owns that key alone and leaves every
 * other setting as it is (a client-side apply of a whole ConfigMap would replace them). The labels
 * are the installation's own (Argo CD reads only ConfigMaps labelled part-of argocd).
 * The ApplicationSet controller reads its parameters at start: restart it once after the first apply.
 */
export class ArgoCdCustomizations extends Construct {
  constructor(scope: Construct, id: string, props: ArgoCdCustomizationsProps) {
    super(scope, id);
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: {
        name: 'argocd-cm',
        namespace: props.namespace,
        labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
      },
      data: { [APPLICATION_HEALTH_KEY]: APPLICATION_HEALTH_LUA },
    });
    new k8s.KubeConfigMap(this, 'Parameters', {
      metadata: {
        name: 'argocd-cmd-params-cm',
        namespace: props.namespace,
        labels: { 'app.kubernetes.io/name': 'argocd-cmd-params-cm', 'app.kubernetes.io/part-of': 'argocd' },
      },
      data: { [PROGRESSIVE_SYNCS_KEY]: 'true' },
    });
  }
}
