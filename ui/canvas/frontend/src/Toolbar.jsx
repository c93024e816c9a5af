// Buttons for every keyboard shortcut, so each edit is reachable by mouse, touch and keyboard.
import { Panel } from '@xyflow/react';
import { useEditorActions } from './editorActions.js';

export default function Toolbar({ canUndo, canRedo, hasSelection }) {
  const actions = useEditorActions();
  const buttons = [
    ['Undo', 'Undo (Ctrl+Z)', actions.undo, canUndo],
    ['Redo', 'Redo (Ctrl+Shift+Z)', actions.redo, canRedo],
    ['Duplicate', 'Duplicate the selected layer (Ctrl+D)', actions.duplicate, hasSelection],
    ['Delete', 'Delete the selection (Delete or Backspace)', actions.removeSelected, hasSelection],
    ['Auto-layout', 'Arrange the layers left to right', actions.layout, true],
    ['Fit view', 'Zoom to show the whole graph', actions.fit, true],
  ];
  return (
    <Panel position="top-left" className="ll-toolbar" role="toolbar" aria-label="Canvas tools">
      {buttons.map(([label, title, run, enabled]) => (
        <button key={label} type="button" title={title} onClick={run} disabled={!enabled}>
          {label}
        </button>
      ))}
    </Panel>
  );
}
