// Turns the graph document plus Python's validation report into React Flow nodes and edges.
import { edgeKey, hasOutput, inputPorts } from './graphOps.js';
import { formatShape } from './format.js';

// Problems per node id, each remembering its index in report.problems (what an apply_fix action
// names, so Python can look the fix up without re-matching messages).
export function problemsByNode(report) {
  const byNode = {};
  (report?.problems || []).forEach((problem, index) => {
    const key = problem.node ?? '';
    (byNode[key] ||= []).push({
      message: problem.message,
      field: problem.field,
      fixLabel: problem.fix?.label || null,
      index,
    });
  });
  return byNode;
}

// `previous` carries what React Flow measured and what the user selected across rebuilds;
// `selectId` (a node just added) takes the selection. A node whose content did not change keeps
// its old object, so React Flow skips re-rendering it (each report is a fresh JSON object).
export function buildNodes(graph, report, catalogByType, previous, selectId) {
  const before = new Map(previous.map((n) => [n.id, n]));
  const problems = problemsByNode(report);
  return graph.nodes.map((node) => {
    const old = before.get(node.id);
    const spec = catalogByType[node.type];
    const fresh = {
      id: node.id,
      type: 'layer',
      position: graph.layout[node.id] || { x: 0, y: 0 },
      measured: old?.measured,
      zIndex: problems[node.id] ? 1 : 0, // its problem list may reach over the layer below
      selected: selectId ? node.id === selectId : Boolean(old?.selected),
      data: {
        node,
        spec,
        info: report?.nodes?.[node.id] || null,
        problems: problems[node.id] || [],
        ports: inputPorts(spec, node.id, graph.edges),
        hasOutput: hasOutput(spec),
        feedsNothing: !graph.edges.some((e) => e.source === node.id),
        inputShapes: spec?.isBlock ? portShapes(graph, report, node.id) : null,
      },
    };
    return old && sameNode(old, fresh) ? old : fresh;
  });
}

function sameNode(a, b) {
  return a.selected === b.selected && a.zIndex === b.zIndex && a.position.x === b.position.x && a.position.y === b.position.y
    && a.data.node === b.data.node && a.data.spec === b.data.spec
    && a.data.feedsNothing === b.data.feedsNothing
    && JSON.stringify([a.data.info, a.data.problems, a.data.ports, a.data.inputShapes])
      === JSON.stringify([b.data.info, b.data.problems, b.data.ports, b.data.inputShapes]);
}

// What flows into each port of a node, in port order (null where nothing is connected yet).
export function portShapes(graph, report, nodeId) {
  const shapes = [];
  graph.edges.filter((e) => e.target === nodeId).forEach((e) => {
    shapes[e.port || 0] = report?.nodes?.[e.source]?.output_shape || null;
  });
  return Array.from(shapes, (shape) => shape || null);
}

const FAN_OUT = Object.freeze({ fanOut: true });
const ONE_TARGET = Object.freeze({ fanOut: false });

export function buildEdges(graph, report, selectedKeys) {
  const outgoing = {};
  graph.edges.forEach((edge) => { outgoing[edge.source] = (outgoing[edge.source] || 0) + 1; });
  return graph.edges.map((edge) => {
    const id = edgeKey(edge);
    const shape = report?.nodes?.[edge.source]?.output_shape;
    return {
      id,
      source: edge.source,
      target: edge.target,
      sourceHandle: 'out',
      targetHandle: `in${edge.port || 0}`,
      type: 'shape',
      label: shape ? formatShape(shape) : undefined,
      data: outgoing[edge.source] > 1 ? FAN_OUT : ONE_TARGET, // shared objects keep ShapeEdge's memo
      selected: selectedKeys.has(id),
    };
  });
}
