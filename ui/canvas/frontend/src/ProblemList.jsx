// The validator's messages for one node (or for the whole graph), each with its one-click fix.
import { useEditorActions } from './editorActions.js';

export default function ProblemList({ nodeId, problems }) {
  const actions = useEditorActions();
  if (!problems.length) return null;
  return (
    <ul className="ll-problems" role="alert">
      {problems.map((problem) => (
        <li key={problem.index}>
          <span>{problem.message}</span>
          {problem.fixLabel && (
            <button
              type="button"
              className="ll-fix nodrag"
              onClick={() => actions.applyFix(nodeId, problem.index)}
            >
              {problem.fixLabel}
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
