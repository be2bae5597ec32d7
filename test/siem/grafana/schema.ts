// The type deploy/prometheus/grafana-dashboard.json must satisfy (less its
// import header, __inputs): test/siem/grafana_test.go writes the dashboard
// as a TypeScript literal `satisfies PrometheusDashboard` and compiles it
// with tsc --strict, so an unknown key or a wrong value anywhere fails.
import type { AnnotationQuery, Dashboard, DataQuery, FieldConfig, FieldConfigSource, Panel } from '@grafana/schema';
import type { FieldConfig as TimeSeriesFieldConfig, Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

// Grafana's own types for the dashboard model, with the Prometheus data
// source's query (DataQuery is each data source's to extend) and the
// timeseries panel's options and field config in place of the generic ones.
type PromQuery = DataQuery & { expr: string; legendFormat?: string; interval?: string };
type TimeSeriesPanel = Omit<Panel, 'targets' | 'options' | 'fieldConfig'> & {
  type: 'timeseries';
  targets: PromQuery[];
  options: TimeSeriesOptions;
  fieldConfig: Omit<FieldConfigSource, 'defaults'> & { defaults: Omit<FieldConfig, 'custom'> & { custom: TimeSeriesFieldConfig } };
};
// JSON holds an enum's value, not the enum: each string enum becomes the
// union of its values, deeply.
type Json<T> = T extends string ? (string extends T ? string : `${T}`) : T extends (infer E)[] ? Json<E>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
type PrometheusDashboardModel = Omit<Dashboard, 'panels' | 'annotations'> & {
  panels: TimeSeriesPanel[];
  annotations: { list: Array<Omit<AnnotationQuery, 'target'> & { target: PromQuery }> };
};
export type PrometheusDashboard = Json<PrometheusDashboardModel>;
