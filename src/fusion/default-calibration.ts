import type { CalibrationModel } from './calibration.js';

/**
 * The engine's default calibration: fitted by `sagasu eval ../shared/eval --calibration-out` on
 * 2026-12-02 (seed 1, fusion k 5 with weights
 * {"visual": 1, "text": 4, "hash": 4}) on a seeded half of the development split's
 * queries (481 queries) and judged on the other half, with region vectors, the dominant-text rule and
 * verification down to the 36th candidate (refitted when they changed what the features see). Its
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
    0.8232461538461541,
    -0.0469404019404019,
    0.4483879362503367,
    0.313330363330364,
    0.845537474240512,
    0.17727716620028508,
    0.27536325420940855,
    0.04132016632016634,
    0.6111111111111157,
    0.45524618520993526,
    1.347760493817771,
    0.07068607068607066,
    1.2911842206759303,
    0.24116424116423996,
    -1.4090022947918128
  ],
  "scale": [
    0.11116526759488023,
    0.09717053136279039,
    0.3754543967120761,
    0.4074270029913548,
    1.1357780933360981,
    0.3103218353096838,
    0.3660253980503665,
    0.1933448064853127,
    0.2832788618662661,
    0.13251602741888294,
    1.5411155675645118,
    0.25629972707170895,
    2.3064930490958244,
    0.42778972632347545,
    4.277074973268227
  ],
  "weights": [
    0.20268425181292085,
    -0.12929639789119632,
    0.5720278232096512,
    0.13695327189662393,
    1.6009445048359827,
    1.4220551970094608,
    0.043022640992469045,
    1.1968225726930406,
    0.4999955195134803,
    -0.33965916909431265,
    -1.7696819369385297,
    -0.14311788543858603,
    0.835819783517782,
    0.49805919444337854,
    2.109902172987998
  ],
  "bias": -2.964706332406408,
  "threshold": 0.8529878688935763,
  "fittedOn": {
    "queries": 481,
    "hits": 1443,
    "seed": 1,
    "maxFalsePositiveRate": 0.05,
    "fusion": {
      "k": 5,
      "weights": {
        "visual": 1,
        "text": 4,
        "hash": 4
      }
    }
  }
};
