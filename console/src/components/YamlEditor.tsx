/**
 * A YAML editor (CodeMirror 6 with YAML highlighting) whose lint is the caller's validator — the
 * same one the API runs — so a problem shows as you type. Controlled: `value` in, `onChange` out.
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { type Diagnostic, linter, lintGutter } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'react';

export interface YamlEditorProps {
  value: string;
  onChange(text: string): void;
  /** Problems of the text: each on its line when known, else on the first. */
  problems(text: string): { message: string; line?: number }[];
  label: string;
}

export default function YamlEditor({ value, onChange, problems, label }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ onChange, problems });
  latest.current = { onChange, problems };

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is made once; later values arrive through the effect below.
  useEffect(() => {
    const lint = linter(
      (v) => {
        const doc = v.state.doc;
        return latest.current.problems(doc.toString()).map((p): Diagnostic => {
          const line = doc.line(Math.min(Math.max(p.line ?? 1, 1), doc.lines));
          return { from: line.from, to: line.to, severity: 'error', message: p.message };
        });
      },
      { delay: 250 },
    );
    view.current = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle),
          yaml(),
          lintGutter(),
          lint,
          keymap.of([...defaultKeymap, ...historyKeymap]),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          // Lines wrap and the editor grows with its text: no inner scrolling region (one a keyboard could not reach).
          EditorView.lineWrapping,
          EditorView.updateListener.of((u) => {
            if (u.docChanged) latest.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return <div className="yaml-editor" ref={host} />;
}
