// The selected layer in full: what it does, its shapes, and every parameter with its explanation
// and allowed range. Shown only while a layer is selected, so the canvas gets the room otherwise.
import ParamField from './ParamField.jsx';
import ProblemList from './ProblemList.jsx';
import { problemsByNode } from './flowElements.js';
import { categoryColour, formatCount, formatShape, formatValue } from './format.js';
import { useEditorActions } from './editorActions.js';

export default function DetailsPanel({ node, spec, report, inputShapes }) {
  const actions = useEditorActions();
  const info = report?.nodes?.[node.id] || null;
  return (
    <aside className="ll-details" aria-label="Layer details" data-node-id={node.id}>
      <h2 style={{ color: categoryColour(spec?.category) }}>{node.type}</h2>
      <p className="ll-details-id">{node.id}{spec ? ` · ${spec.category}` : ''}</p>
      <p>{spec ? spec.doc : 'This layer type is not in the catalog.'}</p>
      <dl className="ll-details-facts">
        <dt>Input</dt><dd>{inputShapes.map(formatShape).join(' + ') || '–'}</dd>
        <dt>Output</dt><dd>{info?.output_shape ? formatShape(info.output_shape) : '–'}</dd>
        <dt>Parameters</dt><dd>{formatCount(info?.params)}</dd>
      </dl>
      {spec?.isBlock && (
        <button type="button" className="ll-fix" onClick={() => actions.openBlock(node.id)}>
          Open block {node.type}
        </button>
      )}
      <ProblemList nodeId={node.id} problems={problemsByNode(report)[node.id] || []} />
      {(spec?.params || []).map((param) => (
        <div key={param.name} className="ll-details-param">
          <label>
            <span className="ll-param-name">{param.name}</span>
            <ParamField
              param={param}
              value={node.params[param.name]}
              resolved={info?.resolved_params?.[param.name]}
              onCommit={(value) => actions.setParam(node.id, param.name, value)}
            />
          </label>
          <p className="ll-param-doc">{param.doc}</p>
          <p className="ll-param-meta">{describeAllowed(param)}</p>
        </div>
      ))}
    </aside>
  );
}

function describeAllowed(param) {
  const parts = [param.kind];
  const hasMin = param.min !== null && param.min !== undefined;
  const hasMax = param.max !== null && param.max !== undefined;
  if (hasMin && hasMax) parts.push(`${param.min} – ${param.max}`);
  else if (hasMin) parts.push(`≥ ${param.min}`);
  else if (hasMax) parts.push(`≤ ${param.max}`);
  if (param.inferred) parts.push('inferred from the input');
  else if (param.default !== null && param.default !== undefined) parts.push(`default ${formatValue(param.default)}`);
  else parts.push('required');
  return parts.join(' · ');
}
