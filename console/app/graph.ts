import * as dagre from '@dagrejs/dagre';

import { edgesOf, graphStates, type AslDefinition, type Edge } from './asl';

export interface LaidOut {
  readonly width: number;
  readonly height: number;
  readonly nodes: Map<string, { x: number; y: number; width: number; height: number }>;
  readonly edges: { edge: Edge; points: { x: number; y: number }[] }[];
}

const NODE_HEIGHT = 34;
const CHAR_WIDTH = 7.2;

/** Lays the graph out top to bottom with dagre (the layout the Step Functions console's graph resembles). */
export function layout(definition: AslDefinition): LaidOut {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const states = graphStates(definition);
  for (const name of Object.keys(states))
    g.setNode(name, { width: Math.max(90, name.length * CHAR_WIDTH + 28), height: NODE_HEIGHT });
  const edges = edgesOf(definition).filter((e) => e.to in states);
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
