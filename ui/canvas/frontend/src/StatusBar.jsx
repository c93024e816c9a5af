// One line under the canvas: size of the model, whether it is valid, and graph-wide problems.
import ProblemList from './ProblemList.jsx';
import { formatCount } from './format.js';
import { problemsByNode } from './flowElements.js';

export default function StatusBar({ graph, report }) {
  const problems = report?.problems || [];
  const graphWide = problemsByNode(report)[''] || [];
  const total = report?.params ?? report?.total_params;
  return (
    <div className="ll-status" aria-live="polite">
      <span>{graph.nodes.length} layers · {graph.edges.length} connections</span>
      <span>{formatCount(total)} parameters</span>
      <span className={problems.length ? 'll-status-bad' : 'll-status-good'}>
        {!report ? 'checking…' : problems.length ? `${problems.length} problem(s)` : 'valid'}
      </span>
      <ProblemList nodeId={null} problems={graphWide} />
    </div>
  );
}
