// One layer on the canvas, compact so a whole graph reads on a projector: type and id, one input
// handle per port along the top (named ports labelled), the output handle at the bottom, and any
// problems (red border, message, one-click fix). Shapes travel on the edges; a layer that feeds
// nothing shows its own output shape. Every parameter is edited in the details panel, which
// selecting a layer opens. A block use shows its shapes in and out, repeat count and parameters,
// and a button that opens it. All user strings are rendered as React text, never as HTML.
import { memo } from 'react';
import { Handle, Position } from '@xyflow/react';
import ProblemList from './ProblemList.jsx';
import { categoryColour, formatCount, formatShape } from './format.js';
import { useEditorActions } from './editorActions.js';

const PORT_SPACING = 44; // px between neighbouring input ports: a slightly-off drop still lands right

function LayerNode({ id, data, selected }) {
  const { node, spec, info, problems, ports, hasOutput, feedsNothing } = data;
  const classes = ['ll-node', problems.length ? 'll-node--problem' : '', selected ? 'll-node--selected' : ''];
  const named = ports.some((port) => port.label);
  return (
    <div className={classes.join(' ')}
      style={{ '--ll-cat': categoryColour(spec?.category), minWidth: ports.length > 1 ? ports.length * PORT_SPACING : undefined }}
      data-node-id={id} title={spec?.doc}>
      {ports.map((port) => <InputHandle key={port.index} index={port.index} left={portLeft(port.index, ports.length)} />)}
      {named && (
        <div className="ll-ports">
          {ports.map((port) => (
            <span key={port.index} style={{ left: portLeft(port.index, ports.length) }}>{port.label}</span>
          ))}
        </div>
      )}
      <header className="ll-node-header">
        <span className="ll-node-type">{node.type}</span>
        <span className="ll-node-id">{id}</span>
      </header>
      {!spec && <div className="ll-node-row ll-muted">Unknown layer type</div>}
      {spec?.isBlock && <BlockSummary id={id} node={node} info={info} inputShapes={data.inputShapes} />}
      {feedsNothing && info?.output_shape && !spec?.isBlock && (
        <div className="ll-node-row"><span className="ll-shape" title="Output shape per sample">
          {formatShape(info.output_shape)}
        </span></div>
      )}
      <ProblemList nodeId={id} problems={problems} />
      {hasOutput && <Handle type="source" position={Position.Bottom} id="out" className="ll-handle" />}
    </div>
  );
}

// A block use, collapsed: what goes in and comes out, how many copies, its weights, and the way in.
function BlockSummary({ id, node, info, inputShapes }) {
  const actions = useEditorActions();
  const repeat = Number(node.params.repeat ?? 1);
  const inputs = (inputShapes || []).map((shape) => (shape ? formatShape(shape) : '?')).join(' + ') || '?';
  return (
    <div className="ll-block-summary">
      <div className="ll-node-row">
        <span className="ll-shape" title="Input → output shape per sample">
          {inputs} → {info?.output_shape ? formatShape(info.output_shape) : '?'}
        </span>
      </div>
      <div className="ll-node-row">
        <span>{repeat > 1 ? `×${repeat} · ` : ''}{formatCount(info?.params)} params</span>
        <button type="button" className="ll-open-block nodrag" onClick={() => actions.openBlock(id)}
          title="Show the layers inside this block (or double-click it)">Open block</button>
      </div>
    </div>
  );
}

// Ports spread evenly along the top edge, so Add's two inputs are a third of the node apart.
function portLeft(index, count) {
  return `${((index + 1) * 100) / (count + 1)}%`;
}

function InputHandle({ index, left }) {
  return <Handle type="target" position={Position.Top} id={`in${index}`} className="ll-handle" style={{ left }} />;
}

export default memo(LayerNode);
