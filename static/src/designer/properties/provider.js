// @ts-check
// Flowgate's groups in the bpmn-js properties panel (a properties provider: the panel's own
// extension point). Each group's entries edit the Flowgate moddle extension through modeling.
import { Group } from "@bpmn-io/properties-panel";
import { ConditionEntry, isConditionalFlow } from "./condition-entry.js";
import { MultiInstancePresetEntry, TimerPickerEntry, timerDefinition } from "./timer-entry.js";
import { CategoryEntry, processOf } from "./process-entry.js";
import { ApprovalEntry, PeopleEntry } from "./user-task-entry.js";
import {
  CalledProcessEntry,
  CollectionEntry,
  ConnectorEntry,
  CorrelationEntry,
  DecisionEntry,
  FormEntry,
  InputsEntry,
  OutputsEntry,
  hasForm,
  isBusinessRuleTask,
  isServiceLike,
  waitsForMessage,
} from "./binding-entries.js";

/** @param {FgElement} element @param {string} type */
const is = (element, type) => Boolean(element && element.businessObject && element.businessObject.$instanceOf(type));

/** @param {string} id @param {string} label @param {FgComponent} component @param {FgElement} element
 * @returns {FgGroup} */
function group(id, label, component, element) {
  return { id, label, shouldOpen: true, component: Group, entries: [{ id: `${id}-entry`, component, element }] };
}

/** @param {string} id @param {string} label @param {[string, FgComponent][]} entries
 * @param {FgElement} element @returns {FgGroup} */
function entryGroup(id, label, entries, element) {
  return {
    id, label, shouldOpen: true, component: Group,
    entries: entries.map(([entryId, component]) => ({ id: `${id}-${entryId}`, component, element })),
  };
}

/** @param {FgGroup[]} groups @param {FgGroup[]} added */
function insertAfterGeneral(groups, ...added) {
  const at = Math.min(1, groups.length);
  groups.splice(at, 0, ...added);
  return groups;
}

class FlowgatePropertiesProvider {
  /** @param {{ registerProvider(priority: number, provider: object): void }} propertiesPanel */
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  /** @param {FgElement} element */
  getGroups(element) {
    return (/** @type {FgGroup[]} */ groups) => {
      if (isConditionalFlow(element)) {
        // Our builder replaces the stock "Condition" group (a raw text field).
        const kept = groups.filter((/** @type {FgGroup} */ g) => g.id !== "condition");
        return insertAfterGeneral(kept, group("flowgate-condition", "Condition", ConditionEntry, element));
      }
      if (processOf(element)) {
        insertAfterGeneral(groups, group("flowgate-process", "Request catalog", CategoryEntry, element));
      }
      if (isServiceLike(element)) {
        insertAfterGeneral(
          groups,
          group("flowgate-connector", "Connector and retries", ConnectorEntry, element),
          group("flowgate-inputs", "Inputs", InputsEntry, element),
          group("flowgate-outputs", "Outputs", OutputsEntry, element),
        );
      }
      if (isBusinessRuleTask(element)) {
        insertAfterGeneral(groups, group("flowgate-decision", "Decision", DecisionEntry, element));
      }
      if (is(element, "bpmn:UserTask")) {
        insertAfterGeneral(
          groups,
          group("flowgate-people", "People and deadlines", PeopleEntry, element),
          group("flowgate-approval", "Approval", ApprovalEntry, element),
        );
      }
      if (hasForm(element)) {
        const at = groups.findIndex((/** @type {FgGroup} */ g) => g.id === "flowgate-approval");
        groups.splice(at >= 0 ? at + 1 : Math.min(1, groups.length), 0, group("flowgate-form", "Form", FormEntry, element));
      }
      if (is(element, "bpmn:CallActivity")) {
        insertAfterGeneral(groups, group("flowgate-call", "Called process", CalledProcessEntry, element));
      }
      if (waitsForMessage(element)) {
        // The stock "Message" group names the message; the correlation key joins it.
        const message = groups.find((/** @type {FgGroup} */ g) => g.id === "message");
        const entry = { id: "flowgate-correlation-key", component: CorrelationEntry, element };
        if (message) {
          message.shouldOpen = true;
          message.entries = [...message.entries, entry];
        }
        else insertAfterGeneral(groups, entryGroup("flowgate-message", "Message", [["key", CorrelationEntry]], element));
      }
      const error = groups.find((/** @type {FgGroup} */ g) => g.id === "error");
      if (error) error.shouldOpen = true; // the error code a connector's business error names
      const timer = groups.find((/** @type {FgGroup} */ g) => g.id === "timer");
      if (timer && timerDefinition(element)) {
        timer.shouldOpen = true;
        timer.entries = [...timer.entries, { id: "flowgate-timer-preview", component: TimerPickerEntry, element }];
      }
      const multi = groups.find((/** @type {FgGroup} */ g) => g.id === "multiInstance");
      if (multi && is(element, "bpmn:UserTask")) {
        multi.shouldOpen = true;
        multi.entries = [{ id: "flowgate-mi-presets", component: MultiInstancePresetEntry, element }, ...multi.entries];
      }
      if (multi) multi.entries = [...multi.entries, { id: "flowgate-mi-collection", component: CollectionEntry, element }];
      return groups;
    };
  }
}
FlowgatePropertiesProvider.$inject = ["propertiesPanel"];

export const FlowgatePropertiesProviderModule = {
  __init__: ["flowgatePropertiesProvider"],
  flowgatePropertiesProvider: ["type", FlowgatePropertiesProvider],
};
