/**
 * The journey's YAML in CodeMirror 6 (@codemirror/lang-yaml), checked as you type by `check` (the
 * API's own validator, validate.ts): problems are underlined in the text, marked in the gutter and
 * listed below it, announced to screen readers. Tab is left to the page (keyboard navigation); the
 * editor is one stop.
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';
import { type Diagnostic, linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'react';
import type { Problem } from './validate';

export interface YamlEditorProps {
  value: string;
  label: string;
  /** Checks the text; its problems are shown in the editor (the page lists them too). */
  check: (text: string) => Problem[];
  onChange: (text: string) => void;
  readOnly?: boolean;
  describedBy?: string;
}

export default function YamlEditor({ value, label, check, onChange, readOnly, describedBy }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ check, onChange });
  latest.current = { check, onChange };

  // The editor is created once; a new value from outside replaces its text (the next effect).
  // biome-ignore lint/correctness/useExhaustiveDependencies: created once per mount
  useEffect(() => {
    const lint = linter(
      (v): Diagnostic[] =>
        latest.current.check(v.state.doc.toString()).map((p) => ({
          from: Math.min(p.from, v.state.doc.length),
          to: Math.min(Math.max(p.to, p.from), v.state.doc.length),
          severity: 'error',
          message: `${p.field}: ${p.message}`,
        })),
      { delay: 250 },
    );
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          yaml(),
          // Long lines wrap: no sideways scrolling inside the editor.
          EditorView.lineWrapping,
          lintGutter(),
          lint,
          keymap.of([...defaultKeymap, ...historyKeymap]),
          EditorState.readOnly.of(!!readOnly),
          EditorView.contentAttributes.of({ 'aria-label': label, ...(describedBy ? { 'aria-describedby': describedBy } : {}) }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) latest.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, []);

  useEffect(() => {
    const v = view.current;
    if (!v || v.state.doc.toString() === value) return;
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    v.dispatch(setDiagnostics(v.state, []));
  }, [value]);

  return <div className="yaml-editor" ref={host} />;
}
