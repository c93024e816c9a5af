// The editor: owns the graph (with undo history), the React Flow element state and every edit
// action, and lays out palette | toolbar, canvas, status | details. Python hears about committed
// edits only. The canvas shows the model or, once a block use is opened, that block's inner graph
// (blockView.js): every edit action works on what is shown, and an edit inside a block is written
// back into the block's definition.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { applyNodeChanges, useReactFlow } from '@xyflow/react';
import * as ops from './graphOps.js';
import { DEFAULT_SIZE, autoLayout } from './autoLayout.js';
import { blockSpecs, placeProblems, usePrefix, viewOf, withView } from './blockView.js';
import BlockBar from './BlockBar.jsx';
import MakeBlockBar from './MakeBlockBar.jsx';
import useMakeBlock from './useMakeBlock.js';
import { buildEdges, buildNodes } from './flowElements.js';
import useGraphHistory from './useGraphHistory.js';
import useShortcuts from './useShortcuts.js';
import useViewportKeeper from './useViewportKeeper.js';
import { downloadPng, downloadSvg } from './exportImage.js';
import { EditorActions } from './editorActions.js';
import Palette from './Palette.jsx';
import FlowCanvas from './FlowCanvas.jsx';
import Toolbar from './Toolbar.jsx';
import DetailsPanel from './DetailsPanel.jsx';
import StatusBar from './StatusBar.jsx';

