/**
 * Building blocks of the slow reference forward pass: plain loops over float64 vectors, one
 * function per operation, each tested on toy sizes (reference-ops.test.ts).
 *
 * Dimensions: T tokens · E hidden · I intermediate · H heads · K kv heads · D head dim · V vocab ·
 * X experts
 *
 * Precision: weights arrive as f32 (exact in f64); every activation and every sum here is f64.
 * Only the caller rounds, once, when it stores logits as f32.
 */
import type { ExpertWeights, HostTensor } from '../../src/model/types.ts';

/** A float64 activation vector. */
export type Vec = Float64Array;

/** HF LlamaRMSNorm: `x / sqrt(mean(x²) + eps) * w`. x [E], w [E] → [E]. */
export function rmsNorm(x: Vec, w: HostTensor, eps: number): Vec {
  if (w.data.length !== x.length) throw new Error(`rmsNorm: weight ${w.data.length} != ${x.length}`);
  let sumSq = 0;
  for (let i = 0; i < x.length; i++) sumSq += x[i] * x[i];
  const inv = 1 / Math.sqrt(sumSq / x.length + eps);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * inv * w.data[i];
  return out;
}

/** A Linear layer `y = W·x + b`. W [out, in] row-major (HF orientation), x [in], b [out] → [out]. */
export function linear(x: Vec, w: HostTensor, bias: HostTensor | null = null): Vec {
  const [rows, cols] = w.shape;
  if (cols !== x.length) throw new Error(`linear: weight [${w.shape.join(', ')}] vs input ${x.length}`);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = bias ? bias.data[r] : 0;
    const row = r * cols;
    for (let c = 0; c < cols; c++) acc += w.data[row + c] * x[c];
    out[r] = acc;
  }
  return out;
}

/** Softmax, shifted by the max so large inputs do not overflow. x [N] → [N], sums to 1. */
export function softmax(x: ArrayLike<number>): Vec {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(x[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/**
 * Rotary position embedding, HF "rotate_half" convention, applied to every head of x.
 * x [heads·D] → [heads·D] (a new vector). Within one head (D = 8 shown):
 *
 *   [ x0 x1 x2 x3 | x4 x5 x6 x7 ]      pair i = (x_i, x_{i+D/2}) turns by angle pos · θ^(-2i/D)
 *     └──┼──┼──┼────┘  │  │  │
 *        └──┼──┼───────┘  │  │         out_i       = x_i cos − x_{i+D/2} sin
 *           └──┼──────────┘  │         out_{i+D/2} = x_{i+D/2} cos + x_i sin
 *              └─────────────┘
 */
export function rope(x: Vec, headDim: number, position: number, theta: number): Vec {
  if (headDim % 2 !== 0 || x.length % headDim !== 0) throw new Error('rope: bad head dim');
  const half = headDim / 2;
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += headDim) {
    for (let i = 0; i < half; i++) {
      const angle = position * Math.pow(theta, (-2 * i) / headDim);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = x[base + i];
      const b = x[base + i + half];
      out[base + i] = a * cos - b * sin;
      out[base + i + half] = b * cos + a * sin;
    }
  }
  return out;
}

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/**
 * One query attending to every key it may see (the caller passes only positions ≤ its own, which
 * is the causal mask). Scale 1/√D; query head h reads kv head ⌊h / (H/K)⌋ (grouped-query).
 * q [H·D], keys / values: one [K·D] per visible position → [H·D].
 */
export function attendOne(q: Vec, keys: Vec[], values: Vec[], s: AttentionShape): Vec {
  const { numHeads: H, numKvHeads: K, headDim: D } = s;
  if (H % K !== 0) throw new Error(`attention: ${H} heads not a multiple of ${K} kv heads`);
  if (keys.length === 0 || keys.length !== values.length) throw new Error('attention: no keys');
  const group = H / K;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(H * D);
  for (let h = 0; h < H; h++) {
    const qOff = h * D;
    const kvOff = Math.floor(h / group) * D;
    const scores = keys.map((k) => {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qOff + d] * k[kvOff + d];
      return dot * scale;
    });
    const p = softmax(scores);
    for (let j = 0; j < values.length; j++) {
      for (let d = 0; d < D; d++) out[qOff + d] += p[j] * values[j][kvOff + d];
    }
  }
  return out;
}

/** The SwiGLU MLP `down(silu(gate·x) ⊙ up·x)`. x [E] → [E] (gate, up [I, E]; down [E, I]). */
export function swiglu(x: Vec, w: ExpertWeights): Vec {
  const gate = linear(x, w.gate);
  const up = linear(x, w.up);
  const hidden = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) hidden[i] = silu(gate[i]) * up[i];
  return linear(hidden, w.down);
}

export interface Route {
  /** Chosen expert indices, highest probability first (ties: lower index first). */
  experts: number[];
  /** Gate weight of each chosen expert, same order. */
  weights: number[];
}

/**
 * Top-k gating: softmax over all X router logits, keep the k most probable (ties broken by the
 * lower expert index), renormalise the k weights to sum 1 when `normTopkProb`. logits [X].
 * (Mixtral's renormalised top-k of the full softmax equals a softmax over the top-k logits.)
 */
export function moeRoute(logits: ArrayLike<number>, topK: number, normTopkProb: boolean): Route {
  if (topK < 1 || topK > logits.length) throw new Error(`moe: topK ${topK} of ${logits.length}`);
  const probs = softmax(logits);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  const experts = order.slice(0, topK);
  let weights = experts.map((e) => probs[e]);
  if (normTopkProb) {
    const sum = weights.reduce((a, b) => a + b, 0);
    weights = weights.map((w) => w / sum);
  }
  return { experts, weights };
}

/** Σ_e w_e · expert_e(x) over the routed experts. x [E] → [E]. */
export function moeMlp(x: Vec, experts: ExpertWeights[], route: Route): Vec {
  const out = new Float64Array(x.length);
  route.experts.forEach((e, i) => {
    const y = swiglu(x, experts[e]);
    for (let d = 0; d < out.length; d++) out[d] += route.weights[i] * y[d];
  });
  return out;
}
