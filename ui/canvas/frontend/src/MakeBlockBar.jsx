// Asks the new block's name, above the canvas, while "Make block" waits for it.
export default function MakeBlockBar({ count, makeBlock }) {
  const { naming, setNaming, submit, cancel } = makeBlock;
  const onSubmit = (event) => {
    event.preventDefault();
    if (naming.trim()) submit(naming);
  };
  return (
    <form className="ll-blockbar ll-makeblock" onSubmit={onSubmit} aria-label="Make block">
      <label>
        Make a block of the {count} selected layer{count === 1 ? '' : 's'}, named{' '}
        <input autoFocus value={naming} onChange={(event) => setNaming(event.target.value)}
          onKeyDown={(event) => { if (event.key === 'Escape') cancel(); }}
          aria-label="Block name" spellCheck={false} />
      </label>
      <button type="submit" className="ll-fix">Make block</button>
      <button type="button" className="ll-fix" onClick={cancel}>Cancel</button>
      <span className="ll-blockbar-note">It replaces them with one block node wired the same way; Undo takes it apart.</span>
    </form>
  );
}
