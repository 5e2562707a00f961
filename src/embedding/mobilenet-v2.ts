/**
 * The MobileNetV2 weights that ship inside the nsfwjs npm package, loaded straight from its
 * JS bundles with `tf.io.fromMemory`: no network, no files written, ~0.1-0.2 s instead of the
 * 4-50 s nsfwjs's own loader takes. The network was fine-tuned from ImageNet weights for
 * nsfwjs's five classes; sagasu only uses its last convolutional feature map.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { SagasuError } from '../errors.js';
import { loadTfjsRuntime, type BackendRequest, type TfjsRuntime } from './tfjs-runtime.js';

/** Side of the square input the network was trained on. */
export const MOBILENET_V2_INPUT_SIZE = 224;
/** Channels of the last conv map (`out_relu`) and of the pooled feature (`flatten_1`). */
export const MOBILENET_V2_CHANNELS = 1280;
/** Spatial positions of the last conv map at 224 px input (7 x 7). */
export const MOBILENET_V2_POSITIONS = 49;
/** The layer whose output is pooled: the last ReLU, before the network's own average pooling. */
export const MOBILENET_V2_FEATURE_LAYER = 'out_relu';

export interface FeatureModel {
  readonly runtime: TfjsRuntime;
  /** Maps [n, 224, 224, 3] floats in [0, 1] to the [n, 7, 7, 1280] `out_relu` map. */
  readonly model: Tf.LayersModel;
  /** Version of the nsfwjs package the weights came from. */
  readonly weightsVersion: string;
  /** Milliseconds spent reading the bundles, building the model and one warm-up prediction (runtime start-up excluded). */
  readonly loadMs: number;
}

interface ModelJson {
  modelTopology: Tf.io.ModelArtifacts['modelTopology'];
  weightsManifest: { paths: string[]; weights: Tf.io.WeightsManifestEntry[] }[];
}

const require = createRequire(import.meta.url);

let featureModel: Promise<FeatureModel> | undefined;
let loads = 0;

/** How many times this thread has built the model (tests check that it is shared). */
export function mobileNetV2LoadCount(): number {
  return loads;
}

/** The folder of the installed nsfwjs package (its "exports" map hides the model bundles). */
export function nsfwjsRoot(): string {
  try {
    // The "require" export is dist/cjs/index.js: three levels below the package root.
    return dirname(dirname(dirname(require.resolve('nsfwjs'))));
  } catch (cause) {
    throw new SagasuError('EMBED_FAILED', 'the nsfwjs package (which ships the MobileNetV2 weights) is not installed', { cause });
  }
}

let version: string | undefined;
/** Version of the installed nsfwjs package, part of every model id. */
export function nsfwjsVersion(): string {
  version ??= (require(join(nsfwjsRoot(), 'package.json')) as { version: string }).version;
  return version;
}

/**
 * Loads the model once per thread; every embedder in the thread shares the promise.
 * The first caller's backend request initialises the runtime (see {@link loadTfjsRuntime}).
 */
export function loadMobileNetV2(backend: BackendRequest = 'auto'): Promise<FeatureModel> {
  if (featureModel === undefined) {
    featureModel = build(backend);
    featureModel.catch(() => {
      featureModel = undefined;
    });
    return featureModel;
  }
  // Still validates that the caller's backend request agrees with the running one.
  return loadTfjsRuntime(backend).then(() => featureModel!);
}

async function build(backend: BackendRequest): Promise<FeatureModel> {
  const runtime = await loadTfjsRuntime(backend);
  const { tf } = runtime;
  const started = performance.now();
  const root = nsfwjsRoot();
  let full: Tf.LayersModel;
  try {
    const dir = join(root, 'dist', 'models', 'mobilenet_v2');
    const json = require(join(dir, 'model.min.js')) as ModelJson;
    const weightSpecs: Tf.io.WeightsManifestEntry[] = [];
    const shards: Buffer[] = [];
    for (const group of json.weightsManifest) {
      for (const path of group.paths) shards.push(Buffer.from(require(join(dir, `${path}.min.js`)) as string, 'base64'));
      weightSpecs.push(...group.weights);
    }
    const bytes = Buffer.concat(shards);
    const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    // modelTopology is a Keras config (class_name "Model"): a layers model, not a graph model.
    full = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
  } catch (cause) {
    throw new SagasuError('EMBED_FAILED', `cannot load the MobileNetV2 weights from ${root}`, { cause });
  }
  const layer = full.getLayer(MOBILENET_V2_FEATURE_LAYER);
  const model = tf.model({ inputs: full.inputs, outputs: layer.output as Tf.SymbolicTensor });
  // Weights are shared with `full`; disposing `full` would free them. Keep both alive for the
  // life of the thread. The first prediction compiles kernels (~2x slower): do it here.
  tf.tidy(() => {
    model.predict(tf.zeros([1, MOBILENET_V2_INPUT_SIZE, MOBILENET_V2_INPUT_SIZE, 3]));
  });
  loads += 1;
  return { runtime, model, weightsVersion: nsfwjsVersion(), loadMs: performance.now() - started };
}
