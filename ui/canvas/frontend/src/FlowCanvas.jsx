// The React Flow surface: moving, connecting, deleting and dropping palette entries. Each handler
// turns a finished gesture into one editor action (drag-stop, connect, delete, drop).
import { useCallback } from 'react';
import { Background, Controls, ReactFlow, useReactFlow } from '@xyflow/react';
import LayerNode from './LayerNode.jsx';
import ShapeEdge from './ShapeEdge.jsx';
import { useEditorActions } from './editorActions.js';
import { PALETTE_MIME } from './Palette.jsx';
import { FIT_VIEW } from './useViewportKeeper.js';

const NODE_TYPES = { layer: LayerNode };
const EDGE_TYPES = { shape: ShapeEdge };
const DELETE_KEYS = ['Delete', 'Backspace'];
// Shift+click (or Ctrl/Cmd+click) adds a layer to the selection, e.g. for Make block; Shift+drag
// on the pane draws a selection box.
const MULTI_SELECT_KEYS = ['Shift', 'Control', 'Meta'];

export default function FlowCanvas({ paneRef, nodes, edges, onNodesChange, onEdgesChange, onMoveStart }) {
  const actions = useEditorActions();
  const flow = useReactFlow();

  const onDragOver = useCallback((event) => {
    if (!event.dataTransfer.types.includes(PALETTE_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  }, []);
  const onDrop = useCallback((event) => {
    const type = event.dataTransfer.getData(PALETTE_MIME);
    if (!type) return;
    event.preventDefault();
    actions.addLayer(type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  }, [actions, flow]);

  const onNodeDragStop = useCallback((_event, _node, moved) => {
    actions.move(Object.fromEntries(moved.map((n) => [n.id, n.position])));
  }, [actions]);
  const onConnect = useCallback(({ source, target, targetHandle }) => {
    actions.connect(source, target, Number(targetHandle.replace('in', '')) || 0);
  }, [actions]);
  const onNodeDoubleClick = useCallback((_event, node) => {
    if (node.data.spec?.isBlock) actions.openBlock(node.id);
  }, [actions]);
  const onDelete = useCallback(({ nodes: gone, edges: cut }) => {
    actions.remove(gone.map((n) => n.id), cut.map((e) => e.id));
  }, [actions]);

  return (
    <div className="ll-flow" ref={paneRef} onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        edgeTypes={EDGE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        onDelete={onDelete}
        onNodeDoubleClick={onNodeDoubleClick}
        zoomOnDoubleClick={false}
        onMoveStart={onMoveStart}
        isValidConnection={(c) => c.source !== c.target}
        deleteKeyCode={DELETE_KEYS}
        multiSelectionKeyCode={MULTI_SELECT_KEYS}
        fitView
        fitViewOptions={FIT_VIEW}
        minZoom={FIT_VIEW.minZoom}
      >
        <Background gap={20} color="#e2e8f0" />
        <Controls showInteractive={false} showFitView={false} />
      </ReactFlow>
    </div>
  );
}
