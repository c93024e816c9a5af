// One typed parameter field. Text-like fields keep a local draft and commit on blur or Enter
// (each commit reruns the Streamlit script); a draft that does not parse stays in the field with
// a message and is never sent, so a typo cannot break the graph.
import { useEffect, useState } from 'react';
import { formatValue } from './format.js';
import { parseParam } from './parseParam.js';

const DTYPES = ['float', 'long'];

export default function ParamField({ param, value, resolved, onCommit }) {
  if (param.inferred) {
    return (
      <span className="ll-auto" title="Inferred from the incoming shape">
        auto{resolved !== undefined && resolved !== null ? ` · ${formatValue(resolved)}` : ''}
      </span>
    );
  }
  if (param.kind === 'bool') {
    return (
      <input
        type="checkbox"
        className="nodrag"
        aria-label={param.name}
        checked={Boolean(value ?? param.default)}
        onChange={(event) => onCommit(event.target.checked)}
      />
    );
  }
  const choices = selectChoices(param);
  if (choices) return <ChoiceField param={param} choices={choices} value={value} onCommit={onCommit} />;
  return <TextField param={param} value={value} onCommit={onCommit} />;
}

// A dropdown for choice and dtype params; an "ints" param's choices are extra allowed words
// (padding="same") typed into its text field instead.
function selectChoices(param) {
  if (param.kind === 'dtype') return param.choices?.length ? param.choices : DTYPES;
  if (param.kind === 'choice') return param.choices || [];
  return null;
}

function ChoiceField({ param, choices, value, onCommit }) {
  const current = value ?? param.default;
  return (
    <select
      className="nodrag"
      aria-label={param.name}
      value={formatValue(current)}
      onChange={(event) => onCommit(choices.find((c) => formatValue(c) === event.target.value))}
    >
      {current === undefined || current === null ? <option value="">choose…</option> : null}
      {choices.map((choice) => (
        <option key={formatValue(choice)} value={formatValue(choice)}>{formatValue(choice)}</option>
      ))}
    </select>
  );
}

function TextField({ param, value, onCommit }) {
  const shown = formatValue(value);
  const [draft, setDraft] = useState(shown);
  const [error, setError] = useState(null);
  useEffect(() => { setDraft(shown); setError(null); }, [shown]); // undo/redo or Python changed it

  const commit = () => {
    if (draft === shown) return;
    const parsed = parseParam(param, draft);
    setError(parsed.error || null);
    if (!parsed.error) onCommit(parsed.value);
  };
  const numeric = param.kind === 'int' || param.kind === 'float';
  return (
    <span className="ll-text-field">
      <input
        className={`nodrag${error ? ' ll-invalid' : ''}`}
        aria-label={param.name}
        aria-invalid={Boolean(error)}
        inputMode={numeric ? 'decimal' : 'text'}
        placeholder={formatValue(param.default) || 'required'}
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === 'Enter') commit();
          if (event.key === 'Escape') { setDraft(shown); setError(null); }
        }}
      />
      {error && <span className="ll-field-error" role="alert">{error}</span>}
    </span>
  );
}
