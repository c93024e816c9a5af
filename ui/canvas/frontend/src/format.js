// Small display helpers shared by nodes, edges, the details panel and the status bar.

// One colour per palette category, so a projected graph reads at a glance.
const CATEGORY_COLOURS = {
  'Input/Output': '#475569',
  Dense: '#2563eb',
  Convolution: '#0891b2',
  Pooling: '#0d9488',
  Normalization: '#7c3aed',
  Regularization: '#a16207',
  Activation: '#ea580c',
  Recurrent: '#16a34a',
  'Attention/Transformer': '#db2777',
  Merge: '#4f46e5',
  Reshape: '#64748b',
  Generative: '#9333ea',
  Blocks: '#b45309',
};

export function categoryColour(category) {
  return CATEGORY_COLOURS[category] || '#334155';
}

// Palette order: the graph's own blocks first (a student adding another BasicBlock finds it
// without scrolling), then the order above; unknown categories go last.
export function categoryOrder(category) {
  if (category === 'Blocks') return -1;
  const index = Object.keys(CATEGORY_COLOURS).indexOf(category);
  return index === -1 ? 99 : index;
}

export function formatShape(shape) {
  if (!Array.isArray(shape)) return '?';
  return `(${shape.join(', ')})`;
}

export function formatCount(n) {
  if (typeof n !== 'number') return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return n.toLocaleString('en-US');
}

// How a parameter value reads inside a text field ("1, 28, 28" for a list).
export function formatValue(value) {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
