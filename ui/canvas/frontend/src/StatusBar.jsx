// One line under the canvas: size of the model, whether it is valid, graph-wide problems, and what
// the canvas itself just did to the view (an automatic arrangement).
import ProblemList from './ProblemList.jsx';
import { formatCount } from './format.js';
import { problemsByNode } from './flowElements.js';

export default function StatusBar({ graph, report, notice }) {
  const problems = report?.problems || [];
  const graphWide = problemsByNode(report)[''] || [];
  const total = report?.params ?? report?.total_params;
  return (
    <div className="ll-status" aria-live="polite">
      <span>{graph.nodes.length} layers · {graph.edges.length} connections</span>
      {/* a layer with a problem has no known size yet, as in Build's totals */}
      <span>{formatCount(total)}{report && !report.valid ? ' + ?' : ''} parameters</span>
      <span className={problems.length ? 'll-status-bad' : 'll-status-good'}>
        {!report ? 'checking…' : problems.length ? `${problems.length} problem(s)` : 'valid'}
      </span>
      {notice && <span className="ll-notice">{notice}</span>}
      <ProblemList nodeId={null} problems={graphWide} />
    </div>
  );
}
