/**
 * A YAML editor (CodeMirror 6 with @codemirror/lang-yaml) checked as you type by `check` — the
 * caller's validator, the same one the API runs: problems are underlined in the text, marked in the
 * gutter and announced to screen readers (the page lists them too). Controlled: `value` in,
 * `onChange` out. Tab is left to the page (keyboard navigation); the editor is one stop. Read-only
 * for those who may not change what it shows.
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { type Diagnostic, linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorState, type Text } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'react';

/** A problem of the text: at its character offsets when known, else on its line, else on the first line. */
export interface EditorProblem {
  message: string;
  /** The field it concerns (`steps[1].subject`), shown before the message. */
  field?: string;
  line?: number;
  from?: number;
  to?: number;
}

export interface YamlEditorProps {
  value: string;
  label: string;
  check: (text: string) => EditorProblem[];
  onChange: (text: string) => void;
  readOnly?: boolean;
  describedBy?: string;
}

function diagnostic(doc: Text, p: EditorProblem): Diagnostic {
  const message = p.field ? `${p.field}: ${p.message}` : p.message;
  if (p.from !== undefined) {
    const from = Math.min(p.from, doc.length);
    return { from, to: Math.min(Math.max(p.to ?? p.from, p.from), doc.length), severity: 'error', message };
  }
  const line = doc.line(Math.min(Math.max(p.line ?? 1, 1), doc.lines));
  return { from: line.from, to: line.to, severity: 'error', message };
}

export default function YamlEditor({ value, label, check, onChange, readOnly, describedBy }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ check, onChange });
  latest.current = { check, onChange };
  // Read-only follows the prop (the session's roles can change while the page stays).
  const editable = useRef(new Compartment());

  // The editor is created once; a new value from outside replaces its text (the next effect).
  // biome-ignore lint/correctness/useExhaustiveDependencies: created once per mount
  useEffect(() => {
    const lint = linter(
      (v) => {
        const doc = v.state.doc;
        return latest.current.check(doc.toString()).map((p) => diagnostic(doc, p));
      },
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
          // Lines wrap and the editor grows with its text: no inner scrolling region (one a keyboard could not reach).
          EditorView.lineWrapping,
          lintGutter(),
          lint,
          keymap.of([...defaultKeymap, ...historyKeymap]),
          editable.current.of(EditorState.readOnly.of(!!readOnly)),
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
    // The marks of the old text would sit on the new one until the next check.
    v.dispatch(setDiagnostics(v.state, []));
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: editable.current.reconfigure(EditorState.readOnly.of(!!readOnly)) });
  }, [readOnly]);

  return <div className="yaml-editor" ref={host} />;
}
