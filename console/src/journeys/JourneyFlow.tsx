/**
 * The journey drawn with @xyflow/react from layout.ts: one card per trigger, step and end, with its
 * counts; edges labelled then / else / timeout. Read-only (the YAML beside it is what changes it);
 * every card is a keyboard stop with a spoken label, and the whole drawing has a text alternative
 * (the list of steps under it, on the page).
 */
import { Background, Controls, Handle, MarkerType, type Node, type NodeProps, Position, ReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { JourneyDef } from '#shared/definitions';
import { useFormat } from '../i18n/format';
import { type FlowNode, journeyFlow, NODE_H, NODE_W, type StatsLike } from './layout';

type CardData = FlowNode & Record<string, unknown>;

function Card({ data }: NodeProps<Node<CardData>>) {
  const { t } = useTranslation();
  const f = useFormat();
  const n = data;
  return (
    <div className={`flow-card flow-${n.kind}`} style={{ width: NODE_W, minHeight: NODE_H }}>
      {n.kind !== 'trigger' && <Handle type="target" position={Position.Top} isConnectable={false} />}
      <div className="flow-type">{t(`journeys.kind.${n.kind}`, { type: n.type })}</div>
      <div className="flow-title">{n.kind === 'trigger' || n.kind === 'end' ? t(`journeys.node.${n.kind}`) : n.title}</div>
      {n.detail && <div className="flow-detail">{n.detail}</div>}
      {n.counts.length > 0 && (
        <dl className="flow-counts">
          {n.counts.map((c) => (
            <div key={c.key} className={c.key === 'failed' && c.value > 0 ? 'bad' : undefined}>
              <dt>{t(`journeys.count.${c.key}`)}</dt>
              <dd data-count={c.key}>{f.number(c.value)}</dd>
            </div>
          ))}
        </dl>
      )}
      {n.kind !== 'end' && <Handle type="source" position={Position.Bottom} isConnectable={false} />}
    </div>
  );
}

const nodeTypes = { card: Card };

export default function JourneyFlow({ journey, stats, label }: { journey: JourneyDef; stats?: StatsLike; label: string }) {
  const { t } = useTranslation();
  const f = useFormat();
  const { nodes, edges } = useMemo(() => {
    const flow = journeyFlow(journey, stats);
    const spoken = (n: FlowNode) =>
      [
        t(`journeys.kind.${n.kind}`, { type: n.type }),
        n.kind === 'trigger' || n.kind === 'end' ? t(`journeys.node.${n.kind}`) : n.title,
        n.detail,
        ...n.counts.map((c) => `${t(`journeys.count.${c.key}`)} ${f.number(c.value)}`),
      ]
        .filter(Boolean)
        .join(', ');
    return {
      nodes: flow.nodes.map((n) => ({
        id: n.id,
        type: 'card',
        position: { x: n.x, y: n.y },
        data: n as CardData,
        ariaLabel: spoken(n),
        draggable: false,
        connectable: false,
      })),
      edges: flow.edges.map((e) => ({
        ...e,
        ...(e.label ? { label: t(`journeys.edge.${e.label}`) } : {}),
        type: 'smoothstep',
        markerEnd: { type: MarkerType.ArrowClosed },
      })),
    };
  }, [journey, stats, t, f]);
  // Tall enough that the cards stay readable (fitView would shrink a long journey to a strip).
  const height = Math.min(1100, Math.max(420, 40 + Math.max(...nodes.map((n) => n.position.y)) * 0.8 + NODE_H));
  return (
    <section className="flow" aria-label={label} style={{ height }}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.1 }}
        minZoom={0.2}
        maxZoom={1.5}
        nodesConnectable={false}
        nodesDraggable={false}
        edgesFocusable={false}
        elementsSelectable
        proOptions={{ hideAttribution: false }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </section>
  );
}
