// @ts-check
// Sequence-flow labels beside their flow, not over a task. bpmn-js wraps an external label at
// 90px and leaves it where the flow's first label went, so a long name grows into the
// neighbouring shapes and across the flow's own line. After every label change on a sequence
// flow (typed on the canvas, in the properties panel or by the condition builder) this moves a
// label that covers a shape, another label or a flow's line, in the same undoable command, to
// the first spot beside one of the flow's segments that is clear (else one that at least
// covers no shape). A label already clear of everything stays where the designer put it.
import CommandInterceptor from "diagram-js/lib/command/CommandInterceptor";

/** @typedef {{ x: number, y: number }} Point */
/** @typedef {{ x: number, y: number, width: number, height: number }} Box */
/** A diagram element as diagram-js gives it (only what this module reads).
 * @typedef {{
 *   type: string, x: number, y: number, width: number, height: number, parent?: unknown,
 *   waypoints?: Point[], label?: Shape, labelTarget?: Shape,
 *   businessObject?: { di?: { isExpanded?: boolean } },
 * }} Shape */

const OFFSETS = [6, 26, 46, 66];
const AT = [0.5, 0.3, 0.7, 0.15, 0.85];

/** @param {Shape | undefined} element */
const isFlow = (element) => Boolean(element && element.type === "bpmn:SequenceFlow" && element.waypoints);
/** @param {Shape} element */
const isContainer = (element) =>
  ["bpmn:Participant", "bpmn:Lane", "bpmn:Group", "bpmn:Process", "bpmn:Collaboration"].includes(element.type) ||
  Boolean(element.businessObject && element.businessObject.di && element.businessObject.di.isExpanded);

const MARGIN = 4;

/** @param {Box} a @param {Box} b */
function overlaps(a, b, margin = 0) {
  return a.x < b.x + b.width + margin && b.x - margin < a.x + a.width
    && a.y < b.y + b.height + margin && b.y - margin < a.y + a.height;
}

/** Whether a line segment crosses a box (sampled every 3px: flows are short and few).
 * @param {Box} box @param {Point} a @param {Point} b */
function crosses(box, a, b) {
  const steps = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 3));
  for (let i = 0; i <= steps; i += 1) {
    const x = a.x + ((b.x - a.x) * i) / steps;
    const y = a.y + ((b.y - a.y) * i) / steps;
    if (x > box.x && x < box.x + box.width && y > box.y && y < box.y + box.height) return true;
  }
  return false;
}

/** What a flow label must keep clear of: shapes and other labels (with a small margin) and
 * the lines of all flows, its own included.
 * @param {{ filter: (fn: (element: Shape) => unknown) => Shape[] }} elementRegistry
 * @param {Shape} label */
function blockers(elementRegistry, label) {
  const shapes = elementRegistry.filter(
    (e) => e !== label && !e.waypoints && e.parent && e.width && e.height && !isContainer(e),
  );
  /** @type {[Point, Point][]} */
  const lines = elementRegistry.filter((e) => e.waypoints).flatMap((e) => {
    const points = /** @type {Point[]} */ (e.waypoints);
    return points.slice(1).map((b, i) => /** @type {[Point, Point]} */ ([points[i], b]));
  });
  return {
    shapes: (/** @type {Box} */ box) => !shapes.some((shape) => overlaps(box, shape, MARGIN)),
    all: (/** @type {Box} */ box) => !shapes.some((shape) => overlaps(box, shape, MARGIN)) && !lines.some(([a, b]) => crosses(box, a, b)),
  };
}

/** Places beside the flow's segments, longest segment first, each at a few points along it.
 * @param {Point[]} waypoints @param {number} width @param {number} height @returns {Box[]} */
export function candidates(waypoints, width, height) {
  /** @type {{ a: Point, b: Point, length: number }[]} */
  const segments = [];
  for (let i = 1; i < waypoints.length; i += 1) {
    const [a, b] = [waypoints[i - 1], waypoints[i]];
    segments.push({ a, b, length: Math.hypot(b.x - a.x, b.y - a.y) });
  }
  segments.sort((s, t) => t.length - s.length);
  /** @type {Point[]} */
  const spots = [];
  // right beside a line first (longest segment first); then further out, past the shapes it joins
  for (const off of OFFSETS) {
    for (const { a, b } of segments) {
      const horizontal = Math.abs(b.x - a.x) >= Math.abs(b.y - a.y);
      for (const t of AT) {
        const mx = a.x + (b.x - a.x) * t;
        const my = a.y + (b.y - a.y) * t;
        if (horizontal) {
          spots.push({ x: mx - width / 2, y: my - height - off }, { x: mx - width / 2, y: my + off });
        } else {
          spots.push({ x: mx + off, y: my - height / 2 }, { x: mx - width - off, y: my - height / 2 });
        }
      }
    }
  }
  return spots.map((p) => ({ x: Math.round(p.x), y: Math.round(p.y), width, height }));
}

export default class FlowLabelPlacement extends CommandInterceptor {
  /** @param {import("diagram-js/lib/core/EventBus").default} eventBus
   * @param {{ filter: (fn: (element: Shape) => unknown) => Shape[] }} elementRegistry
   * @param {{ moveShape: (shape: Shape, delta: Point) => void }} modeling */
  constructor(eventBus, elementRegistry, modeling) {
    super(eventBus);
    this.postExecuted("element.updateLabel", ({ context }) => {
      const flow = context.element.labelTarget || context.element;
      const label = flow.label;
      if (!isFlow(flow) || !label || !label.width) return;
      const clear = blockers(elementRegistry, label);
      if (clear.all(label)) return;
      const spots = candidates(flow.waypoints, label.width, label.height);
      const spot = spots.find(clear.all) || (clear.shapes(label) ? null : spots.find(clear.shapes));
      if (spot) modeling.moveShape(label, { x: spot.x - label.x, y: spot.y - label.y });
    });
  }
}
FlowLabelPlacement.$inject = ["eventBus", "elementRegistry", "modeling"];

export const FlowLabelPlacementModule = {
  __init__: ["flowLabelPlacement"],
  flowLabelPlacement: ["type", FlowLabelPlacement],
};
