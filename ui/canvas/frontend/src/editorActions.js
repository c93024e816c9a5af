// Edit actions (set a parameter, apply a fix, undo, ...) reach nested components through context,
// so node data stays plain and React Flow can compare it cheaply.
import { createContext, useContext } from 'react';

export const EditorActions = createContext(null);

export function useEditorActions() {
  return useContext(EditorActions);
}
