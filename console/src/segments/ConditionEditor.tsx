/**
 * The builder's form: a group (all / any, optionally negated) of conditions and groups. Every field
 * has a label (visible or, inside a row, for assistive technology); the tree is edited immutably and
 * handed back whole through `onChange`.
 */
import { type ReactNode, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { type FormGroup, type FormLeaf, type FormNode, type FormTest, LEAF_KINDS, type LeafKind, newLeaf, OPERATORS } from './model';

export interface Choices {
  computed: string[];
  segments: string[];
  identifierTypes: string[];
  channels: string[];
}

interface NodeProps<N> {
  node: N;
  onChange(n: N): void;
  onRemove?: () => void;
  choices: Choices;
  depth: number;
}

export function GroupEditor({ node, onChange, onRemove, choices, depth }: NodeProps<FormGroup & { not?: boolean }>) {
  const { t } = useTranslation();
  const set = (i: number, n: FormNode) => onChange({ ...node, children: node.children.map((c, j) => (j === i ? n : c)) });
  const remove = (i: number) => onChange({ ...node, children: node.children.filter((_, j) => j !== i) });
  const add = (kind: LeafKind | 'group') =>
    onChange({ ...node, children: [...node.children, kind === 'group' ? { kind: 'group', op: 'all', children: [] } : newLeaf(kind)] });
  return (
    <fieldset className={`group depth-${Math.min(depth, 3)}`}>
      <legend className="row">
        <NotToggle value={!!node.not} onChange={(not) => onChange({ ...node, not })} label={t('builder.notGroup')} />
        <select aria-label={t('builder.groupOp')} value={node.op} onChange={(e) => onChange({ ...node, op: e.target.value as 'all' | 'any' })}>
          <option value="all">{t('builder.all')}</option>
          <option value="any">{t('builder.any')}</option>
        </select>
        {onRemove && <RemoveButton onClick={onRemove} label={t('builder.removeGroup')} />}
      </legend>
      {node.children.length === 0 && <p className="muted small">{t('builder.emptyGroup')}</p>}
      <ol className="conditions">
        {node.children.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: conditions have no identity of their own; their place is their key.
          <li key={i}>
            {c.kind === 'group' ? (
              <GroupEditor node={c} onChange={(n) => set(i, n)} onRemove={() => remove(i)} choices={choices} depth={depth + 1} />
            ) : (
              <LeafEditor node={c} onChange={(n) => set(i, n)} onRemove={() => remove(i)} choices={choices} depth={depth + 1} />
            )}
          </li>
        ))}
      </ol>
      <AddMenu onAdd={add} />
    </fieldset>
  );
}

function AddMenu({ onAdd }: { onAdd(kind: LeafKind | 'group'): void }) {
  const { t } = useTranslation();
  return (
    <div className="row add-menu">
      {LEAF_KINDS.map((k) => (
        <button key={k} type="button" className="button secondary small" onClick={() => onAdd(k)}>
          + {t(`builder.kind.${k}`)}
        </button>
      ))}
      <button type="button" className="button secondary small" onClick={() => onAdd('group')}>
        + {t('builder.group')}
      </button>
    </div>
  );
}

function NotToggle({ value, onChange, label }: { value: boolean; onChange(v: boolean): void; label: string }) {
  const { t } = useTranslation();
  return (
    <label className="not-toggle" title={label}>
      <input type="checkbox" checked={value} onChange={(e) => onChange(e.target.checked)} /> {t('builder.not')}
    </label>
  );
}

function RemoveButton({ onClick, label }: { onClick(): void; label: string }) {
  return (
    <button type="button" className="button secondary small remove" onClick={onClick} aria-label={label} title={label}>
      ×
    </button>
  );
}

