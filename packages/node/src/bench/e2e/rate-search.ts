/**
 * Finds the end-to-end sustained maximum: a closed-loop probe (each publisher
 * keeps `window` commands not yet reported) gives the rate the system reaches
 * when saturated; then open-loop steps at fixed rates, starting there, climb
 * while they keep up and descend while they do not. The maximum is the highest
 * step that kept up; its measured throughput is the figure.
 */
import type { StepResult } from "./e2e-step.js";

export interface LadderPlan {
  start: number;
  up: number;
  upsMax: number;
  down: number;
  downsMax: number;
}

/**
 * Runs `step(rate)` along the ladder from `estimate`; returns every step and the
 * best one that kept up (undefined when none did).
 */
export async function searchMaxRate(
  estimate: number,
  plan: LadderPlan,
  step: (rate: number) => Promise<StepResult>,
): Promise<{ steps: StepResult[]; best: StepResult | undefined }> {
  const steps: StepResult[] = [];
  let rate = Math.max(1, Math.round(estimate * plan.start));
  const first = await step(rate);
  steps.push(first);
  if (first.keptUp) {
    let best = first;
    for (let i = 0; i < plan.upsMax; i++) {
      rate = Math.round(rate * plan.up);
      const s = await step(rate);
      steps.push(s);
      if (!s.keptUp) break;
      best = s;
    }
    return { steps, best };
  }
  for (let i = 0; i < plan.downsMax; i++) {
    rate = Math.max(1, Math.round(rate * plan.down));
    const s = await step(rate);
    steps.push(s);
    if (s.keptUp) return { steps, best: s };
  }
  return { steps, best: undefined };
}
