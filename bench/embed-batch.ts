/**
 * Does batching embeddings pay on this machine? Runs MobileNetV2 (the engine's model and backend)
 * on batches of 1, 2, 4 and 8 random 224x224 images and prints the median time per image.
 *
 *   npm run build && node dist/bench/embed-batch.js [--rounds 15]
 *
 * A benchmark, not a test: it asserts nothing.
 */
import { parseArgs } from 'node:util';
import { MOBILENET_V2_INPUT_SIZE, loadMobileNetV2 } from '../src/embedding/mobilenet-v2.js';
import type { Tensor } from '@tensorflow/tfjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);

async function main(): Promise<void> {
  const features = await loadMobileNetV2();
  const { tf } = features.runtime;
  const size = MOBILENET_V2_INPUT_SIZE;
  console.log(`embedding batches; backend ${features.runtime.backend}; node ${process.version}; ${rounds} rounds each`);
  for (const batch of [1, 2, 4, 8]) {
    const input = new Float32Array(batch * size * size * 3).map(() => Math.random());
    const times: number[] = [];
    for (let round = 0; round < rounds + 2; round++) {
      const start = performance.now();
      const output = tf.tidy(() => features.model.predict(tf.tensor4d(input, [batch, size, size, 3], 'float32')) as Tensor);
      await output.data();
      output.dispose();
      // The first two rounds warm up the backend's kernels for this shape.
      if (round >= 2) times.push((performance.now() - start) / batch);
    }
    times.sort((a, b) => a - b);
    console.log(`batch ${batch}: median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms per image (min ${times[0]!.toFixed(1)})`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
