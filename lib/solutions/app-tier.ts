import { Construct } from 'constructs';
import { ApiService } from '../api-service';
import { AppConfig } from '../app-config';
import { AppTierSettings, WebSettings } from '../config/app-tier-settings';
import { AppIngress } from '../ingress';
import { ModelService } from '../model-service';
import { BusinessMonitoring } from '../observability/business-metrics';
import { EnvironmentDashboards } from '../observability/dashboards/environment-dashboards';
import { EnvironmentAlerts } from '../observability/rules/environment-alerts';
import { StatelessService } from '../stateless-service';
import { Validator } from '../validation';
import { WebTier } from '../web-tier';
import { ServiceEndpoint, Workload } from '../workload';

/**
 * A store the API uses. Each endpoint becomes `<PREFIX>_HOST` and `<PREFIX>_PORT` settings and a
 * connection the API's NetworkPolicy allows, so the configuration and the policy cannot disagree.
 */
export interface StoreBinding {
  /** Setting prefix -> endpoint: `{ DB: mysql.writeEndpoint }` gives `DB_HOST` and `DB_PORT`. */
  readonly endpoints: Record<string, ServiceEndpoint>;
  /**
   * Other settings the application needs for this store (`DB_NAME`).
   * @default - none
   */
  readonly settings?: Record<string, string>;
}

/** Props of {@link AppTier}: an environment's settings and the stores the API connects to. */
export interface AppTierProps {
  /**
   * The environment's settings; the tier reads `application`, `api`, `models` (at least one),
   * `ingress` and `web`.
   */
  readonly settings: AppTierSettings & {
    /**
     * The web tier (R7), reaching the API; the Ingress routes to it where there is one.
     * @default - no web tier: the Ingress routes to the API
     */
    readonly web?: WebSettings;
  };
  /** The environment name, given to the application as `APP_ENV`. */
  readonly environment: string;
  /** Stores the API connects to. */
  readonly stores: StoreBinding[];
  /**
   * The solution's business metrics and alerts (declared in its solution file).
   * @default - no business alerts
   */
  readonly business?: BusinessMonitoring;
}

/**
 * The application tier of one environment: model services, the application configuration, the
 * API wired to every store and model, the optional web tier, the Ingress, and the environment's
 * alerts (one PrometheusRule `<namespace>-alerts`). Build the stores first: the alerts watch every
 * workload scraped in the environment when the tier is made.
 */
export class AppTier extends Construct {
  /**
   * The application's configuration: ConfigMaps `app-config-env` (APP_ENV, store hosts and ports,
   * model URLs) and `app-config-properties` (app.properties).
   */
  public readonly config: AppConfig;
  /** The API service (R5); its NetworkPolicy lets it reach every store and model service. */
  public readonly api: ApiService;
  /** One model-serving service (R6) per key of `settings.models`, sorted by name. */
  public readonly models: ModelService[];
  /** The web tier (R7); undefined without `settings.web`. */
  public readonly web?: WebTier;
  /** The Ingress (R8) to the web tier, or to the API without one; undefined without `settings.ingress`. */
  public readonly ingress?: AppIngress;
  /** The environment's alerts: PrometheusRule `<namespace>-alerts` (scraped workloads, HTTP services, business). */
  public readonly alerts: EnvironmentAlerts;

  constructor(scope: Construct, id: string, props: AppTierProps) {
    super(scope, id);
    const settings = props.settings;
    const v = Validator.of(this, '');
    v.semverTag('application.version', settings.application.version);
    v.nonEmpty('application.displayName', settings.application.displayName);
    if (Object.keys(settings.models).length === 0) v.fail('models', 'at least one model service', settings.models);

    this.models = Object.keys(settings.models).sort().map((model) => new ModelService(this, `models.${model}`, {
      name: model,
      model,
      ...settings.models[model],
    }));

    const modelSettings = Object.fromEntries(this.models.map((m) => [
      `MODEL_${m.model.toUpperCase().replace(/-/g, '_')}_URL`, `http://${m.endpoint.host}:${m.endpoint.port}`,
    ]));
    const storeSettings: Record<string, string> = {};
    for (const store of props.stores) {
      for (const [prefix, endpoint] of Object.entries(store.endpoints)) {
        storeSettings[`${prefix}_HOST`] = endpoint.host;
        storeSettings[`${prefix}_PORT`] = String(endpoint.port);
      }
      Object.assign(storeSettings, store.settings);
    }

    this.config = new AppConfig(this, 'application', {
      name: 'app-config',
      settings: {
        APP_ENV: props.environment,
        APP_VERSION: settings.application.version,
        APP_PROPERTIES_FILE: '/etc/app/app.properties',
        LOG_FORMAT: 'json',
        ...storeSettings,
        ...modelSettings,
      },
      properties: {
        'app.name': settings.application.displayName,
        'app.version': settings.application.version,
        'app.environment': props.environment,
        ...settings.application.properties,
      },
      featureFlags: settings.application.featureFlags,
      release: settings.application.release,
    });

    const { secretEnv, servicePort, ...apiService } = settings.api;
    this.api = new ApiService(this, 'api', { ...apiService, config: this.config, secretEnv, servicePort });
    for (const store of props.stores) Object.values(store.endpoints).forEach((endpoint) => this.api.connectTo(endpoint));
    for (const model of this.models) this.api.connectTo(model.endpoint);

    if (settings.web) this.web = new WebTier(this, 'web', { ...settings.web, api: this.api.endpoint });

    if (settings.ingress) {
      this.ingress = new AppIngress(this, 'ingress', {
        ...settings.ingress,
        backend: (this.web ?? this.api).endpoint,
      });
    }

    const services: StatelessService[] = [this.api, ...this.models, ...(this.web ? [this.web] : [])];
    this.alerts = new EnvironmentAlerts(this, 'alerts', {
      scrapedJobs: this.node.root.node.findAll()
        .filter((c): c is Workload => c instanceof Workload && c.metricsEndpoints.length > 0)
        .map((w) => w.name),
      httpServices: services.filter((s) => s.appMetrics).map((s) => ({ job: s.name, defaultLatencyP95Seconds: s.appMetrics!.latencyP95Seconds })),
      apiJob: this.api.name,
      business: props.business,
    });
    new EnvironmentDashboards(this, 'dashboards', { alerts: this.alerts });
  }
}
