// Flowgate's groups in the bpmn-js properties panel (a properties provider: the panel's own
// extension point). Each group's entries edit the Flowgate moddle extension through modeling.
import { Group } from "@bpmn-io/properties-panel";
import { ConditionEntry, isConditionalFlow } from "./condition-entry.js";

class FlowgatePropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return (groups) => {
      if (isConditionalFlow(element)) {
        // Our builder replaces the stock "Condition" group (a raw text field).
        const kept = groups.filter((g) => g.id !== "condition");
        const at = Math.min(1, kept.length);
        kept.splice(at, 0, {
          id: "flowgate-condition",
          label: "Condition",
          shouldOpen: true,
          component: Group,
          entries: [{ id: "flowgate-condition-builder", component: ConditionEntry, element }],
        });
        return kept;
      }
      return groups;
    };
  }
}
FlowgatePropertiesProvider.$inject = ["propertiesPanel"];

export const FlowgatePropertiesProviderModule = {
  __init__: ["flowgatePropertiesProvider"],
  flowgatePropertiesProvider: ["type", FlowgatePropertiesProvider],
};
