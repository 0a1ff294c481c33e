// The diagram's objects as the properties entries read them (type checking only).
export {};

declare global {
  /** A bpmn-js moddle element (business object): attributes by name, children as arrays. */
  interface FgModdle {
    id?: string;
    name?: string;
    $type?: string;
    $instanceOf(type: string): boolean;
    get(name: string): any;
    [attribute: string]: any;
  }

  /** A diagram element (shape or connection) the panel shows. */
  interface FgElement {
    id: string;
    type: string;
    businessObject: FgModdle;
    [attribute: string]: any;
  }

  /** One input a connector declares (the registry's schema, embedded in the designer page). */
  interface FgConnectorParam {
    name: string;
    required?: boolean;
    description?: string;
    type?: string;
    example?: string;
    choices?: string[];
  }

  /** A registered connector as the designer page lists it. */
  interface FgConnector {
    name: string;
    label: string;
    inputs?: FgConnectorParam[];
    [attribute: string]: any;
  }

  /** A properties-panel component (a preact function component of our entries). */
  type FgComponent = (props: { element: FgElement; [prop: string]: any }) => any;

  /** One entry of a panel group. */
  interface FgEntry {
    id: string;
    component: FgComponent;
    element: FgElement;
  }

  /** A group of the properties panel (ours and the stock ones the provider rearranges). */
  interface FgGroup {
    id: string;
    label: string;
    shouldOpen?: boolean;
    component: unknown;
    entries: FgEntry[];
  }
}
