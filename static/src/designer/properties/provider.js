// Flowgate's groups in the bpmn-js properties panel (a properties provider: the panel's own
// extension point). Each group's entries edit the Flowgate moddle extension through modeling.
import { Group } from "@bpmn-io/properties-panel";
import { ConditionEntry, isConditionalFlow } from "./condition-entry.js";
import { MultiInstancePresetEntry, TimerPreviewEntry, timerDefinition } from "./timer-entry.js";
import { ApprovalEntry, PeopleEntry } from "./user-task-entry.js";

const is = (element, type) => Boolean(element && element.businessObject && element.businessObject.$instanceOf(type));

function group(id, label, component, element) {
  return { id, label, shouldOpen: true, component: Group, entries: [{ id: `${id}-entry`, component, element }] };
}

function insertAfterGeneral(groups, ...added) {
  const at = Math.min(1, groups.length);
  groups.splice(at, 0, ...added);
  return groups;
}

class FlowgatePropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return (groups) => {
      if (isConditionalFlow(element)) {
        // Our builder replaces the stock "Condition" group (a raw text field).
        const kept = groups.filter((g) => g.id !== "condition");
        return insertAfterGeneral(kept, group("flowgate-condition", "Condition", ConditionEntry, element));
      }
      if (is(element, "bpmn:UserTask")) {
        insertAfterGeneral(
          groups,
          group("flowgate-people", "People and deadlines", PeopleEntry, element),
          group("flowgate-approval", "Approval", ApprovalEntry, element),
        );
      }
      const timer = groups.find((g) => g.id === "timer");
      if (timer && timerDefinition(element)) {
        timer.shouldOpen = true;
        timer.entries = [...timer.entries, { id: "flowgate-timer-preview", component: TimerPreviewEntry, element }];
      }
      const multi = groups.find((g) => g.id === "multiInstance");
      if (multi && is(element, "bpmn:UserTask")) {
        multi.shouldOpen = true;
        multi.entries = [{ id: "flowgate-mi-presets", component: MultiInstancePresetEntry, element }, ...multi.entries];
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