export default function Editor({ initialGraph, revision, catalog, catalogByType: layerSpecs, report: modelReport,
  inside, answer, pythonSelected, setStateValue, setTriggerValue, presenting, setPresenting, paletteOpen, togglePalette, foldPalette }) {
  const flow = useReactFlow();
  const paneRef = useRef(null);
  const editorRef = useRef(null);
  const editCounter = useRef({ mount: Math.random().toString(36).slice(2), seq: 0 });
  const history = useGraphHistory(
    useMemo(() => withPositions(ops.normaliseGraph(initialGraph)), []), // mount-time graph only
    (graph) => {
      const counter = editCounter.current;
      counter.seq += 1;
      setStateValue('graph', { revision, edit: `${counter.mount}:${counter.seq}`, graph });
    },
  );
  const { graph: model } = history;
  // The opened blocks, outermost first: [{ block, use, prefix }] (prefix: Python's id of the use).
  const [openPath, setOpenPath] = useState([]);
  const path = useRef(openPath);
  path.current = openPath;
  const graph = useMemo(() => withPositions(viewOf(model, openPath)), [model, openPath]);
  const { currentGraph: currentModel, commit: commitModel } = history;
  const currentGraph = useCallback(() => viewOf(currentModel(), path.current), [currentModel]);
  const commit = useCallback((next) => commitModel(withView(currentModel(), path.current, next)),
    [currentModel, commitModel]);
  const opened = openPath[openPath.length - 1] || null;
  // Inside a block, Python's report for the opened use, its problems put on this level's nodes.
  const insideReport = opened && inside?.use === opened.prefix ? inside.report : null;
  const shownIds = graph.nodes.map((n) => n.id).join('\n');
  const report = useMemo(() => (!opened ? modelReport : placeProblems(insideReport, shownIds.split('\n'))),
    [opened, modelReport, insideReport, shownIds]);
  const blocks = useMemo(() => blockSpecs(model.blocks), [model.blocks]);
  const catalogByType = useMemo(
    () => ({ ...layerSpecs, ...Object.fromEntries(blocks.map((spec) => [spec.type, spec])) }),
    [layerSpecs, blocks],
  );
  const paletteEntries = useMemo( // a block cannot hold itself
    () => [...catalog, ...blocks.filter((spec) => !openPath.some((o) => o.block === spec.type))],
    [catalog, blocks, openPath],
  );

  const [nodes, setNodes] = useState([]);
  const [selectedEdges, setSelectedEdges] = useState(() => new Set());
  const selectAfterRebuild = useRef(null);
  const shownPath = useRef(openPath);
  useEffect(() => {
    // Read the ref now: the updater runs later, when React renders (reading the ref there found
    // it already cleared, so a new layer was never selected).
    const selectId = selectAfterRebuild.current;
    selectAfterRebuild.current = null;
    const entered = shownPath.current !== openPath; // another level: nothing carries over by id
    shownPath.current = openPath;
    setNodes((previous) => buildNodes(graph, report, catalogByType, entered ? [] : previous, selectId));
  }, [graph, report, catalogByType, openPath]);
  const edges = useMemo(() => buildEdges(graph, report, selectedEdges), [graph, report, selectedEdges]);
  const selectedIds = nodes.filter((n) => n.selected).map((n) => n.id);
  const selectedId = selectedIds.length === 1 ? selectedIds[0] : null;
  const [notice, setNotice] = useState(null);
  const commitSelecting = useCallback((next, id) => { // a whole new model from Python, undoable
    selectAfterRebuild.current = id;
    commitModel(withPositions(ops.normaliseGraph(next)));
  }, [commitModel]);
  const makeBlock = useMakeBlock({
    answer, revision, model, selectedIds, within: opened?.block ?? null, setTriggerValue, commitSelecting, setNotice,
  });
  const view = useViewportKeeper({
    flow, paneRef, nodes, selectedId, currentGraph,
    arrange: useCallback((positions) => {
      commit(ops.moveNodes(currentGraph(), positions));
      setNotice((folded) => `${folded ? `${folded} ` : ''}Arranged top to bottom to fit the canvas (Undo puts the layers back).`);
    }, [commit, currentGraph]),
    paletteWidth: useCallback(() => editorRef.current?.querySelector('.ll-palette')?.offsetWidth || 0, []),
    foldPalette: useCallback(() => {
      foldPalette();
      setNotice('The palette folded away to show the whole graph readably: Layers brings it back.');
    }, [foldPalette]),
  });

  // Starts from what Python holds, so a fresh mount (new revision) clears a stale selection but
  // costs no rerun when nothing was selected.
  const reportedSelection = useRef(pythonSelected);
  useEffect(() => {
    if (reportedSelection.current === selectedId) return;
    reportedSelection.current = selectedId;
    setStateValue('selected', selectedId);
  }, [selectedId, setStateValue]);

  // Actions read the moment's selection and sizes through a ref, so the actions object (shared
  // with every node through context) stays the same while nodes move and re-render.
  // Opening a block (or going back out) shows another graph: Python is told which use is open, so
  // it sends the shapes inside it, and the view is fitted once its nodes are measured.
  const fitWhenMeasured = useRef(null); // the ids of the level to fit once they are measured
  const openLevel = useCallback((next) => {
    setOpenPath(next);
    fitWhenMeasured.current = viewOf(currentModel(), next).nodes.map((n) => n.id).join('\n');
    setStateValue('open', next.length ? next[next.length - 1].prefix : null);
  }, [currentModel, setStateValue]);
  // A block too tall or wide to read whole is arranged for the pane, as a graph is on mount (one
  // undoable edit of the block's layout).
  useEffect(() => {
    if (fitWhenMeasured.current !== nodes.map((n) => n.id).join('\n')
      || nodes.some((n) => !n.measured)) return;
    const ids = fitWhenMeasured.current;
    fitWhenMeasured.current = null;
    const keeper = live.current.view;
    if (path.current.length && !keeper.readable(nodes)) {
      commit(ops.moveNodes(currentGraph(), keeper.arrangeForPane()));
      setNotice('Arranged the block to fit the canvas (Undo puts it back).');
      fitWhenMeasured.current = ids; // fitted once the arranged nodes arrive (then readable)
      return;
    }
    window.requestAnimationFrame(() => window.requestAnimationFrame(() => keeper.fit(0)));
  }, [nodes, commit, currentGraph]);
  // Undo can take away a block that is open: show the level that still exists.
  useEffect(() => {
    const gone = openPath.findIndex((o) => !model.blocks?.[o.block]);
    if (gone !== -1) openLevel(openPath.slice(0, gone));
  }, [model, openPath, openLevel]);

  const live = useRef();
  live.current = { selectedIds, selectedId, selectedEdges, catalogByType, setTriggerValue, view };
  const actions = useMemo(() => {
    // The new layer takes the selection (so click, click, click builds a chain) and is scrolled
    // into view once React Flow has drawn it.
    const select = (next, id) => {
      selectAfterRebuild.current = id;
      commit(next);
      window.requestAnimationFrame(() => window.requestAnimationFrame(() => live.current.view.ensureVisible(id)));
    };
    const fitView = () => live.current.view.fit();
    return {
      addLayer: (type, position = null) => {
        const spec = live.current.catalogByType[type];
        if (!spec) return;
        const after = position ? null : live.current.selectedId;
        const at = position || placeNextTo(currentGraph(), after, flow, paneRef.current, live.current.view.sizeOf);
        const { graph: next, id } = ops.addNode(currentGraph(), spec, at, after);
        select(next, id);
      },
      setParam: (nodeId, name, value) => commit(ops.setParam(currentGraph(), nodeId, name, value)),
      applyFix: (nodeId, index) => live.current.setTriggerValue('action', { kind: 'apply_fix', node: nodeId, index }),
      connect: (source, target, port) => commit(ops.connect(currentGraph(), source, target, port)),
      move: (positions) => commit(ops.moveNodes(currentGraph(), positions)),
      remove: (nodeIds, edgeKeys) => {
        if (nodeIds.length || edgeKeys.length) commit(ops.removeElements(currentGraph(), nodeIds, edgeKeys));
      },
      removeSelected: () => {
        const { selectedIds: ids, selectedEdges: edgeKeys } = live.current;
        if (ids.length || edgeKeys.size) commit(ops.removeElements(currentGraph(), ids, [...edgeKeys]));
      },
      duplicate: () => {
        if (!live.current.selectedId) return;
        const { graph: next, id } = ops.duplicateNode(currentGraph(), live.current.selectedId);
        select(next, id);
      },
      layout: () => {
        commit(ops.moveNodes(currentGraph(), live.current.view.arrangeForPane()));
        window.requestAnimationFrame(fitView);
      },
      fit: fitView,
      openBlock: (nodeId) => {
        const node = currentGraph().nodes.find((n) => n.id === nodeId);
        if (!node || !currentModel().blocks?.[node.type]) return;
        const parent = path.current[path.current.length - 1];
        const prefix = usePrefix(parent ? parent.prefix : '', node);
        openLevel([...path.current, { block: node.type, use: nodeId, prefix }]);
      },
      closeTo: (depth) => openLevel(path.current.slice(0, depth)),
      exportSvg: () => downloadSvg(paneRef.current, flow, currentGraph().name),
      exportPng: () => downloadPng(paneRef.current, flow, currentGraph().name),
      undo: history.undo,
      redo: history.redo,
    };
  }, [commit, currentGraph, currentModel, flow, history.undo, history.redo, openLevel]);

  const onNodesChange = useCallback((changes) => {
    // Removals arrive through onDelete, which commits them to the graph (and the undo history).
    setNodes((current) => applyNodeChanges(changes.filter((c) => c.type !== 'remove'), current));
  }, []);
  const onEdgesChange = useCallback((changes) => {
    const selections = changes.filter((c) => c.type === 'select');
    if (!selections.length) return;
    setSelectedEdges((current) => {
      const next = new Set(current);
      selections.forEach((c) => (c.selected ? next.add(c.id) : next.delete(c.id)));
      return next;
    });
  }, []);

  useShortcuts(editorRef, actions);
  const selectedNode = graph.nodes.find((n) => n.id === selectedId) || null;
  return (
    <EditorActions.Provider value={actions}>
      <div className="ll-editor" ref={editorRef}>
        <Toolbar
          canUndo={history.canUndo}
          canRedo={history.canRedo}
          hasSelection={selectedIds.length > 0 || selectedEdges.size > 0}
          paletteOpen={paletteOpen}
          togglePalette={togglePalette}
          presenting={presenting}
          togglePresenting={() => setPresenting((on) => !on)}
          canMakeBlock={makeBlock.canStart}
          onMakeBlock={makeBlock.start}
        />
        <div className="ll-workspace">
          {paletteOpen && <Palette catalog={paletteEntries} onAdd={actions.addLayer} connectAfter={selectedId} />}
          <div className="ll-main">
            {opened && <BlockBar model={model} openPath={openPath} report={report} />}
            {makeBlock.naming !== null && <MakeBlockBar count={selectedIds.length} makeBlock={makeBlock} />}
            <FlowCanvas
              paneRef={paneRef}
              nodes={nodes}
              edges={edges}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onMoveStart={view.onMoveStart}
            />
            <StatusBar graph={graph} report={report} notice={notice} />
          </div>
          {selectedNode && (
            <DetailsPanel
              key={selectedNode.id}
              node={selectedNode}
              spec={catalogByType[selectedNode.type]}
              report={report}
              inputShapes={inputShapes(graph, report, selectedNode.id)}
            />
          )}
        </div>
      </div>
    </EditorActions.Provider>
  );
}

// A new layer goes below the node it follows (the flow runs top to bottom), or in the middle of
// what the user is looking at.
function placeNextTo(graph, afterId, flow, pane, sizeOf) {
  const anchor = afterId && graph.layout[afterId];
  if (anchor) return { x: anchor.x, y: anchor.y + sizeOf(afterId).height + 40 };
  const box = pane.getBoundingClientRect();
  return flow.screenToFlowPosition({ x: box.left + box.width / 2 - DEFAULT_SIZE.width / 2, y: box.top + box.height / 3 });
}

// What flows into a node, in port order, read off its sources' output shapes.
function inputShapes(graph, report, nodeId) {
  return graph.edges
    .filter((e) => e.target === nodeId)
    .sort((a, b) => a.port - b.port)
    .map((e) => report?.nodes?.[e.source]?.output_shape)
    .filter(Boolean);
}

// Nodes Python sent without a position (a hand-written file) get an automatic one.
function withPositions(graph) {
  const missing = graph.nodes.map((n) => n.id).filter((id) => !graph.layout[id]);
  if (!missing.length) return graph;
  return ops.moveNodes(graph, autoLayout(graph, undefined, missing));
}
