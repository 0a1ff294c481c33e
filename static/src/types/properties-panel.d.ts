// The parts of bpmn-js-properties-panel and @bpmn-io/properties-panel our properties entries use
// (neither package ships types). Type checking only: `npm run check` (tsc) reads this file.

declare module "bpmn-js-properties-panel" {
  /** bpmn-js `modeling`: every edit goes through it (undoable, one command each). */
  export interface Modeling {
    updateProperties(element: object, properties: Record<string, unknown>): void;
    updateModdleProperties(
      element: object,
      moddleElement: object,
      properties: Record<string, unknown>,
    ): void;
  }

  /** bpmn-js `bpmnFactory`: new moddle elements of a type, with their attributes. */
  export interface BpmnFactory {
    create(type: string, attrs?: Record<string, unknown>): FgModdle;
  }

  /** diagram-js `elementRegistry`: the diagram's shapes and connections. */
  export interface ElementRegistry {
    getAll(): any[];
    get(id: string): any;
    filter(fn: (element: any) => boolean): any[];
  }

  /** diagram-js `commandStack`: one undoable step made of several edits. */
  export interface CommandStack {
    execute(command: string, context: unknown): void;
  }

  /** The designer's own configuration (designer/index.js): loads the form builder on demand. */
  export interface FlowgateConfig {
    loadFormEditor?: () => Promise<{ open(options: object): Promise<unknown> }>;
  }

  export interface Services {
    modeling: Modeling;
    bpmnFactory: BpmnFactory;
    elementRegistry: ElementRegistry;
    commandStack: CommandStack;
    "config.flowgate": FlowgateConfig | undefined;
  }

  /** The diagram's service of that name, inside a properties-panel component. */
  export function useService<K extends keyof Services>(name: K, strict?: boolean): Services[K];
}

declare module "@bpmn-io/properties-panel" {
  /** The panel's collapsible group of entries (a preact component). */
  export const Group: import("@bpmn-io/properties-panel/preact").FunctionComponent<any>;
}
