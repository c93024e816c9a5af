// The layer palette, generated from the catalog and grouped by category. Entries are buttons:
// drag one onto the canvas, or click / press Enter to add it (after the selected layer, connected;
// the new layer becomes the selection, so clicks build a chain). Hover or focus shows the whole
// description.
import { useMemo, useState } from 'react';
import { categoryColour, categoryOrder } from './format.js';

export const PALETTE_MIME = 'application/x-layerloom-layer';

export default function Palette({ catalog, onAdd, connectAfter }) {
  const [filter, setFilter] = useState('');
  const groups = useMemo(() => groupByCategory(catalog, filter), [catalog, filter]);
  return (
    <aside className="ll-palette" aria-label="Layer palette">
      <input
        className="ll-palette-filter"
        type="search"
        placeholder="Filter layers…"
        aria-label="Filter layers"
        value={filter}
        onChange={(event) => setFilter(event.target.value)}
      />
      <p className="ll-palette-hint">
        {connectAfter ? `Adds after ${connectAfter}, connected` : 'Drag onto the canvas or click to add'}
      </p>
      {groups.map(([category, specs]) => (
        <section key={category} className="ll-palette-group">
          <h3 style={{ color: categoryColour(category) }}>{category}</h3>
          {specs.map((spec) => (
            <PaletteEntry key={spec.type} spec={spec} onAdd={onAdd} />
          ))}
        </section>
      ))}
      {!groups.length && <p className="ll-palette-hint">No layer matches “{filter}”.</p>}
      <Help />
    </aside>
  );
}

function PaletteEntry({ spec, onAdd }) {
  return (
    <button
      type="button"
      className="ll-palette-entry"
      data-type={spec.type}
      draggable
      title={spec.doc}
      style={{ borderLeftColor: categoryColour(spec.category) }}
      onDragStart={(event) => {
        event.dataTransfer.setData(PALETTE_MIME, spec.type);
        event.dataTransfer.effectAllowed = 'copy';
      }}
      onClick={() => onAdd(spec.type)}
    >
      <span className="ll-palette-type">{spec.type}</span>
      <span className="ll-palette-doc">{spec.doc}</span>
    </button>
  );
}

function groupByCategory(catalog, filter) {
  const needle = filter.trim().toLowerCase();
  const groups = new Map();
  for (const spec of catalog) {
    const text = `${spec.type} ${spec.category} ${spec.doc || ''}`.toLowerCase();
    if (needle && !text.includes(needle)) continue;
    if (!groups.has(spec.category)) groups.set(spec.category, []);
    groups.get(spec.category).push(spec);
  }
  return [...groups.entries()].sort(([a], [b]) => categoryOrder(a) - categoryOrder(b));
}

function Help() {
  return (
    <details className="ll-help">
      <summary>How to use the canvas</summary>
      <ul>
        <li>Drag a layer onto the canvas, or click it (Tab to it and press Enter).</li>
        <li>With a layer selected, a new layer is added after it, already connected.</li>
        <li>Click layer after layer to build a chain: each new layer follows the selected one.</li>
        <li>Connect layers by dragging from a layer's bottom handle to another's top handle.</li>
        <li>Select a layer to see and edit every parameter in the panel on the right.</li>
        <li>Delete / Backspace removes the selection; Ctrl+Z undoes, Ctrl+Shift+Z redoes.</li>
      </ul>
    </details>
  );
}
