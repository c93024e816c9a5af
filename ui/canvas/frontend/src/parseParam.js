// Turns what a person typed into a parameter value, or a message saying how to fix it.

// Returns {value} (undefined = back to the default) or {error} with a message a student can act on.
export function parseParam(param, text) {
  const raw = text.trim();
  if (raw === '') return { value: undefined };
  if (param.kind === 'int' || param.kind === 'float') {
    const number = Number(raw);
    if (!Number.isFinite(number)) return { error: `${param.name} must be a number` };
    if (param.kind === 'int' && !Number.isInteger(number)) return { error: `${param.name} must be a whole number` };
    if (param.min !== null && param.min !== undefined && number < param.min) return { error: `${param.name} must be at least ${param.min}` };
    if (param.max !== null && param.max !== undefined && number > param.max) return { error: `${param.name} must be at most ${param.max}` };
    return { value: number };
  }
  if (param.kind === 'ints' || param.kind === 'shape') {
    if ((param.choices || []).includes(raw)) return { value: raw };
    const parts = raw.replace(/[()[\]]/g, '').split(/[\s,]+/).filter(Boolean);
    const numbers = parts.map(Number);
    if (!numbers.every(Number.isInteger)) return { error: `${param.name}: whole numbers separated by commas, e.g. 1, 28, 28` };
    return { value: param.kind === 'ints' && numbers.length === 1 ? numbers[0] : numbers };
  }
  return { value: raw };
}
