/**
 * The parts of an ASL definition the console reads. A Parallel state's branches are drawn beside each other
 * in the same graph: the Parallel state forks into each branch's first state, and each branch's last state
 * joins the Parallel state's next one. State names are unique within a definition, branches included.
 */
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly End?: boolean;
  readonly Choices?: readonly { Next?: string }[];
  readonly Catch?: readonly { Next?: string; ErrorEquals?: string[] }[];
  readonly ItemsPath?: string;
  readonly Branches?: readonly AslDefinition[];
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
  readonly kind: 'next' | 'choice' | 'default' | 'catch' | 'branch';
}

/** Every state the graph draws, by name: the top-level ones and those of Parallel branches. */
export function graphStates(definition: AslDefinition): Record<string, AslState> {
  const states: Record<string, AslState> = {};
  const visit = (d: AslDefinition) => {
    for (const [name, state] of Object.entries(d.States)) {
      states[name] = state;
      state.Branches?.forEach(visit);
    }
  };
  visit(definition);
  return states;
}

/** The Parallel state each state of a branch runs in. */
export function parallelOf(definition: AslDefinition): Map<string, string> {
  const parents = new Map<string, string>();
  for (const [name, state] of Object.entries(graphStates(definition)))
    for (const branch of state.Branches ?? [])
      for (const inner of Object.keys(branch.States)) parents.set(inner, name);
  return parents;
}

/** Every transition the graph draws, Parallel forks and joins included. */
export function edgesOf(definition: AslDefinition): Edge[] {
  const edges: Edge[] = [];
  for (const [name, state] of Object.entries(graphStates(definition))) {
    if (state.Branches) {
      for (const branch of state.Branches) {
        edges.push({ from: name, to: branch.StartAt, kind: 'branch' });
        if (state.Next)
          for (const [inner, s] of Object.entries(branch.States))
            if (s.End && s.Type !== 'Fail') edges.push({ from: inner, to: state.Next, kind: 'next' });
      }
    } else if (state.Next) edges.push({ from: name, to: state.Next, kind: 'next' });
    for (const choice of state.Choices ?? [])
      if (choice.Next) edges.push({ from: name, to: choice.Next, kind: 'choice' });
    if (state.Default) edges.push({ from: name, to: state.Default, kind: 'default' });
    for (const c of state.Catch ?? []) if (c.Next) edges.push({ from: name, to: c.Next, kind: 'catch' });
  }
  // One edge per pair: a Choice whose rules lead to the same state draws one line.
  return edges.filter((e, i) => edges.findIndex((o) => o.from === e.from && o.to === e.to) === i);
}
