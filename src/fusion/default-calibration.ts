import type { CalibrationModel } from './calibration.js';

/**
 * The engine's default calibration: fitted by `sagasu eval ../shared/eval --calibration-out` on
 * 2026-12-02 (seed 1, fusion k 5 with weights
 * {"visual": 1, "text": 4, "hash": 4}) on a seeded half of the development split's
 * queries (481 queries, 1443 hits) and judged on the other half. Its
 * threshold is the lowest confidence at which at most 0.05 of the queries
 * made from images that are not indexed got a confident answer on the fit half. Only these numbers
 * come from the evaluation set; none of its images ship with the project. Refit with `sagasu eval
 * <your gallery> --calibration-out model.json` and pass it as `Sagasu.open({ calibration })`.
 */
export const defaultCalibrationModel: CalibrationModel = {
  "version": 2,
  "features": [
    "visualSimilarity",
    "visualMargin",
    "visualRankInverse",
    "textMatchedShare",
    "textMatchedLog",
    "textScoreShare",
    "textRankInverse",
    "hashCloseness",
    "fusedRankInverse",
    "fusedScoreShare",
    "queryTermsLog",
    "visualTextAgree",
    "spatialInliersLog",
    "spatialVerified",
    "spatialLeadLog"
  ],
  "mean": [
    0.7465764379764381,
    -0.08748080388080387,
    0.42385527903673886,
    0.31379813879813945,
    0.8459046002452144,
    0.17711534489210282,
    0.2750198000198005,
    0.04132016632016634,
    0.6111111111111157,
    0.4565540797223817,
    1.347760493817771,
    0.05128205128205124,
    1.2784002021124674,
    0.23839223839223722,
    -1.450891104561553
  ],
  "scale": [
    0.1814366797883503,
    0.1530337331364001,
    0.3752032208759639,
    0.40781680620618893,
    1.1354016957692985,
    0.31039564516998364,
    0.36538535197219646,
    0.1933448064853127,
    0.2832788618662661,
    0.13058868152840006,
    1.5411155675645118,
    0.2205724427446847,
    2.249921029094371,
    0.42610019838833607,
    4.10022149379131
  ],
  "weights": [
    0.03177070635025911,
    -0.24793323471948575,
    0.8135620309074132,
    -0.15310954579388075,
    1.652907594574523,
    1.5170317226422294,
    -0.15750513699155674,
    1.2793597628806028,
    0.4414621041733045,
    -0.36158795515110653,
    -1.2843155070250583,
    -0.0922224534779361,
    0.4052655450419471,
    0.9019585770521421,
    1.4431012177695544
  ],
  "bias": -2.707349779685069,
  "threshold": 0.7988171610194841
};

