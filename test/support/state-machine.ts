/**
 * Runs a Step Functions definition (Amazon States Language, JSONPath) the way the service would, for the
 * states the rebuild runner uses: Task, Map (inline or distributed: items from `ItemsPath`, `ItemSelector`,
 * `MaxConcurrency`), Choice (`BooleanEquals`, `StringEquals`), Wait (not waited), Succeed; `Parameters` and
 * `ResultSelector` with `.$` paths, `ResultPath`, `OutputPath`, and `Retry` on `States.TaskFailed`. A task
 * is answered by `call(resource, input)`. Enough to test the synthesised definition against real workers;
 * not a general interpreter.
 */
export type TaskCall = (resource: string, input: unknown) => Promise<unknown>;

interface State {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ResultSelector?: Record<string, unknown>;
  readonly ResultPath?: string | null;
  readonly OutputPath?: string | null;
  readonly Retry?: readonly { ErrorEquals: string[]; MaxAttempts?: number }[];
  readonly Choices?: readonly { Variable: string; BooleanEquals?: boolean; StringEquals?: string; Next: string }[];
  readonly Default?: string;
  readonly ItemsPath?: string;
  readonly ItemSelector?: Record<string, unknown>;
  readonly MaxConcurrency?: number;
  readonly ItemProcessor?: Machine;
}

export interface Machine {
  readonly StartAt: string;
  readonly States: Record<string, State>;
}

/** `$`, `$.a.b`, `$.a[0].b`, and `$$.Map.Item.Value` (from the context). */
function read(path: string, input: unknown, context: unknown): unknown {
  const [root, rest] = path.startsWith('$$') ? [context, path.slice(2)] : [input, path.slice(1)];
  let value = root;
  for (const part of rest.split(/\.|\[(\d+)\]/).filter((segment) => segment !== undefined && segment !== '')) {
    value = (value as Record<string, unknown> | undefined)?.[part];
  }
  return value;
}

function fill(template: Record<string, unknown>, input: unknown, context: unknown): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(template).map(([key, value]) =>
      key.endsWith('.$')
        ? [key.slice(0, -2), read(value as string, input, context)]
        : [key, typeof value === 'object' && value !== null && !Array.isArray(value) ? fill(value as Record<string, unknown>, input, context) : value],
    ),
  );
}

function place(input: unknown, result: unknown, path: string | null | undefined): unknown {
  if (path === null) return input;
  if (path === undefined || path === '$') return result;
  const names = path.slice(2).split('.');
  const copy = structuredClone(input) as Record<string, unknown>;
  let target = copy;
  for (const name of names.slice(0, -1)) target = (target[name] ??= {}) as Record<string, unknown>;
  target[names.at(-1)!] = result;
  return copy;
}

export async function runMachine(machine: Machine, input: unknown, call: TaskCall, context: unknown = {}): Promise<unknown> {
  let name = machine.StartAt;
  let data = input;
  for (let steps = 0; ; steps += 1) {
    if (steps > 100_000) throw new Error('the state machine does not end');
    const state = machine.States[name];
    if (state === undefined) throw new Error(`no state ${name}`);
    let output: unknown;
    switch (state.Type) {
      case 'Task': {
        const parameters = state.Parameters === undefined ? data : fill(state.Parameters, data, context);
        const retries = state.Retry?.find((retry) => retry.ErrorEquals.includes('States.TaskFailed'))?.MaxAttempts ?? 0;
        let result: unknown;
        for (let attempt = 0; ; attempt += 1) {
          try {
            result = await call(state.Resource ?? '', parameters);
            break;
          } catch (error) {
            if (attempt >= retries) throw error;
          }
        }
        if (state.ResultSelector !== undefined) result = fill(state.ResultSelector, result, context);
        output = place(data, result, state.ResultPath);
        break;
      }
      case 'Map': {
        const items = read(state.ItemsPath ?? '$', data, context) as unknown[];
        const results: unknown[] = new Array(items.length);
        let next = 0;
        const worker = async (): Promise<void> => {
          for (let index = next++; index < items.length; index = next++) {
            const itemContext = { Map: { Item: { Index: index, Value: items[index] } } };
            const itemInput = state.ItemSelector === undefined ? items[index] : fill(state.ItemSelector, data, itemContext);
            results[index] = await runMachine(state.ItemProcessor!, itemInput, call, itemContext);
          }
        };
        await Promise.all(Array.from({ length: Math.min(items.length, state.MaxConcurrency || items.length) }, worker));
        output = place(data, results, state.ResultPath);
        break;
      }
      case 'Choice': {
        const choice = state.Choices?.find((candidate) => {
          const value = read(candidate.Variable, data, context);
          return candidate.BooleanEquals !== undefined ? value === candidate.BooleanEquals : value === candidate.StringEquals;
        });
        name = choice?.Next ?? state.Default ?? '';
        continue;
      }
      case 'Wait':
        output = data;
        break;
      case 'Succeed':
        return state.OutputPath === null ? {} : data;
      default:
        throw new Error(`state type ${state.Type} is not run here`);
    }
    data = state.OutputPath === null ? {} : output;
    if (state.End === true) return data;
    name = state.Next ?? '';
  }
}

/** The definition of a synthesised stack's one state machine, its CloudFormation tokens written as `<{...}>`. */
export function synthesisedDefinition(template: { findResources(type: string): Record<string, Record<string, any>> }): Machine {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = machine?.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/"/g, "'")}>`)).join('')) as Machine;
}
