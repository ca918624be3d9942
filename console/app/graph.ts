import * as dagre from '@dagrejs/dagre';

/** A top-level state of an ASL definition, as far as the graph needs it. */
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly End?: boolean;
  readonly Choices?: readonly { Next?: string }[];
  readonly Catch?: readonly { Next?: string; ErrorEquals?: string[] }[];
  readonly ItemsPath?: string;
  readonly ItemProcessor?: { States: Record<string, AslState> };
  readonly Iterator?: { States: Record<string, AslState> };
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly kind: 'next' | 'choice' | 'default' | 'catch';
}

export interface LaidOut {
  readonly width: number;
  readonly height: number;
  readonly nodes: Map<string, { x: number; y: number; width: number; height: number }>;
  readonly edges: { edge: Edge; points: { x: number; y: number }[] }[];
}

/** Every transition the definition allows between its top-level states. */
export function edgesOf(definition: AslDefinition): Edge[] {
  const edges: Edge[] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Next) edges.push({ from: name, to: state.Next, kind: 'next' });
    for (const choice of state.Choices ?? [])
      if (choice.Next) edges.push({ from: name, to: choice.Next, kind: 'choice' });
    if (state.Default) edges.push({ from: name, to: state.Default, kind: 'default' });
    for (const c of state.Catch ?? []) if (c.Next) edges.push({ from: name, to: c.Next, kind: 'catch' });
  }
  // One edge per pair: a Choice whose rules lead to the same state draws one line.
  return edges.filter((e, i) => edges.findIndex((o) => o.from === e.from && o.to === e.to) === i);
}

const NODE_HEIGHT = 34;
const CHAR_WIDTH = 7.2;

/** Lays the graph out top to bottom with dagre (the layout the Step Functions console's graph resembles). */
export function layout(definition: AslDefinition): LaidOut {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of Object.keys(definition.States))
    g.setNode(name, { width: Math.max(90, name.length * CHAR_WIDTH + 28), height: NODE_HEIGHT });
  const edges = edgesOf(definition).filter((e) => e.to in definition.States);
  for (const e of edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const nodes = new Map<string, { x: number; y: number; width: number; height: number }>();
  // graphlib's labels are untyped: these are the fields dagre.layout writes.
  for (const name of g.nodes()) {
    const n = g.node(name) as { x: number; y: number; width: number; height: number };
    nodes.set(name, { x: n.x, y: n.y, width: n.width, height: n.height });
  }
  const graph = g.graph() as { width?: number; height?: number };
  const pointsOf = (edge: Edge) =>
    (g.edge(edge.from, edge.to) as { points?: { x: number; y: number }[] }).points ?? [];
  return {
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    nodes,
    edges: edges.map((edge) => ({ edge, points: pointsOf(edge) })),
  };
}
