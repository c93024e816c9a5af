// Buttons for every keyboard shortcut, so each edit is reachable by mouse, touch and keyboard, plus
// the view: the palette, presenting on a projector, and pictures of the graph for slides.
import { useEditorActions } from './editorActions.js';

export default function Toolbar({ canUndo, canRedo, hasSelection, paletteOpen, togglePalette,
  presenting, togglePresenting, canMakeBlock, onMakeBlock }) {
  const actions = useEditorActions();
  const buttons = [
    ['Undo', 'Undo (Ctrl+Z)', actions.undo, canUndo],
    ['Redo', 'Redo (Ctrl+Shift+Z)', actions.redo, canRedo],
    ['Duplicate', 'Duplicate the selected layer (Ctrl+D)', actions.duplicate, hasSelection],
    ['Delete', 'Delete the selection (Delete or Backspace)', actions.removeSelected, hasSelection],
    ['Make block', 'Turn the selected layers (Shift+click to select several) into a block: one node '
      + 'you can open, reuse from the palette and repeat', onMakeBlock, canMakeBlock],
    ['Auto-layout', 'Arrange the layers top to bottom, to fit the canvas', actions.layout, true],
    ['Fit view', 'Zoom to show the whole graph', actions.fit, true],
  ];
  const pictures = [
    ['SVG', 'Download the graph as an SVG picture (with the shapes on the edges), for slides', actions.exportSvg],
    ['PNG', 'Download the graph as a PNG picture (with the shapes on the edges), for slides', actions.exportPng],
  ];
  return (
    <div className="ll-toolbar" role="toolbar" aria-label="Canvas tools">
      <button type="button" aria-pressed={paletteOpen} onClick={togglePalette}
        title={paletteOpen ? 'Hide the layer palette, for a wider canvas' : 'Show the layer palette'}>
        Layers
      </button>
      <span className="ll-toolbar-group">
        {buttons.map(([label, title, run, enabled]) => (
          <button key={label} type="button" title={title} onClick={run} disabled={!enabled}>{label}</button>
        ))}
      </span>
      <span className="ll-toolbar-group">
        {pictures.map(([label, title, run]) => (
          <button key={label} type="button" title={title} aria-label={`Download ${label}`} onClick={run}>
            ↓ {label}
          </button>
        ))}
        <button type="button" aria-pressed={presenting} onClick={togglePresenting}
          title={presenting ? 'Back to the page (Escape)' : 'Show the canvas over the whole window, for a projector'}>
          {presenting ? 'Exit presenting' : 'Present'}
        </button>
      </span>
    </div>
  );
}
