// Shown while a block is open: the way back (Model › BasicBlock › ...), that an edit here changes
// the block's definition and so every use of it, and whose shapes are shown. (The problems Python
// found inside this use sit on the layer or nested block use they arose in, placeProblems.)
import { useEditorActions } from './editorActions.js';
import { usesOf } from './blockView.js';
import { formatCount } from './format.js';

export default function BlockBar({ model, openPath, report }) {
  const actions = useEditorActions();
  const opened = openPath[openPath.length - 1];
  const uses = usesOf(model, opened.block);
  return (
    <div className="ll-blockbar" role="navigation" aria-label="Block path">
      <nav className="ll-crumbs">
        <button type="button" onClick={() => actions.closeTo(0)} title="Back to the whole model">Model</button>
        {openPath.map((level, depth) => (
          <span key={level.prefix}>
            <span aria-hidden="true"> › </span>
            {depth === openPath.length - 1
              ? <strong>{level.block} <span className="ll-node-id">({level.use})</span></strong>
              : <button type="button" onClick={() => actions.closeTo(depth + 1)}>{level.block} ({level.use})</button>}
          </span>
        ))}
      </nav>
      <span className="ll-blockbar-note">
        Editing block <strong>{opened.block}</strong>: changes apply to every use of it
        ({uses.length === 1 ? uses[0] : `${uses.length} uses: ${uses.join(', ')}`}).
        {' '}Shapes of {opened.prefix.slice(0, -1)}{report ? ` · ${formatCount(report.params)}${report.valid ? '' : ' + ?'} parameters per copy` : ' (checking…)'}
      </span>
    </div>
  );
}
