// One layer on the canvas: type and id, a named handle per input port, typed parameter fields,
// the output shape next to the output handle, the parameter count, and any problems (red border,
// message, one-click fix). All user strings are rendered as React text, never as HTML.
import { memo } from 'react';
import { Handle, Position } from '@xyflow/react';
import ParamField from './ParamField.jsx';
import ProblemList from './ProblemList.jsx';
import { categoryColour, formatCount, formatShape } from './format.js';
import { useEditorActions } from './editorActions.js';

const MAX_FIELDS_IN_NODE = 6;

function LayerNode({ id, data, selected }) {
  const { node, spec, info, problems, ports, hasOutput } = data;
  const actions = useEditorActions();
  const params = spec?.params || [];
  const shown = params.slice(0, MAX_FIELDS_IN_NODE);
  const classes = ['ll-node', problems.length ? 'll-node--problem' : '', selected ? 'll-node--selected' : ''];
  return (
    <div className={classes.join(' ')} style={{ '--ll-cat': categoryColour(spec?.category) }}
      data-node-id={id}>
      <header className="ll-node-header">
        <span className="ll-node-type">{node.type}</span>
        <span className="ll-node-id">{id}</span>
        {ports.length === 1 && !ports[0].label && <InputHandle index={0} />}
      </header>
      {ports.filter((p) => p.label).map((port) => (
        <div key={port.index} className="ll-port">
          <InputHandle index={port.index} />
          <span>{port.label}</span>
        </div>
      ))}
      {!spec && <div className="ll-node-row ll-muted">Unknown layer type</div>}
      {shown.map((param) => (
        <label key={param.name} className="ll-node-row" title={param.doc}>
          <span className="ll-param-name">{param.name}</span>
          <ParamField
            param={param}
            value={node.params[param.name]}
            resolved={info?.resolved_params?.[param.name]}
            onCommit={(value) => actions.setParam(id, param.name, value)}
          />
        </label>
      ))}
      {params.length > shown.length && (
        <div className="ll-node-row ll-muted">+{params.length - shown.length} more in the details panel</div>
      )}
      <footer className="ll-node-footer">
        <span className="ll-params" title="Trainable parameters">{formatCount(info?.params)} params</span>
        <span className="ll-shape" title="Output shape per sample">
          {info?.output_shape ? formatShape(info.output_shape) : ''}
        </span>
        {hasOutput && <Handle type="source" position={Position.Right} id="out" className="ll-handle" />}
      </footer>
      <ProblemList nodeId={id} problems={problems} />
    </div>
  );
}

function InputHandle({ index }) {
  return <Handle type="target" position={Position.Left} id={`in${index}`} className="ll-handle" />;
}

export default memo(LayerNode);