function LeafEditor({ node, onChange, onRemove, choices }: NodeProps<FormLeaf & { not?: boolean }>) {
  const { t } = useTranslation();
  const base = useId();
  // An explicit label per field (a label wrapping a select would read its options into its name).
  const field = (label: string, input: (id: string) => ReactNode, key = label) => {
    const id = `${base}-${key.replace(/\W+/g, '-')}`;
    return (
      <span className="field" key={key}>
        <label className="field-label" htmlFor={id}>
          {label}
        </label>
        {input(id)}
      </span>
    );
  };
  let body: ReactNode;
  switch (node.kind) {
    case 'trait':
      body = (
        <>
          {field(t('builder.traitPath'), (id) => (
            <input id={id} type="text" className="short" value={node.path} onChange={(e) => onChange({ ...node, path: e.target.value })} />
          ))}
          <TestsEditor tests={node.tests} onChange={(tests) => onChange({ ...node, tests })} />
        </>
      );
      break;
    case 'computed':
      body = (
        <>
          {field(t('builder.computedId'), (id) => (
            <select id={id} value={node.id} onChange={(e) => onChange({ ...node, id: e.target.value })}>
              <option value="">{t('builder.choose')}</option>
              {choices.computed.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          ))}
          <TestsEditor tests={node.tests} onChange={(tests) => onChange({ ...node, tests })} />
        </>
      );
      break;
    case 'identifier':
      body = (
        <>
          {field(t('builder.identifierType'), (id) => (
            <select id={id} value={node.idType} onChange={(e) => onChange({ ...node, idType: e.target.value })}>
              {choices.identifierTypes.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          ))}
          <TestsEditor tests={node.tests} onChange={(tests) => onChange({ ...node, tests })} optional />
        </>
      );
      break;
    case 'consent':
      body = field(t('builder.channel'), (id) => (
        <select id={id} value={node.channel} onChange={(e) => onChange({ ...node, channel: e.target.value })}>
          {[...new Set([...choices.channels, node.channel])].map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      ));
      break;
    case 'segment':
      body = field(t('builder.segmentId'), (id) => (
        <select id={id} value={node.id} onChange={(e) => onChange({ ...node, id: e.target.value })}>
          <option value="">{t('builder.choose')}</option>
          {choices.segments.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      ));
      break;
    case 'event':
      body = (
        <>
          {field(t('builder.eventName'), (id) => (
            <input id={id} type="text" className="short" value={node.event} onChange={(e) => onChange({ ...node, event: e.target.value })} />
          ))}
          <div className="row">
            <span className="field-label">{t('builder.count')}</span>
            <TestsEditor tests={node.count} onChange={(count) => onChange({ ...node, count })} ops={['gte', 'gt', 'lte', 'lt', 'eq', 'ne']} />
          </div>
          {field(t('builder.within'), (id) => (
            <input id={id} type="text" className="tiny" value={node.within} placeholder="30d" onChange={(e) => onChange({ ...node, within: e.target.value })} />
          ))}
          <div className="filters">
            {node.where.map((f, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: filters have no identity of their own.
              <div key={i} className="row filter">
                {field(
                  t('builder.property'),
                  (id) => (
                    <input
                      id={id}
                      type="text"
                      className="short"
                      value={f.path}
                      placeholder="properties.total"
                      onChange={(e) => onChange({ ...node, where: node.where.map((x, j) => (j === i ? { ...x, path: e.target.value } : x)) })}
                    />
                  ),
                  `property-${i}`,
                )}
                <TestsEditor tests={f.tests} onChange={(tests) => onChange({ ...node, where: node.where.map((x, j) => (j === i ? { ...x, tests } : x)) })} />
                <RemoveButton onClick={() => onChange({ ...node, where: node.where.filter((_, j) => j !== i) })} label={t('builder.removeFilter')} />
              </div>
            ))}
            <button
              type="button"
              className="button secondary small"
              onClick={() => onChange({ ...node, where: [...node.where, { path: 'properties.', tests: [{ op: 'eq', value: '' }] }] })}
            >
              + {t('builder.addFilter')}
            </button>
          </div>
        </>
      );
      break;
  }
  return (
    <div className="leaf">
      <div className="row leaf-head">
        <NotToggle value={!!node.not} onChange={(not) => onChange({ ...node, not })} label={t('builder.notCondition')} />
        <strong>{t(`builder.kind.${node.kind}`)}</strong>
        {onRemove && <RemoveButton onClick={onRemove} label={t('builder.removeCondition')} />}
      </div>
      <div className="row leaf-body">{body}</div>
    </div>
  );
}

function TestsEditor({
  tests,
  onChange,
  ops = OPERATORS,
  optional,
}: {
  tests: FormTest[];
  onChange(t: FormTest[]): void;
  ops?: readonly string[];
  optional?: boolean;
}) {
  const { t } = useTranslation();
  const set = (i: number, x: FormTest) => onChange(tests.map((y, j) => (j === i ? x : y)));
  return (
    <span className="row tests">
      {tests.map((x, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: operators of one field have no identity of their own.
        <span key={i} className="row test">
          <select aria-label={t('builder.operator')} value={x.op} onChange={(e) => set(i, { ...x, op: e.target.value as FormTest['op'] })}>
            {ops.map((o) => (
              <option key={o} value={o}>
                {t(`builder.op.${o as FormTest['op']}`)}
              </option>
            ))}
          </select>
          <input type="text" className="tiny" aria-label={t('builder.value')} value={x.value} onChange={(e) => set(i, { ...x, value: e.target.value })} />
          {(tests.length > 1 || optional) && <RemoveButton onClick={() => onChange(tests.filter((_, j) => j !== i))} label={t('builder.removeTest')} />}
        </span>
      ))}
      <button
        type="button"
        className="button secondary small"
        onClick={() => onChange([...tests, { op: ops[0] as FormTest['op'], value: '' }])}
        aria-label={t('builder.addTest')}
        title={t('builder.addTest')}
      >
        +
      </button>
    </span>
  );
}
